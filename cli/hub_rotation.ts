/**
 * The client side of hub key rotation (spec 004 KEX0.1): a client that pinned a hub key accepts the hub's new key
 * only through a CHECKPOINT of a label it follows whose hub_sig verifies under the new key and which carries valid
 * witness signatures of both the pinned (old) and the new key. Then the pin moves to the new key and the label
 * state kept under the old hub_id moves to the new one; without such a CHECKPOINT the key change stays E.SIG.
 *
 * The old key stays trusted, bounded: it goes to the hub entry's `previous_keys` with, for each label the client
 * follows whose latest CHECKPOINT is such a rotation CHECKPOINT, that CHECKPOINT's upto_seq. RECEIPTs and
 * CHECKPOINTs of that label at or below it may be signed by the old key (items written before the rotation that
 * the client had not fetched yet); anything later, or of another label, must be the new key's. A thief of the old
 * key can therefore not extend any label beyond what the new key has signed.
 */
import { fromHex, hasWitness, hubIdFor, toHex, verifyCheckpointSig } from "../core/mod.ts";
import type { ClientState } from "./client_state.ts";
import type { HubHttp } from "./http_client.ts";

/** Labels of the old hub entry whose latest CHECKPOINT is looked at, at most, before one is a rotation CHECKPOINT. */
const MAX_LABELS_TRIED = 8;
/** Labels whose rotation CHECKPOINT bounds the old key's trust, at most (one request each). */
const MAX_LABELS_BOUND = 64;

/**
 * Moves `state`'s pin of `addressKey` from its pinned key to `newPk` when the hub shows a rotation CHECKPOINT signed
 * by both; returns the upto_seq and label of that CHECKPOINT, or undefined (state unchanged).
 */
export async function acceptRotation(
  http: HubHttp,
  state: ClientState,
  addressKey: string,
  newPk: Uint8Array,
): Promise<{ label: string; uptoSeq: number } | undefined> {
  const pin = state.pins[addressKey];
  const old = pin === undefined ? undefined : state.hubs[pin.hub_id];
  if (pin === undefined || old === undefined) return undefined;
  const oldPk = fromHex(pin.hub_pk, 32, "pinned hub key");
  const upto: Record<string, number> = {};
  let found: { label: string; uptoSeq: number } | undefined;
  for (const [i, label] of Object.keys(old.labels).slice(0, MAX_LABELS_BOUND).entries()) {
    if (found === undefined && i >= MAX_LABELS_TRIED) break;
    const got = await http.checkpointLatest(fromHex(label, 32, "label"));
    const c = got?.checkpoint;
    if (
      c === undefined || toHex(c.labelCurr) !== label || !verifyCheckpointSig(c, newPk) ||
      !hasWitness(c, oldPk) || !hasWitness(c, newPk)
    ) {
      continue;
    }
    upto[label] = c.uptoSeq;
    found ??= { label, uptoSeq: c.uptoSeq };
  }
  if (found === undefined) return undefined;
  const newId = toHex(hubIdFor(newPk));
  delete state.hubs[pin.hub_id];
  state.hubs[newId] = {
    ...old,
    hub_pk: toHex(newPk),
    previous_keys: [...(old.previous_keys ?? []), { hub_pk: pin.hub_pk, upto_seq: upto }],
  };
  state.pins[addressKey] = { hub_pk: toHex(newPk), hub_id: newId };
  return found;
}
