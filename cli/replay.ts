/**
 * Verified replay of a stream range (SDR0 §3.2.5 "Replay API", invariants I1 and I2; 001 L905-914, L934-942):
 * items `from..to` (to = the hub's head, or the latest CHECKPOINT's upto_seq when that is further, when absent), in
 * order, each verified (hub_sig, MSG.sig, leaf binding, the inclusion proof against its RECEIPT root with
 * `withProof`) and chained from a verified view at `from - 1` so that every RECEIPT root is the root of the items
 * before it (I3). At the CHECKPOINT's upto_seq, the replayed root must be its mmr_root. A range the hub does not
 * serve in full is an error, never a shorter answer: E.NOT_FOUND when `to` is beyond what the hub holds, E.SEQ when
 * the hub withheld items it holds or signed a CHECKPOINT for.
 */
import { bytesEqual, type Checkpoint, MmrAccumulator, VeenError } from "../core/mod.ts";
import { appendChecked, checkItem, checkItemProof } from "./client_view.ts";
import type { StreamItem } from "./http_client.ts";
import { type HubSession, itemContext } from "./hub_session.ts";
import { fetchItems, jumpView } from "./view_sync.ts";

export interface ReplayOptions {
  from: number;
  to?: number;
  withProof: boolean;
  /** A verified CHECKPOINT of the label: the replay's root at its upto_seq must be its mmr_root (I2). */
  checkpoint?: Checkpoint;
}

/** The verified items of `label` in the range (see the module comment), in stream order. */
export async function* replayRange(
  session: HubSession,
  label: Uint8Array,
  o: ReplayOptions,
): AsyncGenerator<StreamItem> {
  if (o.from < 1 || (o.to !== undefined && o.to < o.from)) {
    throw new VeenError("E.SEQ", `Replay range ${o.from}..${o.to} is empty or starts before stream_seq 1`);
  }
  const http = session.http;
  const ictx = itemContext(session, label);
  const head = await http.labelSize(label);
  const cpSeq = o.checkpoint?.uptoSeq ?? 0;
  const want = o.to ?? Math.max(head, cpSeq);
  if (want < o.from) return;
  if (want > head) {
    throw new VeenError(
      want > cpSeq ? "E.NOT_FOUND" : "E.SEQ",
      want > cpSeq
        ? `The hub holds stream_seq 1..${head}; the replay asks for ${o.from}..${want}`
        : `The hub reports ${head} items but signed a CHECKPOINT up to ${cpSeq} (withheld items, I2)`,
    );
  }
  const view = o.from > 1
    ? await jumpView(http, ictx, new MmrAccumulator(), o.from - 1)
    : new MmrAccumulator();
  for await (const item of fetchItems(http, label, o.from, { to: want, withProof: o.withProof })) {
    const r = item.receipt;
    const leaf = checkItem(r, item.msg, ictx);
    if (item.proof !== undefined) checkItemProof(item.proof, leaf, r);
    appendChecked(view, r.streamSeq, leaf, r.mmrRoot);
    if (
      o.checkpoint !== undefined && r.streamSeq === cpSeq && !bytesEqual(view.root()!, o.checkpoint.mmrRoot)
    ) {
      throw new VeenError(
        "E.SIG",
        `The replayed root at stream_seq ${cpSeq} is not the CHECKPOINT's mmr_root (I2)`,
      );
    }
    yield item;
  }
  if (view.size < want) {
    throw new VeenError(
      "E.SEQ",
      `The hub served items only up to stream_seq ${view.size} of the range ${o.from}..${want} (withheld items, I2)`,
    );
  }
}
