/**
 * `veen resync` (CLI-GOALS-1 §9.2, RESYNC0.2). From the stored view (size S, after checking that the hub's signed
 * RECEIPT at S carries the stored root), replays `/stream?from=S+1&with_proof=1`, verifying and appending every
 * item. On divergence (roots or proofs disagree, or the hub lacks item S) it fetches checkpoint_latest, rebuilds
 * the peaks from the CHECKPOINT and replays from there. With no local state it replays from 1, which also recovers
 * client_seq from the client's own MSGs. The final view must extend the CHECKPOINT stored by an earlier resync (else
 * the hub equivocated: E.SEQ, nothing saved) and agree with the latest CHECKPOINT, which is then stored; a CHECKPOINT
 * ahead of the replayed items has those items fetched and verified first, so the stored one never exceeds the view.
 */
import { bytesEqual, fromHex, MmrAccumulator, toHex, VeenError } from "../../core/mod.ts";
import { setView, viewOf, withStateLock, writeState } from "../client_state.ts";
import {
  checkCheckpoint,
  checkpointKey,
  checkReceipt,
  type ItemContext,
  receiptKey,
  storedRootMatches,
} from "../client_view.ts";
import {
  CLIENT_FLAG,
  clientDir,
  type Command,
  HUB_FLAG,
  HUB_KEY_FLAG,
  openLabel,
  STREAM_FLAG,
} from "../context.ts";
import type { StreamItem } from "../http_client.ts";
import { readIdentityCard } from "../identity_card.ts";
import { heldCheckpointEquivocation } from "../equivocation_report.ts";
import { checkWitnesses, WITNESS_FLAGS, witnessRequirement } from "../witness_requirement.ts";
import { applyItem, extendView, fetchItems, rebuildFromCheckpoint, viewAgrees } from "../view_sync.ts";
import { itemContext } from "../hub_session.ts";

export const resync: Command = {
  path: ["resync"],
  summary: "rebuild and verify the local view of a stream from the hub",
  usage:
    "veen resync --hub H --client DIR --stream NAME [--from-scratch] [--witness-key HEX32... --require-witnesses K]",
  flags: [
    HUB_FLAG,
    CLIENT_FLAG,
    STREAM_FLAG,
    {
      name: "from-scratch",
      arity: 0,
      help: "ignore the stored view and replay from 1",
    },
    HUB_KEY_FLAG,
    ...WITNESS_FLAGS,
  ],
  async run(ctx) {
    const witnesses = witnessRequirement(ctx);
    const dir = clientDir(ctx);
    const me = (await readIdentityCard(dir)).clientId;
    return await withStateLock(dir, async () => {
      const { state, session, target, ls } = await openLabel(ctx, dir, ctx.flags.req("stream"), me);
      const ictx: ItemContext = itemContext(session, target.label);
      const http = session.http;
      let own = ls.client_seq;

      const noteOwn = (item: StreamItem) => {
        if (bytesEqual(item.msg.clientId, me)) own = Math.max(own, item.msg.clientSeq);
      };
      const replay = async (v: MmrAccumulator) => {
        let n = 0;
        for await (const item of fetchItems(http, target.label, v.size + 1, { withProof: true })) {
          applyItem(v, item, ictx);
          noteOwn(item);
          n++;
        }
        return { view: v, replayed: n };
      };

      let divergence: string | undefined;
      let start = ctx.flags.bool("from-scratch") ? new MmrAccumulator() : viewOf(ls);
      const stored = ls.last_mmr_root;
      if (start.size > 0) {
        if (!storedRootMatches(start, stored)) {
          divergence = "the stored mmr_root is not the root of the stored peaks";
        } else {
          try {
            const { receipt } = await http.receipt(target.label, start.size);
            checkReceipt(receipt, receiptKey(receipt, ictx), target.label);
            if (receipt.streamSeq !== start.size || toHex(receipt.mmrRoot) !== stored) {
              divergence = `the hub's RECEIPT root at stream_seq ${start.size} is not the stored root`;
            }
          } catch (e) {
            if (!(e instanceof VeenError) || e.code !== "E.NOT_FOUND") throw e;
            divergence = `the hub has no item ${start.size}`;
          }
        }
      }
      let result: { view: MmrAccumulator; replayed: number } | undefined;
      if (divergence === undefined) {
        try {
          result = await replay(start);
        } catch (e) {
          if (!(e instanceof VeenError) || (e.code !== "E.SEQ" && e.code !== "E.SIG")) throw e;
          divergence = e.detail;
        }
      }
      const latest = await http.checkpointLatest(target.label);
      let rebuiltFrom: number | undefined;
      if (result === undefined) {
        ctx.out.warn(
          `divergence detected: ${divergence}; rebuilding from ${
            latest === undefined ? "stream_seq 1" : `CHECKPOINT upto_seq ${latest.checkpoint.uptoSeq}`
          }`,
        );
        start = latest === undefined
          ? new MmrAccumulator()
          : await rebuildFromCheckpoint(http, ictx, latest.checkpoint);
        rebuiltFrom = start.size;
        result = await replay(start);
        ls.prev_ack = Math.min(ls.prev_ack, result.view.size);
      }
      let view = result.view;
      // The CHECKPOINT verified by an earlier resync binds the hub whatever view was replayed or rebuilt.
      const earlier = ls.checkpoint;
      if (
        earlier !== null &&
        !(await viewAgrees(http, target.label, earlier.upto_seq, fromHex(earlier.mmr_root, 32), view))
      ) {
        const eq = await heldCheckpointEquivocation(http, session.hubPk, target.label, earlier, latest);
        throw new VeenError(
          "E.SEQ",
          `The hub's log of ${view.size} items does not extend the CHECKPOINT upto_seq ${earlier.upto_seq} verified earlier: the hub rewrote signed history${
            eq === undefined ? "" : `; ${eq}`
          }`,
        );
      }
      let cpLine = "checkpoint: none";
      if (latest !== undefined) {
        const cp = latest.checkpoint;
        // A CHECKPOINT is stored only inside the verified view: verify the items up to a signed one first
        // (a view rebuilt from it had its signature checked by rebuildFromCheckpoint).
        if (rebuiltFrom === undefined) checkCheckpoint(cp, checkpointKey(cp, ictx), ictx.label);
        checkWitnesses(cp, witnesses);
        if (cp.uptoSeq > view.size) {
          view = await extendView(http, ictx, view, cp.uptoSeq, {
            onItem: (item) => {
              noteOwn(item);
              result.replayed++;
            },
          });
        }
        if (!(await viewAgrees(http, target.label, cp.uptoSeq, cp.mmrRoot, view))) {
          throw new VeenError(
            "E.SEQ",
            `CHECKPOINT upto_seq ${cp.uptoSeq} is inconsistent with the replayed log`,
          );
        }
        ls.checkpoint = {
          upto_seq: cp.uptoSeq,
          epoch: cp.epoch,
          mmr_root: toHex(cp.mmrRoot),
          cbor: toHex(latest.bytes),
        };
        cpLine = `checkpoint: upto_seq ${cp.uptoSeq} verified`;
      }
      setView(ls, view);
      ls.client_seq = Math.max(ls.client_seq, own);
      await writeState(dir, state);
      const root = view.root();
      ctx.out.result(
        {
          stream: target.stream,
          label: toHex(target.label),
          last_stream_seq: view.size,
          last_mmr_root: root === undefined ? null : toHex(root),
          replayed: result.replayed,
          client_seq: ls.client_seq,
          checkpoint_upto_seq: latest?.checkpoint.uptoSeq ?? null,
          divergence: divergence ?? null,
          rebuilt_from: rebuiltFrom ?? null,
        },
        [
          `label: ${toHex(target.label)}`,
          `last_stream_seq: ${view.size}`,
          `last_mmr_root: ${root === undefined ? "-" : toHex(root)}`,
          `replayed: ${result.replayed}`,
          `client_seq: ${ls.client_seq}`,
          cpLine,
          ...(divergence === undefined ? [] : [`divergence: ${divergence}`, `rebuilt_from: ${rebuiltFrom}`]),
        ],
      );
      return 0;
    });
  },
};
