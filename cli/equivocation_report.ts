/**
 * Client-side equivocation detection (spec 004 §16 /report_equivocation): a CHECKPOINT the client verified and
 * stored binds the hub. When the hub now shows a RECEIPT or a CHECKPOINT for the same (label, seq) with another root,
 * signed by the same key, the pair proves the hub forked the label: it is reported to the hub (best effort) and the
 * command's E.SEQ failure names the position.
 */
import {
  concat,
  decodeCbor,
  equivocation,
  fromHex,
  statementFromCbor,
  toHex,
  VeenError,
} from "../core/mod.ts";
import { cborToJson } from "./body.ts";
import type { HubHttp } from "./http_client.ts";

/** POSTs `[a, b]` to /report_equivocation and returns the hub's answer as JSON (hub and transport errors throw). */
export async function postEquivocation(http: HubHttp, a: Uint8Array, b: Uint8Array): Promise<unknown> {
  const { bytes } = await http.request("POST", "/report_equivocation", {}, {
    bytes: concat(new Uint8Array([0x82]), a, b),
    type: "application/cbor",
  });
  return cborToJson(decodeCbor(bytes, "/report_equivocation answer"));
}

/** POSTs `[held, seen]` to /report_equivocation; true when the hub answered. Never throws. */
async function report(http: HubHttp, held: Uint8Array, seen: Uint8Array): Promise<boolean> {
  try {
    await postEquivocation(http, held, seen);
    return true;
  } catch {
    return false;
  }
}

/**
 * When the signed statements `held` and `seen` prove equivocation under `hubPk`: reports them and returns the
 * sentence that names it; undefined otherwise.
 */
async function reportIfProven(
  http: HubHttp,
  hubPk: Uint8Array,
  held: Uint8Array,
  seen: Uint8Array,
): Promise<string | undefined> {
  const proven = equivocation(
    statementFromCbor(decodeCbor(held, "stored statement")),
    statementFromCbor(decodeCbor(seen, "hub statement")),
    hubPk,
  );
  if (proven === undefined) return undefined;
  const reported = await report(http, held, seen);
  return `the hub equivocated: it signed two different roots for label ${
    toHex(proven.label)
  } at stream_seq ${proven.seq} (${reported ? "reported to the hub" : "the report did not reach the hub"})`;
}

/**
 * Compares a stored CHECKPOINT (CBOR) with the hub's current CHECKPOINT (when it has the same upto_seq) and the
 * hub's RECEIPT at that seq (when the hub still has it); a proven equivocation is reported and named.
 */
export async function heldCheckpointEquivocation(
  http: HubHttp,
  hubPk: Uint8Array,
  label: Uint8Array,
  held: { upto_seq: number; cbor: string },
  latest: { checkpoint: { uptoSeq: number }; bytes: Uint8Array } | undefined,
): Promise<string | undefined> {
  const bytes = fromHex(held.cbor, undefined, "stored CHECKPOINT");
  if (latest !== undefined && latest.checkpoint.uptoSeq === held.upto_seq) {
    const found = await reportIfProven(http, hubPk, bytes, latest.bytes);
    if (found !== undefined) return found;
  }
  let receipt: Uint8Array;
  try {
    receipt = (await http.receipt(label, held.upto_seq)).bytes;
  } catch (e) {
    if (e instanceof VeenError && (e.code === "E.NOT_FOUND" || e.code === "E.SIZE")) return undefined;
    throw e;
  }
  return await reportIfProven(http, hubPk, bytes, receipt);
}
