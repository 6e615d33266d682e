/**
 * The map state classes of `snapshot verify` and `op state-checkpoint` (spec-3 §7.3-7.4; overlays/map_state.ts):
 * "counter.map" and "configuration.map" are the crdt.gcnt.v1 and crdt.lww.v1 folds of the stream up to
 * upto_stream_seq, read from their block summaries (cli/block_summaries.ts): a warm read merges O(log n) stored
 * summaries and fetches fewer than C items, whatever upto_stream_seq.
 */
import { type MapState, stateHash } from "../overlays/mod.ts";
import type { CommandContext } from "./context.ts";
import { readFold } from "./commands/crdt.ts";

/** `state_hash` of map class `cls` (`m`) over stream items 1..`upto` of `--stream` (at most the hub's last). */
export async function mapStateHash(
  ctx: CommandContext,
  cls: string,
  m: MapState<unknown>,
  upto: number,
): Promise<Uint8Array> {
  const { cursor } = await readFold(ctx, m.fold);
  return stateHash(cls, m.serialize(await cursor.range(0, Math.min(upto, cursor.view.size))));
}
