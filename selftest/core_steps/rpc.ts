/**
 * RPC0 (CORE-GOALS 1.5): `rpc serve` in the background, `rpc call` gets the result, the reply has schema
 * H("rpc.res.v1") and parent_id = request msg_id, a repeated idem is answered from the idempotency table.
 */
import { schemaIdFor, toHex } from "../../core/mod.ts";
import { check, type Harness, short } from "../harness.ts";
import { arr, type CoreStep, requireCommand, streamArgs } from "./context.ts";

export const rpc: CoreStep = {
  name: "rpc",
  goal: "rpc serve + rpc call: result, parent_id = request msg_id, rpc.res.v1, idempotent by idem (1.5)",
  async run(ctx, ev) {
    const { h } = ctx;
    await requireCommand(h, "rpc", "call");
    await requireCommand(h, "rpc", "serve");
    ctx.needOpen();
    const url = ctx.url;
    const stream = h.stream("rpc/main");
    const serveArgs = ["rpc", "serve", "--hub", url, "--client", ctx.bob.dir, "--stream", stream];
    const server = h.spawnBackground([
      ...serveArgs,
      "--max-requests",
      "3",
      "--poll-ms",
      "50",
      "--for-ms",
      "60000",
      "--json",
    ]);
    let served: { stdout: string; stderr: string } | undefined;
    try {
      const call = (method: string, args: string, idem?: number) => [
        "rpc",
        "call",
        "--hub",
        url,
        "--client",
        ctx.alice.dir,
        "--stream",
        stream,
        "--to",
        ctx.bob.dir,
        "--method",
        method,
        "--args",
        args,
        "--timeout-ms",
        "30000",
        ...(idem === undefined ? [] : ["--idem", String(idem)]),
      ];
      const a = await h.ok(call("add", '{"a":1,"b":2}', 7));
      check(JSON.stringify(a.result) === "3", `add(1, 2) returned ${JSON.stringify(a.result)}`);
      ev.push(
        `rpc call add {a:1,b:2} idem 7: result 3, request msg_id ${
          short(a.msg_id)
        } (stream_seq ${a.request_seq}), reply stream_seq ${a.reply_seq}`,
      );
      const b = await h.ok(call("add", '{"a":1,"b":2}', 7));
      check(JSON.stringify(b.result) === "3", `the repeated call returned ${JSON.stringify(b.result)}`);
      ev.push(`same call again (idem 7): result 3, reply stream_seq ${b.reply_seq}`);
      const c = await h.refused(call("no_such_method", "null"), "E.RPC");
      const err = c.error as Record<string, unknown> | undefined;
      ev.push(`unknown method: exit 4 E.RPC, error.code ${err?.code}`);
      // The reply as the caller sees it on the stream: schema rpc.res.v1 and parent_id = the request's msg_id.
      const st = await h.ok([...streamArgs(url, ctx.alice.dir, stream)]);
      const reply = arr(st.items, "items").find((i) => i.msg_id === a.reply_msg_id);
      const hdr = reply?.payload_hdr as Record<string, unknown> | undefined;
      check(hdr !== undefined, "the reply is not on the stream or not decryptable by the caller");
      check(
        hdr.schema === toHex(schemaIdFor("rpc.res.v1")),
        `reply schema ${hdr.schema} is not H("rpc.res.v1")`,
      );
      check(
        hdr.parent_id === a.msg_id,
        `reply parent_id ${hdr.parent_id} is not the request msg_id ${a.msg_id}`,
      );
      ev.push(`reply ${short(a.reply_msg_id)}: schema = H("rpc.res.v1"), parent_id = request msg_id`);
    } finally {
      served = await waitBackground(h, server, 20_000);
    }
    const lines = served.stdout.trim().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
    const handled = lines.filter((l) => typeof l.stream_seq === "number");
    check(
      handled.length === 3,
      `rpc serve reported ${handled.length} requests, expected 3: ${tail3(served.stderr)}`,
    );
    check(
      handled[0].executed === true && handled[1].executed === false,
      "the repeated idem was executed twice",
    );
    check(handled[2].reply_ok === false, "the unknown method did not get an error reply");
    ev.push(
      `rpc serve: ${
        handled.map((x) => `${x.method} ${x.executed ? "executed" : "from idempotency table"}`).join("; ")
      }`,
    );
  },
};

/** Lets a background command finish on its own for up to `ms` (then SIGTERM, SIGKILL 5 s later). */
async function waitBackground(
  h: Harness,
  child: Deno.ChildProcess,
  ms: number,
): Promise<{ stdout: string; stderr: string }> {
  const timer = setTimeout(() => {
    try {
      child.kill("SIGTERM");
    } catch {
      // exited
    }
  }, ms);
  try {
    return await h.endBackground(child, false, ms + 5_000);
  } finally {
    clearTimeout(timer);
  }
}

const tail3 = (s: string) => s.trim().split("\n").slice(-3).join(" | ");
