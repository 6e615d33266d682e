/**
 * The client's durable state `state.json` (CLI-GOALS-1 §9.1, RESYNC0.4), written atomically (tmp, fsync, rename)
 * under an advisory lock on `state.lock`, so a crash leaves the previous snapshot or the new one.
 *
 * ```
 * {"format":"veen-client-state","version":1,
 *  "pins":{ADDRESS:{"hub_pk":HEX32,"hub_id":HEX32}},            // TOFU hub-key pin per --hub address
 *  "hubs":{HUB_ID:{"hub_pk":HEX32,"profile_id":HEX32,"routing_key_hex":HEX,
 *     "labels":{LABEL:{"stream":NAME,"stream_id":HEX32,
 *        "client_id":HEX32,"client_id_since":UNIX_SEC,"client_seq":N,"prev_ack":N,
 *        "last_stream_seq":N,"last_mmr_root":HEX32|null,"mmr_peaks":[HEX32,...],   // peaks ascending height
 *        "checkpoint":null|{"upto_seq":N,"epoch":N,"mmr_root":HEX32,"cbor":HEX}}},
 *     "previous_keys":[{"hub_pk":HEX32,"upto_seq":{LABEL:N}}]}},   // optional: keys rotated away from (KEX0.1)
 *  "rotations":[{"old_client_id":HEX32,"new_client_id":HEX32,"at":UNIX_SEC}],
 *  "caps":{AUTH_REF:{"hub_id":HEX32,"expires_at":UNIX_SEC}}}
 * ```
 * Label state is keyed by hub_id (not by address), so one hub reached by URL or by data directory shares its
 * client_seq and MMR view. `client_seq` counts MSGs of `client_id` under the label (reset when client_id rotates).
 */
import { fromHex, MmrAccumulator, popcount, toHex, VeenError } from "../core/mod.ts";
import { storedRootMatches } from "./client_view.ts";
import { usageError } from "../cmd/mod.ts";
import { writeFileAtomic } from "./files.ts";

export const STATE_FILE = "state.json";
export const LOCK_FILE = "state.lock";

export interface CheckpointRecord {
  upto_seq: number;
  epoch: number;
  mmr_root: string;
  cbor: string;
}

export interface LabelState {
  stream: string;
  stream_id: string;
  client_id: string;
  client_id_since: number;
  client_seq: number;
  prev_ack: number;
  last_stream_seq: number;
  last_mmr_root: string | null;
  mmr_peaks: string[];
  checkpoint: CheckpointRecord | null;
}

export interface HubState {
  hub_pk: string;
  profile_id: string;
  routing_key_hex: string;
  labels: Record<string, LabelState>;
  /**
   * KEX0.1: the keys this hub rotated away from, as accepted by cli/hub_rotation.ts, each trusted for a label's
   * RECEIPTs and CHECKPOINTs up to the upto_seq of that label's CHECKPOINT signed by both keys. Absent in state
   * files written before it existed.
   */
  previous_keys?: PreviousHubKey[];
}

export interface PreviousHubKey {
  hub_pk: string;
  /** Label hex → the highest stream_seq the key is trusted for. */
  upto_seq: Record<string, number>;
}

export interface ClientState {
  format: "veen-client-state";
  version: 1;
  pins: Record<string, { hub_pk: string; hub_id: string }>;
  hubs: Record<string, HubState>;
  rotations: { old_client_id: string; new_client_id: string; at: number }[];
  caps: Record<string, { hub_id: string; expires_at: number }>;
}

export function emptyState(): ClientState {
  return { format: "veen-client-state", version: 1, pins: {}, hubs: {}, rotations: [], caps: {} };
}

export function newLabelState(
  stream: string,
  streamId: Uint8Array,
  clientId: Uint8Array,
  nowSec: number,
): LabelState {
  return {
    stream,
    stream_id: toHex(streamId),
    client_id: toHex(clientId),
    client_id_since: nowSec,
    client_seq: 0,
    prev_ack: 0,
    last_stream_seq: 0,
    last_mmr_root: null,
    mmr_peaks: [],
    checkpoint: null,
  };
}

function damaged(detail: string): Error {
  return usageError(`state.json is damaged (${detail}); move it away and run "veen resync"`);
}

const isHex = (v: unknown, n: number): v is string =>
  typeof v === "string" && v.length === 2 * n && /^[0-9a-f]*$/.test(v);
const isUint = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;

function checkLabel(where: string, l: LabelState): void {
  if (typeof l !== "object" || l === null) throw damaged(`${where} is not an object`);
  if (typeof l.stream !== "string" || !isHex(l.stream_id, 32) || !isHex(l.client_id, 32)) {
    throw damaged(`${where} ids`);
  }
  for (const k of ["client_id_since", "client_seq", "prev_ack", "last_stream_seq"] as const) {
    if (!isUint(l[k])) throw damaged(`${where}.${k}`);
  }
  if (l.last_mmr_root !== null && !isHex(l.last_mmr_root, 32)) throw damaged(`${where}.last_mmr_root`);
  if (!Array.isArray(l.mmr_peaks) || !l.mmr_peaks.every((p) => isHex(p, 32))) {
    throw damaged(`${where}.mmr_peaks`);
  }
  if (l.mmr_peaks.length !== popcount(l.last_stream_seq)) throw damaged(`${where}.mmr_peaks count`);
  if ((l.last_stream_seq === 0) !== (l.last_mmr_root === null)) {
    throw damaged(`${where}.last_mmr_root presence`);
  }
  const c = l.checkpoint;
  if (
    c !== null &&
    (typeof c !== "object" || !isUint(c.upto_seq) || !isUint(c.epoch) || !isHex(c.mmr_root, 32) ||
      typeof c.cbor !== "string")
  ) {
    throw damaged(`${where}.checkpoint`);
  }
}

/** Parses and validates state.json text. */
export function decodeState(text: string): ClientState {
  let s: ClientState;
  try {
    s = JSON.parse(text) as ClientState;
  } catch {
    throw damaged("not JSON");
  }
  if (typeof s !== "object" || s === null || s.format !== "veen-client-state" || s.version !== 1) {
    throw damaged("format");
  }
  if (
    typeof s.pins !== "object" || typeof s.hubs !== "object" || !Array.isArray(s.rotations) ||
    typeof s.caps !== "object"
  ) {
    throw damaged("sections");
  }
  for (const [addr, p] of Object.entries(s.pins)) {
    if (!isHex(p?.hub_pk, 32) || !isHex(p?.hub_id, 32)) throw damaged(`pin for ${addr}`);
  }
  for (const [hubId, h] of Object.entries(s.hubs)) {
    if (
      !isHex(hubId, 32) || !isHex(h?.hub_pk, 32) || !isHex(h.profile_id, 32) ||
      typeof h.routing_key_hex !== "string"
    ) {
      throw damaged(`hub ${hubId}`);
    }
    if (typeof h.labels !== "object" || h.labels === null) throw damaged(`hub ${hubId} labels`);
    const prev = h.previous_keys;
    if (
      prev !== undefined &&
      (!Array.isArray(prev) ||
        !prev.every((p) =>
          isHex(p?.hub_pk, 32) && typeof p.upto_seq === "object" && p.upto_seq !== null &&
          Object.entries(p.upto_seq).every(([l, n]) => isHex(l, 32) && Number.isSafeInteger(n) && n >= 0)
        ))
    ) {
      throw damaged(`hub ${hubId} previous_keys`);
    }
    for (const [label, l] of Object.entries(h.labels)) {
      if (!isHex(label, 32)) throw damaged(`label ${label}`);
      checkLabel(`label ${label.slice(0, 16)}`, l);
    }
  }
  return s;
}

/** Canonical text: fixed key order as built, two-space indent, trailing newline. */
export function encodeState(s: ClientState): string {
  return JSON.stringify(s, null, 2) + "\n";
}

/** Reads `<dir>/state.json`; a missing file is an empty state (for example after it was deleted). */
export async function readState(dir: string): Promise<ClientState> {
  let text: string;
  try {
    text = await Deno.readTextFile(`${dir}/${STATE_FILE}`);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return emptyState();
    throw usageError(`Cannot read ${dir}/${STATE_FILE}: ${e instanceof Error ? e.message : e}`);
  }
  return decodeState(text);
}

export async function writeState(dir: string, s: ClientState): Promise<void> {
  await writeFileAtomic(`${dir}/${STATE_FILE}`, encodeState(s), 0o600);
}

/** Runs `fn` holding an exclusive advisory lock on `<dir>/state.lock` (one writer per client directory). */
export async function withStateLock<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  let f: Deno.FsFile;
  try {
    f = await Deno.open(`${dir}/${LOCK_FILE}`, { read: true, write: true, create: true, mode: 0o600 });
  } catch (e) {
    throw usageError(`Cannot open ${dir}/${LOCK_FILE}: ${e instanceof Error ? e.message : e}`);
  }
  try {
    await f.lock(true);
    return await fn();
  } finally {
    try {
      await f.unlock();
    } catch {
      // closing releases the lock anyway
    }
    f.close();
  }
}

/** The label entry under `hubId`, if any. */
export function findLabel(s: ClientState, hubId: Uint8Array, label: Uint8Array): LabelState | undefined {
  return s.hubs[toHex(hubId)]?.labels[toHex(label)];
}

/** The stream names of every label the client has sent on or read under `hubId` (its label entries), sorted. */
export function knownStreams(s: ClientState, hubId: Uint8Array): string[] {
  return [...new Set(Object.values(s.hubs[toHex(hubId)]?.labels ?? {}).map((l) => l.stream))].sort();
}

/** Stores a label entry; the hub entry must exist (created when the hub key is pinned). */
export function putLabel(s: ClientState, hubId: Uint8Array, label: Uint8Array, l: LabelState): void {
  const h = s.hubs[toHex(hubId)];
  if (h === undefined) throw new Error("putLabel: hub is not in state");
  h.labels[toHex(label)] = l;
}

/** The MMR view stored in a label entry. */
export function viewOf(l: LabelState | undefined): MmrAccumulator {
  if (l === undefined) return new MmrAccumulator();
  return new MmrAccumulator(l.last_stream_seq, l.mmr_peaks.map((p) => fromHex(p, 32)));
}

/** Writes an MMR view into a label entry (last_stream_seq, peaks, root). */
export function setView(l: LabelState, view: MmrAccumulator): void {
  l.last_stream_seq = view.size;
  l.mmr_peaks = view.peaks().map(toHex);
  const r = view.root();
  l.last_mmr_root = r === undefined ? null : toHex(r);
}

/**
 * The label entry for `target` under `hubId`, created when missing (and stored in `s`). When client_id has rotated
 * since the entry was written, its client_seq restarts at 0 for the new client_id (I9 is per (label, client_id)).
 */
export function labelStateFor(
  s: ClientState,
  hubId: Uint8Array,
  target: { stream: string; streamId: Uint8Array; label: Uint8Array },
  clientId: Uint8Array,
  nowSec: number,
): LabelState {
  let l = findLabel(s, hubId, target.label);
  if (l === undefined) {
    l = newLabelState(target.stream, target.streamId, clientId, nowSec);
    putLabel(s, hubId, target.label, l);
  } else if (l.client_id !== toHex(clientId)) {
    l.client_id = toHex(clientId);
    l.client_id_since = nowSec;
    l.client_seq = 0;
  }
  return l;
}

/** The stored view, refusing one whose stored root is not the root of its stored peaks (E.SEQ). */
export function checkedViewOf(l: LabelState | undefined): MmrAccumulator {
  const v = viewOf(l);
  if (!storedRootMatches(v, l?.last_mmr_root ?? null)) {
    throw new VeenError(
      "E.SEQ",
      'Local state is inconsistent: the stored mmr_root is not the root of the stored peaks; run "veen resync"',
    );
  }
  return v;
}
