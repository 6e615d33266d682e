/**
 * The client side of hub key rotation (spec 004 KEX0.1): a client that pinned a hub key accepts the hub's new key
 * only through a CHECKPOINT of a label it follows whose hub_sig verifies under the new key and which carries valid
 * witness signatures of both the pinned (old) and the new key. Then the pin moves to the new key and the label
 * state kept under the old hub_id moves to the new one; without such a CHECKPOINT the key change stays E.SIG.
 */
import { fromHex, hasWitness, hubIdFor, toHex, verifyCheckpointSig } from "../core/mod.ts";
import type { ClientState } from "./client_state.ts";
import type { HubHttp } from "./http_client.ts";

/** Labels of the old hub entry whose latest CHECKPOINT is looked at, at most. */
const MAX_LABELS_TRIED = 8;

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
  for (const label of Object.keys(old.labels).slice(0, MAX_LABELS_TRIED)) {
    const got = await http.checkpointLatest(fromHex(label, 32, "label"));
    const c = got?.checkpoint;
    if (
      c === undefined || toHex(c.labelCurr) !== label || !verifyCheckpointSig(c, newPk) ||
      !hasWitness(c, oldPk) || !hasWitness(c, newPk)
    ) {
      continue;
    }
    const newId = toHex(hubIdFor(newPk));
    delete state.hubs[pin.hub_id];
    state.hubs[newId] = { ...old, hub_pk: toHex(newPk) };
    state.pins[addressKey] = { hub_pk: toHex(newPk), hub_id: newId };
    return { label, uptoSeq: c.uptoSeq };
  }
  return undefined;
}
