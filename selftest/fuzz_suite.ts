/**
 * `veen selftest fuzz` (CLI-GOALS-1 §15.2, SH0/SH1 hardening): malformed and truncated MSG, RECEIPT, CHECKPOINT,
 * mmr_proof and consistency proofs, cap tokens and HTTP bodies and queries. Every hub answer must be 200 or an E.*
 * error body with its documented status, never a 5xx other than 503 E.UNAVAILABLE; decoders must refuse with
 * E.SIZE (or decode into something that no longer verifies), never crash; and afterwards the hub must still be
 * healthy: /healthz ok, its process alive, and a valid submit (crafted and via `veen send`) still works.
 */
import {
  type CborValue,
  concat,
  consistencyProof,
  decodeBatchResponse,
  decodeCbor,
  decodeCheckpoint,
  decodeConsistencyProof,
  decodeErrorBody,
  decodeMmrProof,
  decodeMsg,
  decodeReceipt,
  encodeCapToken,
  encodeCbor,
  encodeCheckpoint,
  encodeConsistencyProof,
  encodeMmrProof,
  fromHex,
  HTTP_STATUS,
  inclusionProof,
  isErrorCode,
  issueCapToken,
  signCheckpoint,
  signingKeyFromSeed,
  splitCborSeq,
  toHex,
  VeenError,
  verifyCheckpointSig,
  verifyConsistency,
  verifyInclusion,
  verifyMsgSig,
  verifyReceiptSig,
} from "../core/mod.ts";
import { Crafter } from "./craft.ts";
import {
  check,
  fail,
  type Harness,
  type HttpResult,
  type HubHandle,
  processAlive,
  short,
} from "./harness.ts";
import { buildLocal } from "./props_suite.ts";
import type { Rng } from "./rng.ts";

const SUITE = "fuzz";

export const FUZZ_GOAL =
  "malformed/truncated MSG, RECEIPT, CHECKPOINT, proofs, cap tokens, HTTP bodies and queries → documented E.* " +
  "answers (never 5xx but 503), decoders refuse with E.SIZE, the hub stays healthy (CLI-GOALS-1 §15.2)";

function iterations(): number {
  const v = Number(Deno.env.get("VEEN_SELFTEST_ITERATIONS") ?? "200");
  return Number.isSafeInteger(v) && v > 0 ? v : 200;
}

/**
 * Random structural damage to a byte string (never modifies `b`). Copies are made with `new Uint8Array(b)`:
 * core's encodeCbor can return a Node Buffer (cborg under Deno's npm compat), whose `slice()` is a view.
 */
export function mutate(src: Uint8Array, r: Rng): { bytes: Uint8Array; how: string } {
  const b = new Uint8Array(src);
  const n = b.length;
  switch (r.int(9)) {
    case 0: {
      const k = r.int(Math.max(1, n));
      return { bytes: b.slice(0, k), how: `truncated to ${k}` };
    }
    case 1: {
      const c = new Uint8Array(b);
      const i = r.int(Math.max(1, n));
      if (n > 0) c[i] = c[i]! ^ (1 + r.int(255));
      return { bytes: c, how: `byte ${i} changed` };
    }
    case 2: {
      const i = r.int(n + 1);
      const c = new Uint8Array(n + 1);
      c.set(b.subarray(0, i));
      c[i] = r.int(256);
      c.set(b.subarray(i), i + 1);
      return { bytes: c, how: `byte inserted at ${i}` };
    }
    case 3: {
      const i = r.int(Math.max(1, n));
      const c = new Uint8Array(Math.max(0, n - 1));
      c.set(b.subarray(0, i));
      c.set(b.subarray(i + 1), i);
      return { bytes: c, how: `byte ${i} deleted` };
    }
    case 4: {
      const c = new Uint8Array(b);
      const i = r.int(Math.max(1, n));
      const len = Math.min(n - i, r.range(1, 16));
      c.set(r.bytes(Math.max(0, len)), i);
      return { bytes: c, how: `${len} bytes at ${i} randomized` };
    }
    case 5: {
      const extra = r.bytes(r.range(1, 8));
      const c = new Uint8Array(n + extra.length);
      c.set(b);
      c.set(extra, n);
      return { bytes: c, how: `${extra.length} trailing bytes` };
    }
    case 6:
      return { bytes: r.bytes(r.range(0, 600)), how: "random bytes" };
    case 7: {
      // a head claiming a huge length
      const heads = [[0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], [0x9b, 0, 0, 0, 1, 0, 0, 0, 0], [
        0xba,
        0xff,
        0xff,
        0xff,
        0xff,
      ]];
      return {
        bytes: new Uint8Array([...r.pick(heads), ...b.subarray(0, r.int(n + 1))]),
        how: "huge length head",
      };
    }
    default: {
      const depth = r.range(33, 5000);
      return { bytes: new Uint8Array([...new Array(depth).fill(0x81), 0x00]), how: `nesting ${depth} deep` };
    }
  }
}

/** Wrong-shape but well-formed CBOR for a body that should be `valid` (an array or a map). */
function wrongShapes(r: Rng, valid: CborValue): Uint8Array[] {
  const junk = (): CborValue =>
    r.pick<CborValue>([null, "x", 7, new Uint8Array(31), new Uint8Array(33), [], true]);
  const out: Uint8Array[] = [
    new Uint8Array(0),
    encodeCbor([]),
    encodeCbor(new Map()),
    encodeCbor("MSG"),
    encodeCbor(null),
  ];
  if (Array.isArray(valid)) {
    out.push(encodeCbor(valid.slice(0, valid.length - 1)), encodeCbor([...valid, 0]));
    out.push(encodeCbor(new Map<number, CborValue>(valid.map((v, i) => [i, v]))));
    for (let i = 0; i < valid.length; i++) {
      const swapped = [...valid];
      swapped[i] = junk();
      out.push(encodeCbor(swapped));
    }
  } else if (valid instanceof Map) {
    out.push(encodeCbor([...valid.values()]));
    out.push(encodeCbor(new Map([...valid.entries(), [99, 0] as [number, CborValue]])));
    for (const k of valid.keys()) {
      const dropped = new Map(valid);
      dropped.delete(k);
      out.push(encodeCbor(dropped));
      const swapped = new Map(valid);
      swapped.set(k, junk());
      out.push(encodeCbor(swapped));
    }
  }
  return out;
}

interface Tally {
  n: number;
  codes: Map<string, number>;
}

const newTally = (): Tally => ({ n: 0, codes: new Map() });
const showTally = (t: Tally) =>
  `${t.n} cases: ${[...t.codes.entries()].sort().map(([k, v]) => `${k} ×${v}`).join(", ")}`;

/** Checks one hub answer: 200, or an E.* body whose status is the documented one; never 5xx but 503. */
function judge(res: HttpResult, what: string, t: Tally, allow200: boolean): void {
  t.n++;
  if (res.status === 200) {
    if (!allow200) fail(`${what}: the hub ACCEPTED it (200)`);
    t.codes.set("200", (t.codes.get("200") ?? 0) + 1);
    return;
  }
  if (res.status >= 500 && res.status !== 503) fail(`${what}: HTTP ${res.status}`);
  const e = decodeErrorBody(res.body);
  if (e === undefined || !isErrorCode(e.code)) {
    fail(
      `${what}: HTTP ${res.status} without a CBOR E.* error body (${
        new TextDecoder().decode(res.body.slice(0, 80))
      })`,
    );
  }
  if (HTTP_STATUS[e.code] !== res.status) {
    fail(`${what}: ${e.code} with HTTP ${res.status}, documented ${HTTP_STATUS[e.code]}`);
  }
  if (res.status === 503 && e.code !== "E.UNAVAILABLE") fail(`${what}: 503 with ${e.code}`);
  const k = `${res.status} ${e.code}`;
  t.codes.set(k, (t.codes.get(k) ?? 0) + 1);
}

export async function fuzzSuite(h: Harness): Promise<void> {
  h.report.beginSuite(SUITE, FUZZ_GOAL);
  const rng = h.rng.fork("fuzz");
  const N = iterations();
  const step = (name: string, goal: string, fn: (ev: string[]) => Promise<void>, critical = false) =>
    h.step(SUITE, name, goal, fn, { critical });
  let url = "";
  let hub: HubHandle | undefined;
  let info: Record<string, unknown> = {};
  const w = new Crafter(`${h.opts.seed}/${h.runId}/fuzz`, h.stream("fuzz/main"));
  const seeds: { msg: Uint8Array; receipt: Uint8Array }[] = [];
  let checkpoint: Uint8Array | undefined;
  /** The key `checkpoint` verifies under (the hub's, or a local key when the hub gave none). */
  let checkpointPk: Uint8Array | undefined;

  await step("setup", "start a hub; submit a few valid MSGs as mutation seeds", async (ev) => {
    ({ url, hub, info } = await h.suiteHub(
      ev,
      "fuzz",
      { admission: "off", env: { VEEN_CHECKPOINT_EVERY: "4" } },
      "admission off, checkpoint_every 4",
    ));
    if (info.admission !== true) {
      for (let i = 0; i < 6; i++) {
        const msg = w.bytes({ bodyLen: rng.range(0, 300) });
        const res = await h.post(url, "/submit", msg);
        check(res.status === 200, `seed submit ${i + 1} answered HTTP ${res.status}`);
        seeds.push({ msg, receipt: res.body });
      }
      const cp = await h.http(`${url}/checkpoint_latest?label=${toHex(w.label)}`);
      if (cp.status === 200) {
        checkpoint = cp.body;
        checkpointPk = fromHex(String(info.hub_pk), 32);
      }
      ev.push(
        `${seeds.length} seed MSGs accepted (stream_seq 1..${seeds.length})${
          checkpoint ? ", CHECKPOINT fetched" : ""
        }`,
      );
    } else {
      ev.push("the hub requires admission: seeds are crafted locally and never accepted");
    }
    if (seeds.length === 0) seeds.push({ msg: w.bytes(), receipt: new Uint8Array(0) });
    if (checkpoint === undefined) {
      const k = signingKeyFromSeed(rng.bytes(32));
      checkpointPk = k.public;
      checkpoint = encodeCheckpoint(signCheckpoint({
        ver: 1,
        labelPrev: w.label,
        labelCurr: w.label,
        uptoSeq: 4,
        mmrRoot: rng.bytes(32),
        epoch: 1,
      }, k.secret));
      ev.push("CHECKPOINT for the decoder fuzzing made locally (signed by a selftest key)");
    }
  }, true);

  await step("submit", `${N} mutated/truncated/random MSG bodies to POST /submit`, async (ev) => {
    const r = rng.fork("submit");
    const t = newTally();
    for (let i = 0; i < N; i++) {
      const base = r.pick(seeds).msg;
      const m = mutate(base, r);
      if (toHex(m.bytes) === toHex(base)) continue;
      const res = await h.post(url, "/submit", m.bytes);
      // A mutation can only be accepted if it is itself a valid, signed MSG (practically never).
      let valid = false;
      try {
        valid = verifyMsgSig(decodeMsg(m.bytes));
      } catch {
        valid = false;
      }
      judge(res, `MSG ${m.how}`, t, valid);
    }
    const shapes = wrongShapes(r, decodeCbor(seeds[0]!.msg));
    for (const s of shapes) judge(await h.post(url, "/submit", s), "wrong-shape MSG", t, false);
    const big = await h.post(url, "/submit", r.bytes(2 * 1024 * 1024 + 1));
    judge(big, "2 MiB body", t, false);
    check(big.status === 413, `a 2 MiB body answered ${big.status}, expected 413`);
    ev.push(showTally(t));
  });

  await step(
    "submit-batch",
    `${N} batches of seeds, mutated and random items, and mutated sequences to POST /submit_batch`,
    async (ev) => {
      const r = rng.fork("submit-batch");
      const t = newTally();
      let items = 0;
      for (let i = 0; i < N; i++) {
        const parts: Uint8Array[] = [];
        for (let k = 1 + r.int(6); k > 0; k--) {
          const base = r.pick(seeds).msg;
          const kind = r.int(4);
          parts.push(kind === 0 ? base : kind === 3 ? r.bytes(r.int(64)) : mutate(base, r).bytes);
        }
        let body = concat(...parts);
        let how = "items";
        if (r.int(4) === 0) ({ bytes: body, how } = mutate(body, r));
        const res = await h.post(url, "/submit_batch", body, "application/cbor-seq");
        if (res.status !== 200) {
          judge(res, `batch ${how}`, t, false);
          continue;
        }
        // 200: the body split into items, and the answer holds one RECEIPT or E.* body per item, in order.
        let split: Uint8Array[];
        try {
          split = splitCborSeq(body, Number(info.max_batch_items ?? 256));
        } catch {
          fail(`batch ${how}: the hub answered 200 to a body that does not split into items`);
        }
        let answers;
        try {
          answers = decodeBatchResponse(res.body, split.length);
        } catch (e) {
          fail(`batch ${how}: 200 answer is not one RECEIPT or error per item (${e})`);
        }
        answers.forEach((a, k) => {
          items++;
          const key = "error" in a ? `item ${a.error.code}` : "item RECEIPT";
          t.codes.set(key, (t.codes.get(key) ?? 0) + 1);
          if ("error" in a) return;
          let valid = false;
          try {
            valid = verifyMsgSig(decodeMsg(split[k]!));
          } catch {
            valid = false;
          }
          if (!valid) fail(`batch ${how}: item ${k} was ACCEPTED but is no valid signed MSG`);
        });
        t.n++;
      }
      const big = await h.post(url, "/submit_batch", r.bytes(4 * 1024 * 1024 + 1), "application/cbor-seq");
      judge(big, "4 MiB + 1 batch body", t, false);
      check(big.status === 413, `a 4 MiB + 1 batch body answered ${big.status}, expected 413`);
      ev.push(`${showTally(t)}; ${items} items answered one by one`);
    },
  );

  await step("authorize", `${N} mutated cap tokens and random bodies to POST /authorize`, async (ev) => {
    const r = rng.fork("authorize");
    const t = newTally();
    const issuer = signingKeyFromSeed(r.bytes(32));
    const token = encodeCapToken(issueCapToken({
      issuerSecret: issuer.secret,
      issuerPk: issuer.public,
      subjectPk: r.bytes(32),
      streamIds: [r.bytes(32)],
      ttl: 60,
    }));
    const untrusted = await h.post(url, "/authorize", token);
    judge(untrusted, "valid token from an untrusted issuer", t, false);
    const code = decodeErrorBody(untrusted.body)?.code;
    check(code === "E.CAP", `a token from an untrusted issuer answered ${code}, expected E.CAP`);
    for (let i = 0; i < N; i++) {
      const m = mutate(token, r);
      judge(await h.post(url, "/authorize", m.bytes), `cap_token ${m.how}`, t, false);
    }
    for (const s of wrongShapes(r, decodeCbor(token))) {
      judge(await h.post(url, "/authorize", s), "wrong-shape cap_token", t, false);
    }
    ev.push(showTally(t));
  });

  await step(
    "report-equivocation",
    `${N} mutated RECEIPT pairs to POST /report_equivocation: never a false ok:true`,
    async (ev) => {
      const r = rng.fork("equivocation");
      const t = newTally();
      const receipts = seeds.map((s) => s.receipt).filter((b) => b.length > 0);
      if (receipts.length === 0) receipts.push(r.bytes(150));
      let oks = 0;
      for (let i = 0; i < N; i++) {
        const a = r.pick(receipts);
        let b = r.pick(receipts);
        if (r.int(2) === 0) b = mutate(b, r).bytes;
        let body: Uint8Array;
        try {
          body = encodeCbor([decodeCbor(a), decodeCbor(b)]);
        } catch {
          body = new Uint8Array([0x82, ...a, ...b]);
        }
        if (r.int(4) === 0) body = mutate(body, r).bytes;
        const res = await h.post(url, "/report_equivocation", body);
        judge(res, "equivocation report", t, true);
        if (res.status === 200) {
          const v = decodeCbor(res.body);
          check(
            v instanceof Map && typeof v.get("ok") === "boolean",
            "report_equivocation answered 200 without {ok}",
          );
          check(
            v.get("ok") === false,
            "a mutated RECEIPT pair was accepted as proof of equivocation (ok: true)",
          );
          oks++;
        }
      }
      ev.push(`${showTally(t)}; all ${oks} answers with 200 say ok: false`);
    },
  );

  await step(
    "queries",
    "GET routes with missing, malformed, oversized and out-of-range query values; unknown routes",
    async (ev) => {
      const r = rng.fork("queries");
      const t = newTally();
      const label = toHex(w.label);
      const badLabels = [
        "",
        "zz",
        "0".repeat(63),
        "0".repeat(65),
        "g".repeat(64),
        label.slice(2) + "%00",
        "x".repeat(5000),
        "-1",
      ];
      const badNums = [
        "",
        "-1",
        "1e3",
        "0x10",
        "99999999999999999999",
        "1.5",
        "NaN",
        "٣",
        " 1",
        "1 ",
        "9".repeat(400),
      ];
      const routes: [string, string[]][] = [
        ["/stream", ["from", "to", "limit"]],
        ["/receipt", ["seq"]],
        ["/proof", ["seq", "size"]],
        ["/consistency", ["from", "to"]],
        ["/checkpoint_latest", []],
        ["/checkpoint_range", ["epoch_min", "epoch_max"]],
        ["/healthz", []],
      ];
      for (const [path, nums] of routes) {
        for (const l of badLabels) {
          const res = await h.http(`${url}${path}?label=${encodeURIComponent(l)}&seq=1&from=1&to=2`);
          judge(res, `GET ${path} label=${l.slice(0, 20)}`, t, false);
        }
        if (path !== "/healthz") judge(await h.http(`${url}${path}`), `GET ${path} without label`, t, false);
        for (const p of nums) {
          for (const v of badNums) {
            const q = new URLSearchParams({ label, seq: "1", from: "1", to: "2", size: "2" });
            q.set(p, v);
            const res = await h.http(`${url}${path}?${q}`);
            // Some values are fine for some routes ("" falls back to a default); 200 is allowed there.
            judge(res, `GET ${path} ${p}=${v.slice(0, 20)}`, t, true);
          }
        }
        for (let i = 0; i < 10; i++) {
          const q = new URLSearchParams({ label });
          for (const p of nums) q.set(p, String(r.pick([0, 1, 2, 3, 7, 2 ** 31, 2 ** 52, 10 ** 15 - 1])));
          judge(await h.http(`${url}${path}?${q}`), `GET ${path} random range`, t, true);
        }
      }
      for (const coid of ["", "zz", "0".repeat(63), "0".repeat(64), "../../etc/passwd", "%2e%2e%2fhub_key"]) {
        judge(await h.http(`${url}/attachments/${coid}`), `GET /attachments/${coid}`, t, false);
      }
      for (
        const [m, p] of [["GET", "/submit"], ["PUT", "/submit"], ["DELETE", "/stream"], ["GET", "/nope"], [
          "POST",
          "/info",
        ], ["PATCH", "/"]]
      ) {
        const res = await h.http(`${url}${p}`, {
          method: m!,
          ...(m === "GET" || m === "DELETE" ? {} : { body: "x" }),
        });
        judge(res, `${m} ${p}`, t, false);
      }
      ev.push(showTally(t));
    },
  );

  await step(
    "decoders",
    `${N} mutations each of MSG, RECEIPT, CHECKPOINT, mmr_proof, consistency proof: E.SIZE or fail verification`,
    async (ev) => {
      const r = rng.fork("decoders");
      const { store, roots } = buildLocal(r, 100);
      const proof = await inclusionProof(store, 37, 100);
      const cons = encodeConsistencyProof(await consistencyProof(store, 37, 100));
      const hubPk = typeof info.hub_pk === "string" ? fromHex(info.hub_pk, 32) : new Uint8Array(32);
      const receipt = seeds.find((s) => s.receipt.length > 0)?.receipt;
      const targets: { name: string; bytes: Uint8Array; accept: (b: Uint8Array) => boolean }[] = [
        { name: "MSG", bytes: seeds[0]!.msg, accept: (b) => verifyMsgSig(decodeMsg(b)) },
        {
          name: "CHECKPOINT",
          bytes: checkpoint!,
          accept: (b) => verifyCheckpointSig(decodeCheckpoint(b), checkpointPk!),
        },
        {
          name: "mmr_proof",
          bytes: encodeMmrProof(proof),
          accept: (b) => verifyInclusion(decodeMmrProof(b), roots[100]!, { seq: 37, size: 100 }),
        },
        {
          name: "consistency_proof",
          bytes: cons,
          accept: (b) => verifyConsistency(decodeConsistencyProof(b), 37, roots[37]!, 100, roots[100]!),
        },
      ];
      if (receipt !== undefined) {
        targets.push({
          name: "RECEIPT",
          bytes: receipt,
          accept: (b) => verifyReceiptSig(decodeReceipt(b), hubPk),
        });
      }
      const lines: string[] = [];
      for (const tg of targets) {
        let refused = 0;
        let unverified = 0;
        for (let i = 0; i < N; i++) {
          const m = mutate(tg.bytes, r);
          if (toHex(m.bytes) === toHex(tg.bytes)) continue;
          try {
            if (tg.accept(m.bytes)) fail(`${tg.name} ${m.how} decoded AND verified`);
            unverified++;
          } catch (e) {
            if (!(e instanceof VeenError)) {
              fail(
                `${tg.name} ${m.how}: decoder threw ${e instanceof Error ? e.name : e}: ${e}`,
              );
            }
            if (e.code !== "E.SIZE") fail(`${tg.name} ${m.how}: ${e.code}, expected E.SIZE`);
            refused++;
          }
        }
        lines.push(`${tg.name} ${refused} E.SIZE / ${unverified} decoded but unverified`);
      }
      ev.push(lines.join("; "));
    },
  );

  await step(
    "cli-inputs",
    "veen verify-receipt on mutated RECEIPT files: exit 3/4, never 0, never a crash",
    async (ev) => {
      const receipt = seeds.find((s) => s.receipt.length > 0)?.receipt;
      if (receipt === undefined) {
        ev.push("no RECEIPT from this hub (admission required); using a random one");
      }
      const base = receipt ?? rng.bytes(160);
      const r = rng.fork("cli");
      const codes: number[] = [];
      for (let i = 0; i < 4; i++) {
        const m = mutate(base, r);
        const f = `${h.root}/files/fuzz_receipt_${i}.cbor`;
        await Deno.writeFile(f, m.bytes);
        const res = await h.cli([
          "verify-receipt",
          "--receipt",
          f,
          "--hub-key",
          String(info.hub_pk ?? "00".repeat(32)),
        ]);
        check(
          res.code === 3 || res.code === 4,
          `verify-receipt on a RECEIPT with ${m.how} exited ${res.code} (${res.json?.code}: ${res.json?.detail})`,
        );
        check(res.json?.code !== "E.INTERNAL", `verify-receipt crashed on a RECEIPT with ${m.how}`);
        codes.push(res.code);
      }
      ev.push(`4 mutated RECEIPT files: exit codes ${codes.join(", ")}`);
    },
  );

  await step(
    "still-healthy",
    "after all of it: /healthz ok, process alive, a valid submit works (crafted and veen send)",
    async (ev) => {
      const health = await h.json(`${url}/healthz`);
      check(health.ok === true, `/healthz ok: ${health.ok}`);
      ev.push(`/healthz ok, last_stream_seq ${health.last_stream_seq}`);
      const ready = await h.http(`${url}/readyz`);
      check(ready.status === 200, `/readyz answered ${ready.status}`);
      if (hub !== undefined) {
        check(processAlive(hub.pid), `hub pid ${hub.pid} is gone`);
        ev.push(`hub pid ${hub.pid} alive`);
      }
      if (info.admission === true) {
        ev.push("valid submit not tried: the hub requires admission");
        return;
      }
      const res = await h.post(url, "/submit", w.bytes());
      check(res.status === 200, `a valid MSG after fuzzing answered HTTP ${res.status}`);
      const rc = decodeReceipt(res.body);
      check(
        verifyReceiptSig(rc, fromHex(String(info.hub_pk), 32)),
        "the RECEIPT after fuzzing does not verify",
      );
      ev.push(`crafted MSG: 200 RECEIPT stream_seq ${rc.streamSeq}`);
      const batch = [w.bytes(), w.bytes(), w.bytes()];
      const br = await h.post(url, "/submit_batch", concat(...batch), "application/cbor-seq");
      check(br.status === 200, `a valid batch after fuzzing answered HTTP ${br.status}`);
      const seqs = decodeBatchResponse(br.body, 3).map((a) =>
        "error" in a ? a.error.code : a.receipt.streamSeq
      );
      check(
        seqs.every((x) => typeof x === "number"),
        `a valid batch after fuzzing answered ${seqs.join(", ")}`,
      );
      ev.push(`crafted batch of 3: RECEIPTs stream_seq ${seqs.join(", ")}`);
      const dir = `${h.root}/clients/fuzzer`;
      await h.ok(["keygen", "--out", dir]);
      const s = await h.ok([
        "send",
        "--hub",
        url,
        "--client",
        dir,
        "--stream",
        h.stream("fuzz/after"),
        "--body",
        '{"after":"fuzz"}',
      ]);
      ev.push(`veen send: stream_seq ${s.stream_seq} msg_id ${short(s.msg_id)}`);
    },
  );

  if (hub !== undefined) {
    await step("shutdown", "veen hub stop (graceful after fuzzing)", async (ev) => {
      ev.push(await h.stopHub(hub!));
    });
  }
}
