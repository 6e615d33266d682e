/**
 * CRDT0 (CORE-GOALS 1.6): lww (ts, stream_seq) wins, add-wins orset, counter summed over shards; `--refold` equals
 * the resumed fold.
 */
import { check } from "../harness.ts";
import { type CoreStep, requireCommand } from "./context.ts";

export const crdt: CoreStep = {
  name: "crdt",
  goal: "crdt lww/orset/counter: (ts, stream_seq) wins, add-wins sets, summed shards; refold = resumed (1.6)",
  async run(ctx, ev) {
    const { h } = ctx;
    await requireCommand(h, "crdt", "lww", "set");
    await requireCommand(h, "crdt", "orset", "add");
    await requireCommand(h, "crdt", "counter", "add");
    ctx.needOpen();
    const base = ["--hub", ctx.url, "--client", ctx.alice.dir, "--stream", h.stream("crdt/main")];
    const set = (v: string, ts: number) =>
      h.ok(["crdt", "lww", "set", ...base, "--key", "foo", "--value", v, "--ts", String(ts)]);
    const a = await set("A", 1);
    const b = await set("B", 2);
    await set("C", 1);
    const get = await h.ok(["crdt", "lww", "get", ...base, "--key", "foo"]);
    check(
      get.value === "B",
      `lww get foo = ${JSON.stringify(get.value)}, expected "B" (ts 2 beats a later ts 1)`,
    );
    const reget = await h.ok(["crdt", "lww", "get", ...base, "--key", "foo", "--refold"]);
    check(
      reget.value === get.value && reget.stream_seq === get.stream_seq,
      "lww get --refold differs from the resumed fold",
    );
    ev.push(
      `lww set foo A@1 (seq ${a.stream_seq}), B@2 (seq ${b.stream_seq}), C@1; get foo = "B" (stream_seq ${get.stream_seq}); --refold identical`,
    );
    for (const e of ["x", "y", "x"]) await h.ok(["crdt", "orset", "add", ...base, "--elem", e]);
    const rm = await h.ok(["crdt", "orset", "remove", ...base, "--elem", "x"]);
    check(rm.removed === 2, `orset remove x tombstoned ${rm.removed} adds, expected 2`);
    const l1 = await h.ok(["crdt", "orset", "list", ...base]);
    check(JSON.stringify(l1.elements) === '["y"]', `orset after remove x: ${JSON.stringify(l1.elements)}`);
    await h.ok(["crdt", "orset", "add", ...base, "--elem", "x"]);
    const l2 = await h.ok(["crdt", "orset", "list", ...base, "--refold"]);
    check(
      JSON.stringify(l2.elements) === '["x","y"]',
      `orset after re-adding x: ${JSON.stringify(l2.elements)}`,
    );
    ev.push(`orset add x, y, x; remove x (2 ids) → ["y"]; add x → ["x","y"] (--refold)`);
    await h.ok(["crdt", "counter", "add", ...base, "--delta", "5"]);
    await h.ok(["crdt", "counter", "add", ...base, "--delta", "7"]);
    await h.ok([
      "crdt",
      "counter",
      "add",
      "--hub",
      ctx.url,
      "--client",
      ctx.bob.dir,
      "--stream",
      h.stream("crdt/main"),
      "--to",
      ctx.alice.dir,
      "--delta",
      "3",
    ]);
    const c1 = await h.ok(["crdt", "counter", "get", ...base]);
    const c2 = await h.ok(["crdt", "counter", "get", ...base, "--refold"]);
    check(c1.value === "15", `counter = ${c1.value}, expected 15`);
    check(c2.value === c1.value, `counter --refold = ${c2.value}, resumed = ${c1.value}`);
    const shards = Array.isArray(c1.shards)
      ? c1.shards.length
      : Object.keys((c1.shards ?? {}) as object).length;
    ev.push(
      `counter: alice +5 +7, bob +3 (sealed to alice) → 15 over ${shards} shards; --refold identical`,
    );
  },
};
