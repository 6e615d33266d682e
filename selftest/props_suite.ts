/**
 * `veen selftest props` (CLI-GOALS-1 §15.2): properties checked over seeded random inputs.
 *
 * - MMR: for random sizes, incremental roots equal the bagged stored peaks at every size (associativity), each
 *   inclusion proof has exactly the minimal shape (path = peak height, popcount(size) - 1 other peaks) and verifies
 *   only at its own position, tampered proofs fail, consistency proofs between random sizes verify and fail for
 *   wrong roots; then the same against a hub: RECEIPT roots equal the local MMR, and /proof and /consistency answers
 *   verify against the RECEIPT roots.
 * - Duplicate rejection against a hub: resubmitting accepted MSG bytes is E.DUP naming the original stream_seq,
 *   the same client_seq with other content is E.SEQ, and the label does not grow.
 * - CBOR determinism for every wire type: random objects round-trip byte for byte, an independent encoder
 *   produces the same bytes, and every single non-canonical deviation is refused with E.SIZE.
 * - Fold determinism (overlays/): the same stream folded twice, and folded in random split ranges then merged
 *   (either association), gives identical summaries; summaries survive their JSON form.
 */
import {
  bytesEqual,
  type CborValue,
  consistencyProof,
  decodeCapToken,
  decodeCbor,
  decodeCborInOrder,
  decodeCheckpoint,
  decodeConsistencyProof,
  decodeErrorBody,
  decodeMmrProof,
  decodeMsg,
  decodePayloadHdr,
  decodeProfile,
  decodeReceipt,
  DEFAULT_PROFILE,
  encodeCapToken,
  encodeCbor,
  encodeCheckpoint,
  encodeConsistencyProof,
  encodeErrorBody,
  encodeMmrProof,
  encodeMsg,
  encodePayloadHdr,
  encodeProfile,
  encodeReceipt,
  ERROR_CODES,
  extendCapChain,
  fromHex,
  H,
  inclusionLayout,
  inclusionProof,
  issueCapToken,
  leafHash,
  MemoryHashStore,
  MmrAccumulator,
  type MmrProof,
  mmrRoot,
  peaksAt,
  popcount,
  receiptFromCbor,
  signCheckpoint,
  signingKeyFromSeed,
  signMsg,
  signReceipt,
  toHex,
  u32be,
  VeenError,
  verifyConsistency,
  verifyInclusion,
  verifyReceiptSig,
  witnessSign,
} from "../core/mod.ts";
import {
  counterFold,
  encodeCounterOp,
  encodeLwwOp,
  encodeOrSetAdd,
  encodeOrSetRemove,
  type Fold,
  foldRange,
  GCNT_SCHEMA,
  LWW_SCHEMA,
  lwwFold,
  ORSET_SCHEMA,
  orsetFold,
  type OverlayEntry,
  rangeMonoid,
  type RangeSummary,
} from "../overlays/mod.ts";
import { DEVIATIONS, encodeCanonicalIndependent, encodeWithDeviation } from "./cbor_loose.ts";
import { Crafter } from "./craft.ts";
import {
  check,
  describeAnswer,
  expectError,
  fail,
  type Harness,
  type HubHandle,
  StepSkipped,
} from "./harness.ts";
import type { Rng } from "./rng.ts";

const SUITE = "props";

export const PROPS_GOAL =
  "MMR proofs/consistency at random sizes (local and via the hub), duplicate rejection, CBOR determinism for " +
  "every wire type, fold determinism (CLI-GOALS-1 §15.2)";

/** Largest MMR built locally; sizes are drawn below it. */
const LOCAL_MMR_MAX = 2048;

function flipBit(b: Uint8Array, rng: Rng): Uint8Array {
  const c = new Uint8Array(b); // a copy even when b is a Node Buffer (whose slice() is a view)
  const i = rng.int(c.length);
  c[i] = c[i]! ^ (1 << rng.int(8));
  return c;
}

/** A local MMR of `size` random leaves with the root after every append (`roots[n]` at size n). */
export function buildLocal(rng: Rng, size: number): { store: MemoryHashStore; roots: Uint8Array[] } {
  const store = new MemoryHashStore();
  const acc = new MmrAccumulator();
  const roots: Uint8Array[] = [new Uint8Array(0)];
  for (let i = 1; i <= size; i++) {
    const a = acc.append(rng.bytes(32));
    store.append(a.newNodes);
    roots.push(a.root);
  }
  return { store, roots };
}

function tamperProof(p: MmrProof, rng: Rng): MmrProof {
  const q: MmrProof = {
    leafHash: p.leafHash,
    path: p.path.map((s) => ({ ...s })),
    peaksAfter: [...p.peaksAfter],
    ...(p.peaksBefore ? { peaksBefore: [...p.peaksBefore] } : {}),
  };
  const choices: (() => void)[] = [() => (q.leafHash = flipBit(q.leafHash, rng))];
  if (q.path.length > 0) {
    choices.push(() => {
      const s = q.path[rng.int(q.path.length)]!;
      s.sib = flipBit(s.sib, rng);
    });
    choices.push(() => {
      const s = q.path[rng.int(q.path.length)]!;
      s.dir = s.dir === 0 ? 1 : 0;
    });
  }
  if (q.peaksAfter.length > 0) {
    choices.push(() => {
      const i = rng.int(q.peaksAfter.length);
      q.peaksAfter[i] = flipBit(q.peaksAfter[i]!, rng);
    });
  }
  if (q.peaksBefore !== undefined) {
    choices.push(() => {
      const i = rng.int(q.peaksBefore!.length);
      q.peaksBefore![i] = flipBit(q.peaksBefore![i]!, rng);
    });
  }
  rng.pick(choices)();
  return q;
}

export async function propsSuite(h: Harness): Promise<void> {
  h.report.beginSuite(SUITE, PROPS_GOAL);
  const rng = h.rng.fork("props");
  const step = (name: string, goal: string, fn: (ev: string[]) => Promise<void> | void, critical = false) =>
    h.step(SUITE, name, goal, fn, { critical });
  let url = "";
  let hub: HubHandle | undefined;
  let info: Record<string, unknown> = {};

  await step("setup", "start a hub for the hub-backed properties", async (ev) => {
    ({ url, hub, info } = await h.suiteHub(ev, "props", { admission: "off" }, "admission off"));
    ev.push(`GET /info: hub_pk ${String(info.hub_pk).slice(0, 16)}… admission ${info.admission}`);
  }, true);
  const needOpen = () => {
    if (info.admission === true) throw new StepSkipped("the hub requires admission; no submits possible");
  };

  await step(
    "mmr-local",
    "MMR associativity, minimal inclusion proofs, tamper rejection, consistency (random sizes)",
    async (ev) => {
      const r = rng.fork("mmr-local");
      const { store, roots } = buildLocal(r, LOCAL_MMR_MAX);
      const edge = [1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 255, 256, 257, 1023, 1024, 1025, LOCAL_MMR_MAX];
      const sizes = [...edge, ...Array.from({ length: 30 }, () => r.range(1, LOCAL_MMR_MAX))];
      let proofs = 0;
      let consistency = 0;
      for (const size of sizes) {
        const peaks = await peaksAt(store, size);
        check(
          peaks.length === popcount(size),
          `size ${size}: ${peaks.length} peaks, expected popcount ${popcount(size)}`,
        );
        check(
          toHex(mmrRoot(peaks)) === toHex(roots[size]!),
          `size ${size}: bagged stored peaks ≠ incremental root`,
        );
        for (let k = 0; k < 3; k++) {
          const seq = k === 0 ? size : r.range(1, size);
          const p = await inclusionProof(store, seq, size);
          const lay = inclusionLayout(seq, size);
          const others = (p.peaksBefore?.length ?? 0) + p.peaksAfter.length;
          check(
            p.path.length === lay.dirs.length,
            `proof (${seq}, ${size}): path ${p.path.length} ≠ peak height`,
          );
          check(others === popcount(size) - 1, `proof (${seq}, ${size}): ${others} other peaks`);
          check(verifyInclusion(p, roots[size]!, { seq, size }), `proof (${seq}, ${size}) does not verify`);
          const bytes = encodeMmrProof(p);
          check(
            toHex(encodeMmrProof(decodeMmrProof(bytes))) === toHex(bytes),
            "mmr_proof does not round-trip",
          );
          if (size > 1) {
            const other = seq === size ? seq - 1 : seq + 1;
            check(
              !verifyInclusion(p, roots[size]!, { seq: other, size }),
              `proof of ${seq} verifies as ${other}`,
            );
          }
          check(
            !verifyInclusion(tamperProof(p, r), roots[size]!, { seq, size }),
            `tampered proof (${seq}, ${size}) verifies`,
          );
          proofs++;
        }
        if (size > 1) {
          const m = r.range(1, size - 1);
          const c = await consistencyProof(store, m, size);
          const cb = encodeConsistencyProof(c);
          check(
            toHex(encodeConsistencyProof(decodeConsistencyProof(cb))) === toHex(cb),
            "consistency proof round-trip",
          );
          check(
            verifyConsistency(c, m, roots[m]!, size, roots[size]!),
            `consistency ${m} → ${size} does not verify`,
          );
          check(
            !verifyConsistency(c, m, flipBit(roots[m]!, r), size, roots[size]!),
            `consistency ${m} → ${size} with a wrong old root`,
          );
          check(
            !verifyConsistency(c, m, roots[m]!, size, flipBit(roots[size]!, r)),
            `consistency ${m} → ${size} with a wrong new root`,
          );
          if (m + 1 < size) {
            check(
              !verifyConsistency(c, m + 1, roots[m + 1]!, size, roots[size]!),
              `consistency proof for ${m} accepted for ${m + 1}`,
            );
          }
          consistency++;
        }
      }
      ev.push(
        `${sizes.length} sizes in 1..${LOCAL_MMR_MAX}: peaks = popcount, bagged peaks = incremental root`,
      );
      ev.push(`${proofs} inclusion proofs minimal and position-bound, ${proofs} tampered proofs rejected`);
      ev.push(`${consistency} consistency proofs verify; wrong roots and sizes rejected`);
    },
  );

  const w = new Crafter(`${h.opts.seed}/${h.runId}/props`, h.stream("props/mmr"));
  const accepted: { bytes: Uint8Array; seq: number }[] = [];
  const receipts: ReturnType<typeof decodeReceipt>[] = [];
  const label = toHex(w.label);

  await step(
    "mmr-hub",
    "RECEIPT roots equal the local MMR; /proof and /consistency answers verify (random sizes)",
    async (ev) => {
      needOpen();
      const r = rng.fork("mmr-hub");
      const n = r.range(24, 64);
      const hubPk = fromHex(String(info.hub_pk), 32);
      const acc = new MmrAccumulator();
      const roots: Uint8Array[] = [new Uint8Array(0)];
      for (let i = 0; i < n; i++) {
        const msg = w.msg({ bodyLen: r.range(0, 200), fill: r.int(256) });
        const bytes = encodeMsg(msg);
        const res = await h.post(url, "/submit", bytes);
        if (res.status !== 200) {
          fail(`submit ${i + 1} answered ${describeAnswer(res)}`);
        }
        const rc = decodeReceipt(res.body);
        check(verifyReceiptSig(rc, hubPk), `RECEIPT ${rc.streamSeq} does not verify under the hub key`);
        const root = acc.append(leafHash(msg)).root;
        roots.push(root);
        check(rc.streamSeq === acc.size, `RECEIPT stream_seq ${rc.streamSeq}, expected ${acc.size}`);
        check(toHex(rc.mmrRoot) === toHex(root), `RECEIPT ${rc.streamSeq} root differs from the local MMR`);
        accepted.push({ bytes, seq: rc.streamSeq });
        receipts.push(rc);
      }
      ev.push(`${n} submits: every RECEIPT verifies and its mmr_root equals the locally appended root`);
      let proofs = 0;
      for (let k = 0; k < 12; k++) {
        const size = r.range(1, n);
        const seq = r.range(1, size);
        const res = await h.http(`${url}/proof?label=${label}&seq=${seq}&size=${size}`);
        check(res.status === 200, `/proof seq ${seq} size ${size}: HTTP ${res.status}`);
        const a = decodeCbor(res.body, "/proof answer") as CborValue[];
        const p = decodeMmrProof(encodeCbor(a[0]!));
        check(a[1] === size, `/proof answered size ${a[1]}`);
        check(
          toHex(a[2] as Uint8Array) === toHex(roots[size]!),
          `/proof root at ${size} is not the RECEIPT root`,
        );
        check(verifyInclusion(p, roots[size]!, { seq, size }), `/proof (${seq}, ${size}) does not verify`);
        proofs++;
      }
      let cons = 0;
      for (let k = 0; k < 12; k++) {
        const to = r.range(2, n);
        const from = r.range(1, to - 1);
        const res = await h.http(`${url}/consistency?label=${label}&from=${from}&to=${to}`);
        check(res.status === 200, `/consistency ${from} → ${to}: HTTP ${res.status}`);
        const c = decodeConsistencyProof(res.body);
        check(
          verifyConsistency(c, from, roots[from]!, to, roots[to]!),
          `/consistency ${from} → ${to} does not verify`,
        );
        cons++;
      }
      ev.push(`${proofs} /proof answers and ${cons} /consistency answers verify against RECEIPT roots`);
    },
  );

  await step(
    "duplicates",
    "resubmitted MSG bytes → E.DUP naming the stream_seq; reused client_seq → E.SEQ; no growth",
    async (ev) => {
      needOpen();
      if (accepted.length === 0) fail("mmr-hub accepted nothing to resubmit");
      const r = rng.fork("dup");
      const size = accepted.length;
      const picks = Array.from({ length: 10 }, () => r.pick(accepted));
      for (const a of picks) {
        const res = await h.post(url, "/submit", a.bytes);
        expectError(res, "E.DUP", `resubmit of stream_seq ${a.seq}`);
        const detail = decodeErrorBody(res.body)?.detail ?? "";
        check(
          detail.includes(`stream_seq ${a.seq}`),
          `E.DUP detail "${detail}" does not name stream_seq ${a.seq}`,
        );
      }
      ev.push(`${picks.length} resubmissions (random order): 409 E.DUP, each naming its original stream_seq`);
      let seqs = 0;
      for (let k = 0; k < 5; k++) {
        const cs = r.range(1, w.seq);
        const res = await h.post(url, "/submit", w.bytes({ clientSeq: cs, fill: 255, bodyLen: 7 }));
        expectError(res, "E.SEQ", `client_seq ${cs} with other content`);
        seqs++;
      }
      ev.push(`${seqs} reused client_seq values with other content: 409 E.SEQ`);
      const health = await h.json(`${url}/healthz?label=${label}`);
      check(health.last_stream_seq === size, `the label grew to ${health.last_stream_seq} (was ${size})`);
      ev.push(`label still ends at stream_seq ${size}`);
    },
  );

  await step(
    "cbor-determinism",
    "every wire type: round trip, independent encoder agrees, non-canonical forms → E.SIZE",
    (ev) => {
      const r = rng.fork("cbor");
      const gens = wireGenerators(r);
      let roundTrips = 0;
      let rejected = 0;
      const perType: string[] = [];
      for (const g of gens) {
        let n = 0;
        for (let i = 0; i < 12; i++) {
          const bytes = g.make();
          const again = g.reencode(bytes);
          check(toHex(again) === toHex(bytes), `${g.name}: decode → encode changed the bytes`);
          const value = decodeCbor(bytes, g.name);
          check(
            toHex(encodeCanonicalIndependent(value)) === toHex(bytes),
            `${g.name}: an independent canonical encoder disagrees`,
          );
          roundTrips++;
          for (const d of DEVIATIONS) {
            const bad = encodeWithDeviation(value, d, (k) => r.int(k));
            if (bad === undefined) continue;
            let code: string | undefined;
            try {
              g.decode(bad.bytes);
            } catch (e) {
              if (!(e instanceof VeenError)) fail(`${g.name} with ${d} at node ${bad.node}: threw ${e}`);
              code = e.code;
            }
            if (code !== "E.SIZE") {
              fail(
                `${g.name} with a ${d} deviation at node ${bad.node} was ${
                  code === undefined ? "ACCEPTED" : code
                }, expected E.SIZE`,
              );
            }
            rejected++;
            n++;
          }
        }
        perType.push(`${g.name} ${n}`);
      }
      ev.push(`${roundTrips} random objects of ${gens.length} wire types round-trip byte for byte`);
      ev.push(`${rejected} non-canonical encodings (${DEVIATIONS.join(", ")}) rejected with E.SIZE`);
      ev.push(`per type: ${perType.join(", ")}`);
    },
  );

  await step(
    "fold-determinism",
    "overlay folds: same stream twice, split ranges merged (both associations) → identical",
    (ev) => {
      const r = rng.fork("fold");
      const n = r.range(60, 160);
      const entries = randomOverlayStream(r, n);
      // deno-lint-ignore no-explicit-any
      const folds: Fold<any>[] = [lwwFold, orsetFold, counterFold];
      const lines: string[] = [];
      for (const f of folds) {
        const once = JSON.stringify(f.toJson(foldRange(f, 0, n, entries).state));
        const twice = JSON.stringify(f.toJson(foldRange(f, 0, n, entries).state));
        check(once === twice, `${f.kind}: folding the same stream twice gave different summaries`);
        const m = rangeMonoid(f);
        for (let t = 0; t < 5; t++) {
          const cuts = [...new Set(Array.from({ length: r.range(1, 6) }, () => r.range(1, n - 1)))].sort((
            a,
            b,
          ) => a - b);
          const bounds = [0, ...cuts, n];
          const parts: RangeSummary<unknown>[] = [];
          for (let i = 0; i + 1 < bounds.length; i++) {
            const lo = bounds[i]!;
            const hi = bounds[i + 1]!;
            parts.push(foldRange(f, lo, hi, entries.filter((e) => e.seq > lo && e.seq <= hi)));
          }
          const left = parts.reduce((a, b) => m.merge(a, b), m.empty());
          const right = parts.reduceRight((a, b) => m.merge(b, a), m.empty());
          check(
            left.from === 0 && left.upto === n,
            `${f.kind}: merged range is (${left.from}, ${left.upto}]`,
          );
          check(
            JSON.stringify(f.toJson(left.state)) === once,
            `${f.kind}: split at ${cuts} and merged differs from one fold`,
          );
          check(JSON.stringify(f.toJson(right.state)) === once, `${f.kind}: right-associated merge differs`);
        }
        check(
          JSON.stringify(f.toJson(f.fromJson(JSON.parse(once)))) === once,
          `${f.kind}: summary does not survive JSON`,
        );
        lines.push(`${f.kind} ${once.length} B`);
      }
      // Bodies are read in the spec's key order: the RFC 8949 order of the same map (what earlier builds wrote) is
      // a rejected entry wherever the two orders differ (lww, gcnt; OR-set keys sort in spec order anyway).
      let misordered = 0;
      for (const e of entries) {
        const f = folds.find((x) => bytesEqual(x.schema, e.hdr.schema));
        let body: CborValue;
        try {
          body = decodeCborInOrder(e.body);
        } catch {
          continue;
        }
        const sorted = encodeCbor(body);
        if (f === undefined || !(body instanceof Map) || bytesEqual(sorted, e.body)) continue;
        const got = f.apply(f.empty(), { ...e, body: sorted });
        check(got === "rejected", `${f.kind}: the RFC 8949-ordered body at seq ${e.seq} was ${got}`);
        misordered++;
      }
      check(misordered > 0, "the random stream held no body whose spec order differs from RFC 8949 order");
      ev.push(`${n} entries (lww, orset, gcnt, malformed and foreign): ${lines.join(", ")}`);
      ev.push(`${misordered} bodies re-encoded in RFC 8949 key order: each a rejected entry`);
      ev.push(
        "each fold: twice identical; 5 random splits merged left- and right-associated identical; JSON round trip",
      );
    },
  );

  if (hub !== undefined) {
    await step("shutdown", "veen hub stop", async (ev) => {
      ev.push(await h.stopHub(hub!));
    });
  }
}

interface WireGen {
  name: string;
  make(): Uint8Array;
  reencode(b: Uint8Array): Uint8Array;
  decode(b: Uint8Array): unknown;
}

/** Random instances of every wire type and their strict decoders. */
function wireGenerators(r: Rng): WireGen[] {
  const key = () => signingKeyFromSeed(r.bytes(32));
  const store = new MemoryHashStore();
  const acc = new MmrAccumulator();
  for (let i = 0; i < 300; i++) store.append(acc.append(r.bytes(32)).newNodes);
  return [
    {
      name: "MSG",
      make: () => {
        const k = key();
        const ct = r.bytes(r.range(0, 300));
        return encodeMsg(signMsg({
          ver: 1,
          profileId: r.bytes(32),
          label: r.bytes(32),
          clientId: k.public,
          clientSeq: r.range(0, 2 ** 40),
          prevAck: r.range(0, 300),
          authRef: r.int(2) === 0 ? null : r.bytes(32),
          ctHash: H(ct),
          ciphertext: ct,
        }, k.secret));
      },
      reencode: (b) => encodeMsg(decodeMsg(b)),
      decode: decodeMsg,
    },
    {
      name: "RECEIPT",
      make: () =>
        encodeReceipt(signReceipt({
          ver: 1,
          label: r.bytes(32),
          streamSeq: r.range(1, 2 ** 45),
          leafHash: r.bytes(32),
          mmrRoot: r.bytes(32),
          hubTs: r.range(0, 2 ** 33),
        }, key().secret)),
      reencode: (b) => encodeReceipt(decodeReceipt(b)),
      decode: decodeReceipt,
    },
    {
      name: "CHECKPOINT",
      make: () => {
        const u = {
          ver: 1 as const,
          labelPrev: r.bytes(32),
          labelCurr: r.bytes(32),
          uptoSeq: r.range(0, 2 ** 30),
          mmrRoot: r.bytes(32),
          epoch: r.range(0, 2 ** 30),
        };
        const c = signCheckpoint(u, key().secret);
        if (r.int(2) === 1) {
          c.witnessSigs = Array.from({ length: r.range(1, 3) }, () => witnessSign(u, key().secret));
        }
        return encodeCheckpoint(c);
      },
      reencode: (b) => encodeCheckpoint(decodeCheckpoint(b)),
      decode: decodeCheckpoint,
    },
    {
      name: "cap_token",
      make: () => {
        const issuer = key();
        let t = issueCapToken({
          issuerSecret: issuer.secret,
          issuerPk: issuer.public,
          subjectPk: r.bytes(32),
          streamIds: Array.from({ length: r.range(1, 4) }, () => r.bytes(32)),
          ttl: r.range(0, 10 ** 6),
          ...(r.int(2) === 0 ? {} : { rate: { perSec: r.range(0, 100), burst: r.range(1, 1000) } }),
        });
        if (r.int(3) === 0) t = extendCapChain(t, issuer.secret);
        return encodeCapToken(t);
      },
      reencode: (b) => encodeCapToken(decodeCapToken(b)),
      decode: decodeCapToken,
    },
    {
      name: "mmr_proof",
      make: () => {
        const size = r.range(1, 300);
        const seq = r.range(1, size);
        const lay = inclusionLayout(seq, size);
        const hashes = store.readHashes([
          lay.leafPosition,
          ...lay.sibPositions,
          ...lay.beforePositions,
          ...lay.afterPositions,
        ]);
        let i = 0;
        const leaf = hashes[i++]!;
        const path = lay.dirs.map((dir) => ({ dir, sib: hashes[i++]! }));
        const before = lay.beforePositions.map(() => hashes[i++]!);
        const after = lay.afterPositions.map(() => hashes[i++]!);
        return encodeMmrProof(
          before.length === 0 ? { leafHash: leaf, path, peaksAfter: after } : {
            leafHash: leaf,
            path,
            peaksAfter: after,
            peaksBefore: before,
          },
        );
      },
      reencode: (b) => encodeMmrProof(decodeMmrProof(b)),
      decode: decodeMmrProof,
    },
    {
      name: "consistency_proof",
      make: () => {
        const lists = [r.range(1, 8), r.range(0, 8), r.range(0, 8)].map((n) =>
          Array.from({ length: n }, () => r.bytes(32))
        );
        return encodeConsistencyProof({ oldPeaks: lists[0]!, path: lists[1]!, newPeaks: lists[2]! });
      },
      reencode: (b) => encodeConsistencyProof(decodeConsistencyProof(b)),
      decode: decodeConsistencyProof,
    },
    {
      name: "payload_hdr",
      make: () =>
        encodePayloadHdr({
          schema: r.bytes(32),
          ...(r.int(2) ? { parentId: r.bytes(32) } : {}),
          ...(r.int(2) ? { attRoot: r.bytes(32) } : {}),
          ...(r.int(2) ? { capRef: r.bytes(32) } : {}),
          ...(r.int(2) ? { expiresAt: r.range(0, 2 ** 40) } : {}),
        }),
      reencode: (b) => encodePayloadHdr(decodePayloadHdr(b)),
      decode: decodePayloadHdr,
    },
    {
      name: "profile",
      make: () =>
        encodeProfile({ ...DEFAULT_PROFILE, epochSec: r.range(0, 86400), padBlock: r.range(0, 65536) }),
      reencode: (b) => encodeProfile(decodeProfile(b)),
      decode: decodeProfile,
    },
    {
      name: "error body",
      make: () => {
        const code = r.pick(ERROR_CODES);
        const detail = r.int(3) === 0 ? "" : `detail ${r.int(1e6)} ${"x".repeat(r.int(40))}`;
        return encodeErrorBody(
          new VeenError(code, detail, r.int(2) === 0 ? undefined : { retryAfter: r.range(0, 3600) }),
        );
      },
      reencode: (b) => {
        const e = decodeErrorBody(b);
        if (e === undefined) throw new VeenError("E.SIZE", "not an error body");
        return encodeErrorBody(e);
      },
      decode: (b) => {
        const e = decodeErrorBody(b);
        if (e === undefined) throw new VeenError("E.SIZE", "not an error body");
        return e;
      },
    },
    {
      name: "equivocation report",
      make: () => {
        const k = key();
        const one = () =>
          encodeReceipt(signReceipt({
            ver: 1,
            label: r.bytes(32),
            streamSeq: r.range(1, 1000),
            leafHash: r.bytes(32),
            mmrRoot: r.bytes(32),
            hubTs: r.range(0, 2 ** 32),
          }, k.secret));
        return encodeCbor([decodeCbor(one()), decodeCbor(one())]);
      },
      reencode: (b) => {
        const a = decodeCbor(b) as CborValue[];
        return encodeCbor(a.map((x) => decodeCbor(encodeReceipt(receiptFromCbor(x)))));
      },
      decode: (b) => {
        const a = decodeCbor(b, "equivocation report");
        if (!Array.isArray(a) || a.length !== 2) throw new VeenError("E.SIZE", "not a pair");
        return a.map(receiptFromCbor);
      },
    },
  ];
}

/** A random overlay stream: LWW writes with ts ties, OR-set adds/removes, counter deltas, junk and foreign items. */
function randomOverlayStream(r: Rng, n: number): OverlayEntry[] {
  const clients = Array.from({ length: 3 }, () => r.bytes(32));
  const keys = ["a", "b", "c", "d"].map((k) => new TextEncoder().encode(k));
  const elems = ["x", "y", "z"].map((k) => new TextEncoder().encode(k));
  const ids: Uint8Array[] = [];
  const out: OverlayEntry[] = [];
  for (let seq = 1; seq <= n; seq++) {
    const clientId = r.pick(clients);
    const base = { seq, msgId: H(u32be(seq), clientId), clientId, hubTs: 1_700_000_000 + seq };
    const kind = r.int(10);
    if (kind < 3) {
      out.push({
        ...base,
        hdr: { schema: LWW_SCHEMA },
        body: encodeLwwOp({ key: r.pick(keys), ts: r.range(1, 8), value: r.bytes(r.range(0, 8)) }),
      });
    } else if (kind < 5) {
      const id = r.bytes(32);
      ids.push(id);
      out.push({ ...base, hdr: { schema: ORSET_SCHEMA }, body: encodeOrSetAdd(id, r.pick(elems)) });
    } else if (kind < 6 && ids.length > 0) {
      const tomb = Array.from({ length: r.range(1, 3) }, () => r.int(4) === 0 ? r.bytes(32) : r.pick(ids));
      out.push({ ...base, hdr: { schema: ORSET_SCHEMA }, body: encodeOrSetRemove(tomb) });
    } else if (kind < 8) {
      out.push({
        ...base,
        hdr: { schema: GCNT_SCHEMA },
        body: encodeCounterOp({ shard: clientId, delta: r.range(0, 1000) }),
      });
    } else if (kind < 9) {
      out.push({
        ...base,
        hdr: { schema: r.pick([LWW_SCHEMA, ORSET_SCHEMA, GCNT_SCHEMA]) },
        body: r.bytes(r.range(0, 20)),
      });
    } else {
      out.push({ ...base, hdr: { schema: r.bytes(32) }, body: r.bytes(r.range(0, 20)) });
    }
  }
  return out;
}
