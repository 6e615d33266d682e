/**
 * `veen selftest core` (CORE-GOALS 1.1-1.8, CLI-GOALS-1 §15.1): the client commands against real hubs, end to end.
 *
 * Own hubs (default): "main" (admission off, small checkpoint cadence), "bounds" (max_msg_bytes 4096), "admission"
 * (`--admission on`, trusting the selftest's admin key) and "epochs" (label_epochs on, admission on). With
 * `--hub URL` only the steps that work against a deployed hub run (no restarts, no admission-on hub, no config
 * changes); the others are reported as skipped, and every stream name carries a per-run prefix.
 */
import {
  bytesEqual,
  decodeMsg,
  decodeReceipt,
  DEFAULT_PROFILE,
  encodeMsg,
  encodeReceipt,
  epochOf,
  fromHex,
  labelFor,
  mmrRoot,
  overlaySchemaId,
  popcount,
  profileId,
  streamIdFor,
  toHex,
} from "../core/mod.ts";
import { Crafter } from "./craft.ts";
import {
  check,
  describeAnswer,
  expectError,
  fail,
  type Harness,
  type HubHandle,
  short,
  StepSkipped,
} from "./harness.ts";

const SUITE = "core";

export const CORE_GOAL =
  "send/stream with decryption, attachments, capabilities, E.SEQ/E.PROFILE/E.TIME/E.DUP/E.SIZE, RESYNC0, " +
  "RPC0, CRDT0, ANCHOR0, health/metrics/logs, retention (CORE-GOALS 1.1-1.8, CLI-GOALS-1 §15.1)";

/** max_msg_bytes of the "bounds" hub: the `bounds` step submits a MSG of exactly this size and one byte more. */
const BOUNDS_MAX_MSG_BYTES = 4096;
/** checkpoint_every of the "main" hub, so `resync` meets CHECKPOINTs. */
const MAIN_CHECKPOINT_EVERY = 8;
const RESYNC_COUNT = 20;

interface Client {
  name: string;
  dir: string;
  clientId: string;
  idSignPublic: string;
}

interface CoreCtx {
  h: Harness;
  url: string;
  main: HubHandle | undefined;
  info: Record<string, unknown>;
  alice: Client;
  bob: Client;
  admin: Client;
  marker: string;
}

/** Skips the step unless this program has `veen WORDS` (rpc, crdt, anchor, retention arrived late). */
async function requireCommand(h: Harness, ...words: string[]): Promise<void> {
  if (!(await h.hasCommand(words))) {
    throw new StepSkipped(`command not available: veen ${words.join(" ")} (--help did not exit 0)`);
  }
}

/** Stops a hub a step started for itself, also when the step failed; never masks the step's own error. */
async function stopAfterStep(h: Harness, hub: HubHandle, ev: string[]): Promise<void> {
  try {
    ev.push(await h.stopHub(hub));
  } catch (e) {
    ev.push(`stopping hub ${hub.name}: ${e instanceof Error ? e.message : e}`);
  }
}

function needOwnHub(h: Harness, why: string): void {
  if (h.deployed) throw new StepSkipped(`needs a hub started by the selftest (${why}); not run with --hub`);
}

const num = (v: unknown, what: string): number => {
  if (typeof v !== "number") fail(`${what} is not a number: ${JSON.stringify(v)}`);
  return v;
};
const str = (v: unknown, what: string): string => {
  if (typeof v !== "string") fail(`${what} is not a string: ${JSON.stringify(v)}`);
  return v;
};
const arr = (v: unknown, what: string): Record<string, unknown>[] => {
  if (!Array.isArray(v)) fail(`${what} is not a list: ${JSON.stringify(v)}`);
  return v as Record<string, unknown>[];
};

async function keygen(h: Harness, name: string): Promise<Client> {
  const dir = `${h.root}/clients/${name}`;
  const j = await h.ok(["keygen", "--out", dir]);
  return {
    name,
    dir,
    clientId: str(j.client_id, "keygen client_id"),
    idSignPublic: str(j.id_sign_public, "keygen id_sign_public"),
  };
}

/** Every byte of every file under `dir` (small data directories only). */
async function dirContains(dir: string, needle: Uint8Array): Promise<string | undefined> {
  for await (const e of Deno.readDir(dir)) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory) {
      const hit = await dirContains(p, needle);
      if (hit !== undefined) return hit;
    } else if (e.isFile) {
      const b = await Deno.readFile(p).catch(() => new Uint8Array(0));
      outer: for (let i = 0; i + needle.length <= b.length; i++) {
        for (let j = 0; j < needle.length; j++) if (b[i + j] !== needle[j]) continue outer;
        return p;
      }
    }
  }
  return undefined;
}

export async function coreSuite(h: Harness): Promise<void> {
  h.report.beginSuite(SUITE, CORE_GOAL);
  const rng = h.rng.fork("core");
  const ctx = {} as CoreCtx;
  ctx.h = h;
  ctx.marker = `selftest-plaintext-${h.opts.seed}-${h.runId}`;
  const step = (name: string, goal: string, fn: (ev: string[]) => Promise<void>, critical = false) =>
    h.step(SUITE, name, goal, fn, { critical });

  await step("setup", "start the hub, create clients (keygen)", async (ev) => {
    ({ url: ctx.url, hub: ctx.main, info: ctx.info } = await h.suiteHub(
      ev,
      "main",
      { admission: "off", env: { VEEN_CHECKPOINT_EVERY: String(MAIN_CHECKPOINT_EVERY) } },
      `admission off, checkpoint_every ${MAIN_CHECKPOINT_EVERY}`,
      " (no hub is started or stopped by this run)",
    ));
    ev.push(
      `GET /info: hub_id ${
        short(ctx.info.hub_id)
      } version ${ctx.info.version} admission ${ctx.info.admission}`,
    );
    h.report.setEnv("hub version", String(ctx.info.version));
    ctx.alice = await keygen(h, "alice");
    ctx.bob = await keygen(h, "bob");
    ctx.admin = await keygen(h, "admin");
    ev.push(
      `veen keygen: alice ${short(ctx.alice.clientId)}, bob ${short(ctx.bob.clientId)}, admin ${
        short(ctx.admin.clientId)
      }`,
    );
  }, true);

  const open = ctx.info.admission !== true;
  const needOpen = () => {
    if (!open) throw new StepSkipped("the hub requires admission and trusts no key this run holds");
  };
  const url = ctx.url;
  const S = (n: string) => h.stream(n);

  await step(
    "bounds",
    `a MSG of exactly max_msg_bytes is accepted, one byte more is 413 E.SIZE (SH0 bounds first)`,
    async (ev) => {
      needOwnHub(h, "it sets max_msg_bytes");
      const hub = await h.startHub("bounds", {
        admission: "off",
        env: { VEEN_MAX_MSG_BYTES: String(BOUNDS_MAX_MSG_BYTES) },
      }, `max_msg_bytes ${BOUNDS_MAX_MSG_BYTES}`);
      try {
        const w = new Crafter(`${h.opts.seed}/bounds`, "selftest/size");
        const atLimit = w.bytesOfSize(BOUNDS_MAX_MSG_BYTES);
        const r1 = await h.post(hub.url, "/submit", atLimit);
        if (r1.status !== 200) {
          fail(`a MSG of exactly ${atLimit.length} bytes was refused: ${describeAnswer(r1)}`);
        }
        ev.push(`MSG of ${atLimit.length} bytes: 200 RECEIPT stream_seq ${decodeReceipt(r1.body).streamSeq}`);
        const over = w.bytesOfSize(BOUNDS_MAX_MSG_BYTES + 1);
        const r2 = await h.post(hub.url, "/submit", over);
        if (r2.status === 200) {
          fail(
            `a MSG of ${over.length} bytes (max_msg_bytes ${BOUNDS_MAX_MSG_BYTES}) was ACCEPTED as stream_seq ${
              decodeReceipt(r2.body).streamSeq
            }; expected 413 E.SIZE`,
          );
        }
        ev.push(`MSG of ${over.length} bytes: ${expectError(r2, "E.SIZE", `MSG of ${over.length} bytes`)}`);
        const garbage = rng.bytes(BOUNDS_MAX_MSG_BYTES * 4);
        ev.push(
          `${garbage.length} random bytes: ${
            expectError(await h.post(hub.url, "/submit", garbage), "E.SIZE", "oversized garbage")
          }`,
        );
        const health = await h.json(`${hub.url}/healthz`);
        check(health.ok === true, "the bounds hub is not healthy after oversized input");
      } finally {
        await stopAfterStep(h, hub, ev);
      }
    },
  );

  await step(
    "send-stream",
    "send → stream --with-proof → decrypt → verify-receipt (CORE-GOALS 1.1)",
    async (ev) => {
      needOpen();
      const stream = S("core/main");
      const files = `${h.root}/files`;
      const sent: Record<string, unknown>[] = [];
      for (let i = 1; i <= 3; i++) {
        const args = [
          "send",
          "--hub",
          url,
          "--client",
          ctx.alice.dir,
          "--stream",
          stream,
          "--body",
          JSON.stringify({ text: `hello-veens ${ctx.marker} #${i}` }),
        ];
        if (i === 1) args.push("--dump-raw", `${files}/msg1.cbor`, `${files}/receipt1.cbor`);
        sent.push(await h.ok(args));
      }
      const seqs = sent.map((s) => num(s.stream_seq, "send stream_seq"));
      check(seqs[1] === seqs[0]! + 1 && seqs[2] === seqs[0]! + 2, `stream_seq not consecutive: ${seqs}`);
      ev.push(`veen send ×3: stream_seq ${seqs.join(",")}, msg_id ${short(sent[0]!.msg_id)} …`);
      const st = await h.ok([
        "stream",
        "--hub",
        url,
        "--client",
        ctx.alice.dir,
        "--stream",
        stream,
        "--with-proof",
      ]);
      const items = arr(st.items, "stream items");
      check(items.length === 3, `stream returned ${items.length} items, expected 3`);
      items.forEach((it, i) => {
        check(it.msg_id === sent[i]!.msg_id, `item ${i + 1} msg_id differs from what send reported`);
        check(it.proof === "verified", `item ${i + 1} proof: ${it.proof}`);
        check(it.decrypted === true, `item ${i + 1} was not decrypted: ${it.payload}`);
        const body = it.body as Record<string, unknown> | undefined;
        check(
          body?.text === `hello-veens ${ctx.marker} #${i + 1}`,
          `item ${i + 1} body differs: ${JSON.stringify(body)}`,
        );
      });
      ev.push(`veen stream --with-proof: 3 items, proofs verified, decrypted bodies equal what was sent`);
      const vr = await h.ok([
        "verify-receipt",
        "--receipt",
        `${files}/receipt1.cbor`,
        "--msg",
        `${files}/msg1.cbor`,
        "--stream",
        stream,
        "--client",
        ctx.alice.dir,
        "--hub",
        url,
      ]);
      ev.push(
        `veen verify-receipt: ${
          Object.keys(vr.checks as object).join(", ")
        } ok (stream_seq ${vr.stream_seq})`,
      );
      const mb = await Deno.readFile(`${files}/msg1.cbor`);
      const rb = await Deno.readFile(`${files}/receipt1.cbor`);
      check(bytesEqual(encodeMsg(decodeMsg(mb)), mb), "MSG does not re-encode to the same bytes");
      check(bytesEqual(encodeReceipt(decodeReceipt(rb)), rb), "RECEIPT does not re-encode to the same bytes");
      ev.push(`deterministic CBOR: MSG (${mb.length} B) and RECEIPT (${rb.length} B) re-encode identically`);
    },
  );

  await step("sealed-to-recipient", "send --to CARD: only the recipient can decrypt", async (ev) => {
    needOpen();
    const stream = S("core/sealed");
    const s = await h.ok([
      "send",
      "--hub",
      url,
      "--client",
      ctx.alice.dir,
      "--stream",
      stream,
      "--to",
      ctx.bob.dir,
      "--body",
      JSON.stringify({ secret: ctx.marker }),
    ]);
    ev.push(`alice → bob: stream_seq ${s.stream_seq} msg_id ${short(s.msg_id)}`);
    const b = await h.ok(["stream", "--hub", url, "--client", ctx.bob.dir, "--stream", stream]);
    const bi = arr(b.items, "stream items")[0];
    check(bi?.decrypted === true, `bob could not decrypt: ${bi?.payload}`);
    check((bi.body as Record<string, unknown>).secret === ctx.marker, "bob decrypted another body");
    const a = await h.ok(["stream", "--hub", url, "--client", ctx.alice.dir, "--stream", stream]);
    const ai = arr(a.items, "stream items")[0];
    check(ai?.decrypted === false, "alice (not the recipient) could decrypt a MSG sealed to bob");
    ev.push(`bob: decrypted; alice: verified but not decryptable (${ai.payload})`);
  });

  await step(
    "attachments",
    "send --attach, attachment verify, mutation rejected, stream --save-attachments (1.2)",
    async (ev) => {
      needOpen();
      const stream = S("core/att");
      const files = `${h.root}/files`;
      const data = rng.bytes(rng.range(20_000, 60_000));
      await Deno.writeFile(`${files}/big.bin`, data);
      const s = await h.ok([
        "send",
        "--hub",
        url,
        "--client",
        ctx.alice.dir,
        "--stream",
        stream,
        "--attach",
        `${files}/big.bin`,
        "--dump-raw",
        `${files}/msg_att.cbor`,
        `${files}/receipt_att.cbor`,
      ]);
      const att = arr(s.attachments, "send attachments")[0];
      check(att !== undefined, "send reported no attachment");
      ev.push(`send --attach (${data.length} B): stream_seq ${s.stream_seq}, coid ${short(att.coid)}`);
      const v = await h.ok([
        "attachment",
        "verify",
        "--msg",
        `${files}/msg_att.cbor`,
        "--file",
        `${files}/big.bin`,
        "--client",
        ctx.alice.dir,
      ]);
      check(v.coid === att.coid, "attachment verify computed another coid");
      ev.push(`attachment verify: coid and att_root ${short(v.att_root)} match`);
      const bad = new Uint8Array(data);
      const pos = rng.int(bad.length);
      bad[pos] = bad[pos]! ^ 0x01;
      await Deno.writeFile(`${files}/big.bad`, bad);
      const r = await h.cli([
        "attachment",
        "verify",
        "--msg",
        `${files}/msg_att.cbor`,
        "--file",
        `${files}/big.bad`,
        "--client",
        ctx.alice.dir,
      ]);
      check(r.code === 4, `attachment verify of a mutated file exited ${r.code}, expected 4`);
      ev.push(`one flipped bit at byte ${pos}: attachment verify exit 4 (${r.json?.code})`);
      const out = `${files}/saved`;
      const st = await h.ok([
        "stream",
        "--hub",
        url,
        "--client",
        ctx.alice.dir,
        "--stream",
        stream,
        "--save-attachments",
        out,
      ]);
      const saved = arr(st.items, "items")[0]?.saved as string[] | undefined;
      check(saved !== undefined && saved.length === 1, "stream --save-attachments saved nothing");
      check(
        bytesEqual(await Deno.readFile(saved[0]!), data),
        "the saved attachment differs from the original",
      );
      ev.push(`stream --save-attachments: decrypted file equals the original`);
    },
  );

  // ---- admission: an own hub with --admission on that trusts the admin's key ----
  let admission: HubHandle | undefined;
  await step("admission", "write without cap → 403 E.AUTH (1.3 test 1)", async (ev) => {
    if (h.deployed) {
      if (open) throw new StepSkipped("the deployed hub does not require admission");
      const r = await h.refused(
        ["send", "--hub", url, "--client", ctx.alice.dir, "--stream", S("core/capped"), "--body", "{}"],
        "E.AUTH",
      );
      ev.push(`send without --cap: ${r.code}`);
      return;
    }
    admission = await h.startHub("admission", {
      admission: "on",
      trustedIssuers: [ctx.admin.idSignPublic],
    }, `admission on, trusted issuer admin ${short(ctx.admin.idSignPublic)}`);
    const r = await h.refused(
      ["send", "--hub", admission.url, "--client", ctx.alice.dir, "--stream", "core/capped", "--body", "{}"],
      "E.AUTH",
    );
    ev.push(`send without --cap: exit 4 ${r.code} (${r.detail})`);
  });

  await step(
    "capabilities",
    "cap issue → cap authorize → send --cap; wrong stream/subject/issuer → E.CAP (1.3)",
    async (ev) => {
      needOwnHub(h, "needs an admission-on hub that trusts the selftest's issuer");
      if (admission === undefined) fail("the admission hub did not start");
      const hub = admission.url;
      const files = `${h.root}/files`;
      const issued = await h.ok([
        "cap",
        "issue",
        "--issuer",
        ctx.admin.dir,
        "--subject",
        ctx.alice.dir,
        "--stream",
        "core/capped",
        "--ttl",
        "600",
        "--rate",
        "5/s,10",
        "--out",
        `${files}/cap_alice.cbor`,
      ]);
      const ref = str(issued.auth_ref, "cap issue auth_ref");
      ev.push(`cap issue: auth_ref ${short(ref)} (admin → alice, core/capped, ttl 600, rate 5/s,10)`);
      const auth = await h.ok([
        "cap",
        "authorize",
        "--hub",
        hub,
        "--cap",
        `${files}/cap_alice.cbor`,
        "--client",
        ctx.alice.dir,
      ]);
      check(auth.auth_ref === ref, `hub answered auth_ref ${auth.auth_ref}, token has ${ref}`);
      ev.push(`cap authorize: auth_ref ${short(auth.auth_ref)} expires_at ${auth.expires_at}`);
      const s = await h.ok([
        "send",
        "--hub",
        hub,
        "--client",
        ctx.alice.dir,
        "--stream",
        "core/capped",
        "--cap",
        `${files}/cap_alice.cbor`,
        "--body",
        '{"capped":true}',
      ]);
      const st = await h.ok(["stream", "--hub", hub, "--client", ctx.alice.dir, "--stream", "core/capped"]);
      const item = arr(st.items, "items").find((i) => i.msg_id === s.msg_id);
      check(item?.auth_ref === ref, `the stored MSG carries auth_ref ${item?.auth_ref}, expected ${ref}`);
      ev.push(
        `send --cap: stream_seq ${s.stream_seq} msg_id ${short(s.msg_id)}; stream shows auth_ref ${
          short(ref)
        }`,
      );
      const other = await h.refused([
        "send",
        "--hub",
        hub,
        "--client",
        ctx.alice.dir,
        "--stream",
        "core/other",
        "--cap",
        `${files}/cap_alice.cbor`,
        "--body",
        "{}",
      ], "E.CAP");
      ev.push(`send --cap on a stream the cap does not allow: ${other.code}`);
      const notSubject = await h.refused([
        "send",
        "--hub",
        hub,
        "--client",
        ctx.bob.dir,
        "--stream",
        "core/capped",
        "--cap",
        `${files}/cap_alice.cbor`,
        "--body",
        "{}",
      ], "E.CAP");
      ev.push(`bob using alice's cap: ${notSubject.code}`);
      await h.ok([
        "cap",
        "issue",
        "--issuer",
        ctx.bob.dir,
        "--subject",
        ctx.bob.dir,
        "--stream",
        "core/capped",
        "--ttl",
        "600",
        "--out",
        `${files}/cap_bob_self.cbor`,
      ]);
      const untrusted = await h.refused(
        ["cap", "authorize", "--hub", hub, "--cap", `${files}/cap_bob_self.cbor`],
        "E.CAP",
      );
      ev.push(`cap authorize of a token from an untrusted issuer: ${untrusted.code}`);
    },
  );

  await step(
    "rate-limit",
    "a cap with rate 0/s burst 2: two sends pass, the third is E.RATE (1.3 test 3)",
    async (ev) => {
      needOwnHub(h, "needs an admission-on hub");
      if (admission === undefined) fail("the admission hub did not start");
      const hub = admission.url;
      const cap = `${h.root}/files/cap_rate.cbor`;
      const issued = await h.ok([
        "cap",
        "issue",
        "--issuer",
        ctx.admin.dir,
        "--subject",
        ctx.alice.dir,
        "--stream",
        "core/rate",
        "--ttl",
        "600",
        "--rate",
        "0,2",
        "--out",
        cap,
      ]);
      await h.ok(["cap", "authorize", "--hub", hub, "--cap", cap]);
      const send = [
        "send",
        "--hub",
        hub,
        "--client",
        ctx.alice.dir,
        "--stream",
        "core/rate",
        "--cap",
        cap,
        "--body",
        "{}",
      ];
      const a = await h.ok(send);
      const b = await h.ok(send);
      const c = await h.refused(send, "E.RATE");
      ev.push(
        `auth_ref ${
          short(issued.auth_ref)
        }: stream_seq ${a.stream_seq}, ${b.stream_seq}, then ${c.code} (${c.detail})`,
      );
    },
  );

  await step("cap-expiry", "a cap past its ttl is E.CAP (1.3 test 4)", async (ev) => {
    needOwnHub(h, "needs an admission-on hub");
    if (admission === undefined) fail("the admission hub did not start");
    const hub = admission.url;
    const cap = `${h.root}/files/cap_expiry.cbor`;
    await h.ok([
      "cap",
      "issue",
      "--issuer",
      ctx.admin.dir,
      "--subject",
      ctx.alice.dir,
      "--stream",
      "core/expiry",
      "--ttl",
      "0",
      "--out",
      cap,
    ]);
    const auth = await h.ok(["cap", "authorize", "--hub", hub, "--cap", cap]);
    const exp = num(auth.expires_at, "expires_at");
    const wait = (exp + 1) * 1000 - Date.now() + 100;
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const r = await h.refused(
      [
        "send",
        "--hub",
        hub,
        "--client",
        ctx.alice.dir,
        "--stream",
        "core/expiry",
        "--cap",
        cap,
        "--body",
        "{}",
      ],
      "E.CAP",
    );
    ev.push(`ttl 0, expires_at ${exp}; send at ${Math.floor(Date.now() / 1000)}: ${r.code} (${r.detail})`);
  });

  await step(
    "seq-errors",
    "client_seq reuse after lost state, skipped client_seq, prev_ack ahead → E.SEQ",
    async (ev) => {
      needOpen();
      const stream = S("core/seq");
      const state = `${ctx.alice.dir}/state.json`;
      const send = ["send", "--hub", url, "--client", ctx.alice.dir, "--stream", stream, "--body"];
      const first = await h.ok([...send, '{"n":1}']);
      const backup = await Deno.readFile(state);
      const second = await h.ok([...send, '{"n":2}']);
      await Deno.writeFile(state, backup);
      const r = await h.refused([...send, '{"n":"2 again"}'], "E.SEQ");
      ev.push(
        `send stream_seq ${first.stream_seq}, ${second.stream_seq}; state.json rolled back; send reusing client_seq ${second.client_seq}: ${r.code}`,
      );
      const rs = await h.ok(["resync", "--hub", url, "--client", ctx.alice.dir, "--stream", stream]);
      check(
        rs.client_seq === second.client_seq,
        `resync recovered client_seq ${rs.client_seq}, expected ${second.client_seq}`,
      );
      const third = await h.ok([...send, '{"n":3}']);
      ev.push(`veen resync: client_seq ${rs.client_seq} recovered; next send stream_seq ${third.stream_seq}`);
      const w = new Crafter(`${h.opts.seed}/${h.runId}/seq`, stream);
      const ok = await h.post(url, "/submit", w.bytes());
      check(ok.status === 200, `a well-formed crafted MSG was refused with HTTP ${ok.status}`);
      const skip = await h.post(url, "/submit", w.bytes({ clientSeq: w.seq + 2 }));
      ev.push(
        `crafted client_seq ${w.seq + 2} after ${w.seq}: ${expectError(skip, "E.SEQ", "skipped client_seq")}`,
      );
      w.seq = 1;
      const ahead = await h.post(url, "/submit", w.bytes({ clientSeq: 2, prevAck: 1_000_000 }));
      ev.push(`crafted prev_ack 1000000: ${expectError(ahead, "E.SEQ", "prev_ack ahead of the label")}`);
    },
  );

  await step("duplicates", "send --dump-raw, then re-POST the same MSG bytes → 409 E.DUP", async (ev) => {
    needOpen();
    const stream = S("core/dup");
    const files = `${h.root}/files`;
    const s = await h.ok([
      "send",
      "--hub",
      url,
      "--client",
      ctx.alice.dir,
      "--stream",
      stream,
      "--body",
      '{"dup":1}',
      "--dump-raw",
      `${files}/dup_msg.cbor`,
      `${files}/dup_receipt.cbor`,
    ]);
    const bytes = await Deno.readFile(`${files}/dup_msg.cbor`);
    const r = await h.post(url, "/submit", bytes);
    ev.push(
      `send stream_seq ${s.stream_seq} msg_id ${short(s.msg_id)}; re-POST: ${
        expectError(r, "E.DUP", "duplicate MSG")
      }`,
    );
    const label = toHex(labelFor(streamIdFor(stream), fromHex(String(ctx.info.routing_key_hex ?? ""))));
    const health = await h.json(`${url}/healthz?label=${label}`);
    check(
      health.last_stream_seq === s.stream_seq,
      `the label grew to ${health.last_stream_seq} after a duplicate`,
    );
    ev.push(`label still ends at stream_seq ${health.last_stream_seq}`);
  });

  await step("profile", "a MSG under another profile_id → 400 E.PROFILE (1.3 test 5)", async (ev) => {
    const other = profileId({ ...DEFAULT_PROFILE, padBlock: 1024 });
    check(toHex(other) !== toHex(profileId(DEFAULT_PROFILE)), "the other profile has the same id");
    const w = new Crafter(`${h.opts.seed}/${h.runId}/profile`, S("core/profile"));
    const r = await h.post(url, "/submit", w.bytes({ profileId: other }));
    ev.push(
      `profile_id ${short(toHex(other))} (pad_block 1024): ${expectError(r, "E.PROFILE", "other profile")}`,
    );
  });

  await step(
    "time-window",
    "label_epochs hub: a label from a far epoch → 400 E.TIME, the current epoch passes",
    async (ev) => {
      needOwnHub(h, "needs label_epochs=true");
      const hub = await h.startHub("epochs", {
        admission: "on",
        trustedIssuers: [ctx.admin.idSignPublic],
        env: { VEEN_LABEL_EPOCHS: "true" },
      }, "label_epochs true, admission on");
      try {
        const w = new Crafter(`${h.opts.seed}/epoch`, "core/epoch");
        const cap = `${h.root}/files/cap_epoch.cbor`;
        const issued = await h.ok([
          "cap",
          "issue",
          "--issuer",
          ctx.admin.dir,
          "--subject",
          toHex(w.key.public),
          "--stream",
          "core/epoch",
          "--ttl",
          "600",
          "--out",
          cap,
        ]);
        await h.ok(["cap", "authorize", "--hub", hub.url, "--cap", cap]);
        const ref = fromHex(str(issued.auth_ref, "auth_ref"), 32);
        const epoch = epochOf(Math.floor(Date.now() / 1000), DEFAULT_PROFILE.epochSec);
        const sid = streamIdFor("core/epoch");
        const now = await h.post(
          hub.url,
          "/submit",
          w.bytes({ authRef: ref, label: labelFor(sid, undefined, epoch) }),
        );
        if (now.status !== 200) {
          fail(`the current epoch's label was refused: ${describeAnswer(now)}`);
        }
        ev.push(
          `auth_ref ${short(issued.auth_ref)}; label of epoch ${epoch}: 200 stream_seq ${
            decodeReceipt(now.body).streamSeq
          }`,
        );
        const far = await h.post(
          hub.url,
          "/submit",
          w.bytes({ authRef: ref, label: labelFor(sid, undefined, epoch + 5) }),
        );
        ev.push(`label of epoch ${epoch + 5}: ${expectError(far, "E.TIME", "far epoch")}`);
      } finally {
        await stopAfterStep(h, hub, ev);
      }
    },
  );

  await step(
    "resync",
    "bench send, lose state, resync, verify-state; a forked view is detected and rebuilt (1.4)",
    async (ev) => {
      needOpen();
      const stream = S("core/resync");
      const carol = await keygen(h, "carol");
      const b = await h.ok([
        "bench",
        "send",
        "--hub",
        url,
        "--client",
        carol.dir,
        "--stream",
        stream,
        "--count",
        String(RESYNC_COUNT),
      ]);
      const last = num(b.last_stream_seq, "bench last_stream_seq");
      ev.push(`bench send --count ${RESYNC_COUNT}: last_stream_seq ${last}`);
      await Deno.remove(`${carol.dir}/state.json`);
      const rs = await h.ok(["resync", "--hub", url, "--client", carol.dir, "--stream", stream]);
      check(rs.last_stream_seq === last, `resync ended at ${rs.last_stream_seq}, hub has ${last}`);
      check(
        rs.client_seq === RESYNC_COUNT,
        `resync recovered client_seq ${rs.client_seq}, expected ${RESYNC_COUNT}`,
      );
      ev.push(
        `state.json removed; resync: replayed ${rs.replayed}, last_stream_seq ${rs.last_stream_seq}, client_seq ${rs.client_seq}, checkpoint upto_seq ${rs.checkpoint_upto_seq}`,
      );
      const vs = await h.ok(["verify-state", "--hub", url, "--client", carol.dir, "--stream", stream]);
      check(vs.consistent === true, "verify-state after resync is not consistent");
      ev.push(
        `verify-state: consistent, hub_stream_seq ${vs.hub_stream_seq}, root ${short(vs.local_mmr_root)}`,
      );
      // Fork the stored view: other peaks with a matching root, so only the hub can tell.
      const path = `${carol.dir}/state.json`;
      const state = JSON.parse(await Deno.readTextFile(path));
      const label = str(rs.label, "resync label");
      let forked = false;
      for (const hub of Object.values(state.hubs) as { labels: Record<string, Record<string, unknown>> }[]) {
        const ls = hub.labels[label];
        if (ls === undefined) continue;
        const peaks = (ls.mmr_peaks as string[]).map(() => rng.bytes(32));
        ls.mmr_peaks = peaks.map(toHex);
        ls.last_mmr_root = toHex(mmrRoot(peaks));
        forked = true;
      }
      check(forked, "the label is missing from carol's state.json");
      await Deno.writeTextFile(path, JSON.stringify(state));
      const bad = await h.refused(
        ["verify-state", "--hub", url, "--client", carol.dir, "--stream", stream],
        "E.SEQ",
      );
      check(bad.consistent === false, "verify-state did not report consistent: false");
      ev.push(`forked view: verify-state exit 4, consistent no, mismatch_at ${bad.mismatch_at}`);
      const rb = await h.ok(["resync", "--hub", url, "--client", carol.dir, "--stream", stream]);
      check(rb.divergence !== null && rb.divergence !== undefined, "resync did not report the divergence");
      ev.push(
        `resync: divergence "${rb.divergence}", rebuilt_from ${rb.rebuilt_from}, last_stream_seq ${rb.last_stream_seq}`,
      );
      await h.ok(["verify-state", "--hub", url, "--client", carol.dir, "--stream", stream]);
      const next = await h.ok([
        "send",
        "--hub",
        url,
        "--client",
        carol.dir,
        "--stream",
        stream,
        "--body",
        "{}",
      ]);
      check(
        next.stream_seq === last + 1,
        `the next send got stream_seq ${next.stream_seq}, expected ${last + 1}`,
      );
      ev.push(`verify-state consistent again; next send stream_seq ${next.stream_seq} (no E.SEQ)`);
    },
  );

  await rpcStep(ctx, step, needOpen);
  await crdtStep(ctx, step, needOpen);
  await anchorStep(ctx, step, needOpen);

  await step(
    "health-metrics",
    "hub health, hub metrics (OBS0); JSON submit logs without plaintext (1.1, 1.8)",
    async (ev) => {
      const hh = await h.ok(["hub", "health", "--hub", url]);
      const health = hh as Record<string, unknown>;
      check(health.ok === true, `hub health: ok ${health.ok}`);
      for (const k of ["ok", "profile_id", "peaks_count", "last_stream_seq", "last_mmr_root"]) {
        check(k in health, `/healthz lacks ${k}`);
      }
      ev.push(
        `hub health: ok, profile_id ${short(health.profile_id)}, last_stream_seq ${health.last_stream_seq}`,
      );
      if (open) {
        const stream = S("core/resync");
        const hs = await h.ok(["hub", "health", "--hub", url, "--stream", stream]);
        const lh = hs as Record<string, unknown>;
        const n = num(lh.last_stream_seq, "last_stream_seq");
        check(lh.peaks_count === popcount(n), `peaks_count ${lh.peaks_count} is not popcount(${n})`);
        ev.push(
          `hub health --stream ${stream}: last_stream_seq ${n}, peaks_count ${lh.peaks_count} = popcount(${n})`,
        );
      }
      const m = await h.ok(["hub", "metrics", "--hub", url]);
      const counters = m.counters as Record<string, number>;
      const hist = m.histograms as Record<string, { count: number }>;
      check(counters.veen_submit_ok_total !== undefined, "metrics lack veen_submit_ok_total");
      if (open) check(counters.veen_submit_ok_total > 0, "veen_submit_ok_total is 0 after this run's sends");
      const errs = Object.entries(counters).filter(([k]) => k.startsWith("veen_submit_err_total{"));
      check(errs.length > 0, "no veen_submit_err_total{code} counters");
      for (const name of ["veen_verify_latency_ms", "veen_commit_latency_ms", "veen_end_to_end_latency_ms"]) {
        check(hist[name] !== undefined, `metrics lack the ${name} histogram`);
      }
      ev.push(
        `hub metrics: veen_submit_ok_total ${counters.veen_submit_ok_total}, ${
          errs.map(([k, v]) => `${k.replace("veen_submit_err_total", "err")} ${v}`).join(", ")
        }; latency histograms present`,
      );
      if (ctx.main === undefined) {
        ev.push("logs: not checked (a deployed hub's logs are not readable from here)");
        return;
      }
      const log = await Deno.readTextFile(`${ctx.main.dir}/hub.log`);
      const submits = log.split("\n").filter((l) => l.includes('"msg":"submit"')).map((l) => JSON.parse(l));
      check(submits.length > 0, "hub.log has no submit lines");
      const need = [
        "label",
        "client_id",
        "stream_seq",
        "code",
        "bytes_in",
        "bytes_out",
        "verify_ms",
        "commit_ms",
      ];
      for (const k of need) check(k in submits[0], `submit log lines lack ${k}`);
      const refused = submits.filter((s) => s.code !== null).length;
      ev.push(
        `hub.log: ${submits.length} JSON submit lines (${refused} with a code) with ${need.join(", ")}`,
      );
      const hit = await dirContains(ctx.main.dir, new TextEncoder().encode(ctx.marker));
      check(hit === undefined, `plaintext marker found in the hub's data: ${hit}`);
      ev.push(`plaintext marker "${ctx.marker}" appears nowhere in the hub's data dir or logs`);
    },
  );

  await step("retention", "veen retention show --data-dir (CLI-GOALS-1 §13.3)", async (ev) => {
    await requireCommand(h, "retention", "show");
    needOwnHub(h, "needs the hub's data directory");
    const dir = ctx.main!.dir;
    const j = await h.ok(["retention", "show", "--data-dir", dir], { bareJson: true });
    const fam = (k: string) => j[k] as Record<string, unknown> | undefined;
    for (const k of ["receipts", "payloads", "checkpoints"]) {
      check(fam(k) !== undefined, `retention show lacks ${k}`);
    }
    const labels = arr(j.labels, "retention labels");
    const rl = toHex(labelFor(streamIdFor(h.stream("core/resync"))));
    const mine = labels.find((l) => l.label === rl);
    check(
      mine !== undefined,
      `retention show does not list the label of core/resync (${labels.length} labels)`,
    );
    ev.push(
      `retention show: receipts ${fam("receipts")!.days ?? "forever"}, payloads ${
        fam("payloads")!.days ?? "forever"
      }, ` +
        `checkpoints ${
          fam("checkpoints")!.days ?? "forever"
        }; ${labels.length} labels, core/resync first retained ` +
        `${mine.first_receipt_seq}/${mine.first_payload_seq} of ${mine.last_seq}`,
    );
    if (await h.hasCommand(["retention", "set"])) {
      await h.ok(["retention", "set", "--data-dir", dir, "--payloads-days", "30"], { bareJson: true });
      const k = await h.ok(["retention", "show", "--data-dir", dir], { bareJson: true });
      check(
        (k.payloads as Record<string, unknown>).days === 30,
        "retention set --payloads-days 30 did not show",
      );
      ev.push(`retention set --payloads-days 30 → show: payloads 30 days`);
    }
  });

  if (!h.deployed) {
    await step("shutdown", "veen hub stop: graceful stop, final checkpoints, no process left", async (ev) => {
      for (const hub of h.hubs) {
        if (hub.stopped) continue;
        ev.push(await h.stopHub(hub));
      }
      if (ctx.main !== undefined) {
        const cps = await Deno.stat(`${ctx.main.dir}/checkpoints.cborseq`).catch(() => undefined);
        check(cps !== undefined && cps.size > 0, "no checkpoints.cborseq after a graceful stop");
        ev.push(`main hub: checkpoints.cborseq ${cps.size} B after stop`);
      }
    });
  }
}

/** A compact one-line rendering of a JSON answer for evidence. */
function summarize(j: Record<string, unknown>, max = 300): string {
  const s = JSON.stringify(Object.fromEntries(Object.entries(j).filter(([k]) => k !== "ok")));
  return s.length > max ? s.slice(0, max) + "…" : s;
}

type StepFn = (
  name: string,
  goal: string,
  fn: (ev: string[]) => Promise<void>,
  critical?: boolean,
) => Promise<boolean>;

async function rpcStep(ctx: CoreCtx, step: StepFn, needOpen: () => void): Promise<void> {
  const h = ctx.h;
  await step(
    "rpc",
    "rpc serve + rpc call: result, parent_id = request msg_id, rpc.res.v1, idempotent by idem (1.5)",
    async (ev) => {
      await requireCommand(h, "rpc", "call");
      await requireCommand(h, "rpc", "serve");
      needOpen();
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
        const st = await h.ok(["stream", "--hub", url, "--client", ctx.alice.dir, "--stream", stream]);
        const reply = arr(st.items, "items").find((i) => i.msg_id === a.reply_msg_id);
        const hdr = reply?.payload_hdr as Record<string, unknown> | undefined;
        check(hdr !== undefined, "the reply is not on the stream or not decryptable by the caller");
        check(
          hdr.schema === toHex(overlaySchemaId("rpc.res.v1")),
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
      const lines = served.stdout.trim().split("\n").filter((l) => l.startsWith("{")).map((l) =>
        JSON.parse(l)
      );
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
  );
}

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

async function crdtStep(ctx: CoreCtx, step: StepFn, needOpen: () => void): Promise<void> {
  const h = ctx.h;
  await step(
    "crdt",
    "crdt lww/orset/counter: (ts, stream_seq) wins, add-wins sets, summed shards; refold = resumed (1.6)",
    async (ev) => {
      await requireCommand(h, "crdt", "lww", "set");
      await requireCommand(h, "crdt", "orset", "add");
      await requireCommand(h, "crdt", "counter", "add");
      needOpen();
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
  );
}

async function anchorStep(ctx: CoreCtx, step: StepFn, needOpen: () => void): Promise<void> {
  const h = ctx.h;
  await step(
    "anchor",
    "anchor publish a CHECKPOINT's mmr_root; anchor verify; tampered CHECKPOINT / wrong ref fail (1.7)",
    async (ev) => {
      await requireCommand(h, "anchor", "publish");
      await requireCommand(h, "anchor", "verify");
      needOpen();
      const files = `${h.root}/files`;
      const backend = `${files}/anchors`;
      const stream = h.stream("core/resync");
      const pub = await h.cli([
        "anchor",
        "publish",
        "--hub",
        ctx.url,
        "--stream",
        stream,
        "--backend-dir",
        backend,
        "--out",
        `${files}/anchored.cbor`,
      ]);
      if (pub.code === 4 && pub.json?.code === "E.NOT_FOUND" && h.deployed) {
        throw new StepSkipped(
          `the deployed hub has no CHECKPOINT for ${stream} yet (checkpoint_every not reached)`,
        );
      }
      if (pub.code !== 0 || pub.json?.ok !== true) {
        fail(
          `${pub.line} exited ${pub.code}: ${pub.json?.code}: ${pub.json?.detail}`,
        );
      }
      const j = pub.json;
      ev.push(
        `anchor publish: anchor_ref …${
          String(j.anchor_ref).slice(-16)
        } (position ${j.position}) for mmr_root ${
          short(j.mmr_root)
        } (upto_seq ${j.upto_seq}, epoch ${j.epoch})`,
      );
      const v = await h.ok([
        "anchor",
        "verify",
        "--checkpoint",
        `${files}/anchored.cbor`,
        "--backend-dir",
        backend,
        "--hub",
        ctx.url,
      ]);
      check(v.valid === true && v.hub_sig === "ok" && v.anchor === "ok", `anchor verify: ${summarize(v)}`);
      ev.push(`anchor verify: hub_sig ok, anchor ok`);
      const cp = await Deno.readFile(`${files}/anchored.cbor`);
      const bad = new Uint8Array(cp);
      bad[bad.length - 10] = bad[bad.length - 10]! ^ 0x01; // one bit of hub_sig (the last field)
      await Deno.writeFile(`${files}/anchored_bad.cbor`, bad);
      const r1 = await h.cli([
        "anchor",
        "verify",
        "--checkpoint",
        `${files}/anchored_bad.cbor`,
        "--backend-dir",
        backend,
        "--hub",
        ctx.url,
      ]);
      check(r1.code === 4, `anchor verify of a tampered CHECKPOINT exited ${r1.code}`);
      const wrongRef = String(j.anchor_ref).slice(0, -2) +
        (String(j.anchor_ref).endsWith("00") ? "01" : "00");
      const r2 = await h.cli([
        "anchor",
        "verify",
        "--checkpoint",
        `${files}/anchored.cbor`,
        "--backend-dir",
        backend,
        "--hub",
        ctx.url,
        "--anchor-ref",
        wrongRef,
      ]);
      check(r2.code === 4, `anchor verify with a wrong anchor_ref exited ${r2.code}`);
      ev.push(`tampered CHECKPOINT: exit 4 ${r1.json?.code}; wrong anchor_ref: exit 4 ${r2.json?.code}`);
    },
  );
}
