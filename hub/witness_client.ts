/**
 * The witnessed side (spec 002 §3.4, 004 §5 witness_sigs): before a CHECKPOINT is stored, each configured witness
 * (`witnesses = [URL...]`) is asked for its cosignature: `GET /witness/last` says where it last cosigned this hub's
 * label, the hub proves consistency from there (`POST /witness/cosign` with `[CHECKPOINT, consistency_proof / null]`)
 * and keeps each answer whose signature verifies over the CHECKPOINT's digest. A witness that fails or refuses is
 * logged and counted (veen_witness_fail_total); the CHECKPOINT is stored with the signatures that came back.
 */
import {
  type Checkpoint,
  checkpointSigningDigest,
  checkpointToCbor,
  consistencyProof,
  decodeCbor,
  decodeErrorBody,
  ed25519Verify,
  encodeCbor,
  encodeConsistencyProof,
  expectBytes,
  fromHex,
  type HashReader,
  toHex,
  VeenError,
} from "../core/mod.ts";
import type { Logger } from "./logger.ts";
import type { Metrics } from "./metrics.ts";

const WITNESS_TIMEOUT_MS = 5000;

async function answer(res: Response, what: string): Promise<Uint8Array> {
  const body = new Uint8Array(await res.arrayBuffer());
  if (res.ok) return body;
  const e = decodeErrorBody(body);
  throw e ?? new VeenError("E.UNAVAILABLE", `Witness answered ${what} with HTTP ${res.status}`);
}

/** One witness's signature over `c` (checked), asking it where it last cosigned and proving consistency from there. */
export async function askWitness(
  url: string,
  c: Checkpoint,
  hubPk: Uint8Array,
  reader: HashReader,
  timeoutMs = WITNESS_TIMEOUT_MS,
): Promise<{ witnessPk: Uint8Array; sig: Uint8Array }> {
  const base = url.replace(/\/+$/, "");
  const signal = AbortSignal.timeout(timeoutMs);
  const q = `hub_pk=${toHex(hubPk)}&label=${toHex(c.labelCurr)}`;
  const res = await fetch(`${base}/witness/last?${q}`, { signal });
  let proof: Uint8Array | null = null;
  if (res.status !== 404) {
    const last = JSON.parse(new TextDecoder().decode(await answer(res, "GET /witness/last")));
    const from = Number(last.upto_seq);
    if (!Number.isSafeInteger(from) || from < 1) {
      throw new VeenError("E.SIZE", `Witness /witness/last upto_seq "${last.upto_seq}" is not valid`);
    }
    if (from < c.uptoSeq) proof = encodeConsistencyProof(await consistencyProof(reader, from, c.uptoSeq));
  } else await res.body?.cancel();
  const { witnessSigs: _, ...bare } = c;
  const post = await fetch(`${base}/witness/cosign`, {
    method: "POST",
    body: encodeCbor([checkpointToCbor(bare), proof]) as BodyInit,
    headers: { "content-type": "application/cbor" },
    signal,
  });
  const m = decodeCbor(await answer(post, "POST /witness/cosign"), "cosign answer");
  if (!(m instanceof Map)) throw new VeenError("E.SIZE", "Witness cosign answer must be a map");
  const witnessPk = expectBytes(m.get("witness_pk"), 32, "witness_pk");
  const sig = expectBytes(m.get("sig"), 64, "witness sig");
  if (!ed25519Verify(witnessPk, checkpointSigningDigest(c), sig)) {
    throw new VeenError("E.SIG", "Witness signature does not verify over the CHECKPOINT");
  }
  return { witnessPk, sig };
}

/** The signatures of the witnesses that cosigned `c`, one per witness key; failures logged and counted. */
export async function collectWitnessSigs(
  urls: readonly string[],
  c: Checkpoint,
  hubPk: Uint8Array,
  reader: HashReader,
  log: Logger,
  metrics: Metrics,
): Promise<Uint8Array[]> {
  const got = await Promise.allSettled(urls.map((u) => askWitness(u, c, hubPk, reader)));
  const sigs = new Map<string, Uint8Array>();
  got.forEach((r, i) => {
    if (r.status === "fulfilled") sigs.set(toHex(r.value.witnessPk), r.value.sig);
    else {
      metrics.witnessFail++;
      log.warn("witness did not cosign", { witness: urls[i], upto_seq: c.uptoSeq, error: String(r.reason) });
    }
  });
  return [...sigs.values()];
}

/** `witness_for` keys as bytes (config validated them as 64 hex). */
export const witnessKeys = (hex: readonly string[]): Uint8Array[] =>
  hex.map((k) => fromHex(k, 32, "witness_for key"));
