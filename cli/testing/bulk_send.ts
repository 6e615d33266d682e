/**
 * Test helper: sends many encoded overlay bodies (bytes the CLI's JSON bodies cannot spell, e.g. crdt.gcnt.v1's
 * bstr shard) as the client in `dir`, sealed to itself, through the batching sender as `veen send --batch` does,
 * saving the client's state (client_seq, view) so later CLI commands of that client go on from there.
 */
import type { PayloadHdr } from "../../core/mod.ts";
import { BatchSender } from "../batch_sender.ts";
import { checkedViewOf, labelStateFor, readState, withStateLock, writeState } from "../client_state.ts";
import { connectHub, streamTarget } from "../hub_session.ts";
import { readKeystore } from "../keystore.ts";

/** Sends `bodies` in order on `stream` of hub `hub` (URL or data dir); returns the stream_seq of the first. */
export async function sendBodies(
  hub: string,
  dir: string,
  stream: string,
  bodies: readonly { hdr: PayloadHdr; body: Uint8Array }[],
): Promise<number> {
  const { keys } = await readKeystore(dir, undefined);
  return await withStateLock(dir, async () => {
    const state = await readState(dir);
    const session = await connectHub({ hub, env: () => undefined, timeoutMs: 30_000, state });
    const target = streamTarget(session, stream);
    const ls = labelStateFor(state, session.hubId, target, keys.client.public, Math.floor(Date.now() / 1000));
    const sender = new BatchSender(session, target, keys, ls, checkedViewOf(ls), {
      recipientPk: keys.prekey.public,
      onStateAdvanced: () => writeState(dir, state),
    });
    const sum = await sender.send(bodies);
    await writeState(dir, state);
    if (sum.accepted !== bodies.length || sum.firstStreamSeq === null) {
      throw new Error(
        `sendBodies: ${sum.accepted} of ${bodies.length} accepted (${JSON.stringify(sum.refused)})`,
      );
    }
    return sum.firstStreamSeq;
  });
}
