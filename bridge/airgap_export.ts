/**
 * `veen bridge export` (AGB0 §4.4, §4.9; docs/airgap-bridge.md): reads `--from..--to` of a stream in the source
 * zone, every item verified and chained (cli replayRange), takes an export checkpoint covering `--to` (asked for
 * now as an admin request, or `--export-checkpoint FILE`), adds for each event an inclusion proof at the
 * checkpoint's last_seq (checked here), writes the bundle, and records it on `bridge/online/log`.
 */
import {
  bytesEqual,
  decodeExportCheckpoint,
  encodeMmrProof,
  type ExportCheckpoint,
  exportCheckpointId,
  exportCheckpointStream,
  H,
  hubIdFor,
  toHex,
  VeenError,
  verifyExportCheckpointSig,
  verifyInclusion,
} from "../core/mod.ts";
import { BRIDGE_ONLINE_LOG, type BundleEvent, encodeBundle } from "../overlays/mod.ts";
import {
  checkpointsNow,
  clientDir,
  loadKeys,
  nowSec,
  pinnedSession,
  readCapAuthRef,
  readInputFile,
  replayRange,
  requestSignerDir,
  streamTarget,
  writeOutputFile,
} from "../cli/mod.ts";
import { type Command, type CommandContext, usageError } from "../cmd/mod.ts";
import { appendRecord, ONLINE_LOG } from "./airgap_log.ts";
import { AIRGAP_COMMON_FLAGS, AIRGAP_WRITE_FLAGS } from "./airgap_flags.ts";

async function exportCheckpointFor(
  ctx: CommandContext,
  session: Awaited<ReturnType<typeof pinnedSession>>,
  label: Uint8Array,
): Promise<{ cp: ExportCheckpoint; bytes: Uint8Array }> {
  const file = ctx.flags.str("export-checkpoint");
  if (file !== undefined) {
    const bytes = await readInputFile(file, "export checkpoint");
    const cp = decodeExportCheckpoint(bytes);
    if (!bytesEqual(cp.hubPk, session.hubPk) || !verifyExportCheckpointSig(cp)) {
      throw new VeenError("E.SIG", "The export checkpoint is not signed by this hub's key");
    }
    return { cp, bytes };
  }
  const signer = requestSignerDir(ctx);
  const keys = await loadKeys(ctx, signer);
  const capPath = ctx.flags.str(signer === clientDir(ctx) ? "cap" : "admin-cap");
  const ref = capPath === undefined ? undefined : await readCapAuthRef(capPath);
  const got = await checkpointsNow(session, keys, [label], nowSec(ctx), ref);
  return { cp: got.exportCheckpoint, bytes: got.exportBytes };
}

export const bridgeExport: Command = {
  path: ["bridge", "export"],
  summary: "AGB0: write a verified bundle of a stream's range (export checkpoint, receipts, proofs)",
  usage: "veen bridge export --hub H --client DIR --stream NAME [--from N] [--to N] --out FILE " +
    "[--export-checkpoint FILE | --admin DIR [--admin-cap FILE]] [--cap FILE] [--operator TEXT]",
  details:
    "The export checkpoint is asked for now, signed by --admin (else $VEEN_ADMIN, else --client; see " +
    "`veen hub checkpoint --now`),\nunless --export-checkpoint gives one. --to defaults to its last_seq. Every " +
    "item is verified before it is written;\nthe bundle is recorded on bridge/online/log. Prints {bundle_id, events}.",
  flags: [
    ...AIRGAP_COMMON_FLAGS,
    ...AIRGAP_WRITE_FLAGS,
    {
      name: "stream",
      metavar: "NAME",
      required: true,
      help: "the stream to export (e.g. export/zone1/audit)",
    },
    { name: "from", metavar: "N", help: "first stream_seq (default 1)" },
    { name: "to", metavar: "N", help: "last stream_seq (default: the export checkpoint's last_seq)" },
    { name: "out", metavar: "FILE", required: true, help: "the bundle file to write" },
    {
      name: "export-checkpoint",
      metavar: "FILE",
      help: "use this CBOR(export checkpoint) (hub checkpoint --now --export-out)",
    },
    { name: "admin", metavar: "DIR", help: "the admin client that signs the checkpoint request" },
    { name: "admin-cap", metavar: "FILE", help: "the --admin client's cap_token, rooted in an admin key" },
  ],
  async run(ctx) {
    const dir = clientDir(ctx);
    const stream = ctx.flags.req("stream");
    const from = ctx.flags.int("from", { min: 1 }) ?? 1;
    const toFlag = ctx.flags.int("to", { min: 1 });
    if (toFlag !== undefined && toFlag < from) throw usageError("--to must not be below --from");
    const session = await pinnedSession(ctx, dir);
    const target = streamTarget(session, stream);
    const { cp, bytes: cpBytes } = await exportCheckpointFor(ctx, session, target.label);
    const covered = exportCheckpointStream(cp, target.label);
    if (covered === undefined) {
      throw new VeenError("E.NOT_FOUND", `The export checkpoint does not cover ${stream}`);
    }
    const to = toFlag ?? covered.lastSeq;
    if (to > covered.lastSeq) {
      throw new VeenError(
        "E.NOT_FOUND",
        `The export checkpoint covers ${stream} up to stream_seq ${covered.lastSeq}, not ${to}`,
      );
    }
    if (to < from) throw new VeenError("E.NOT_FOUND", `${stream} has no entries from stream_seq ${from}`);
    const events: BundleEvent[] = [];
    let t0 = Number.MAX_SAFE_INTEGER;
    let t1 = 0;
    for await (const item of replayRange(session, target.label, { from, to, withProof: false })) {
      const r = item.receipt;
      const p = await session.http.proof(target.label, r.streamSeq, covered.lastSeq);
      if (
        !bytesEqual(p.proof.leafHash, r.leafHash) ||
        !verifyInclusion(p.proof, covered.mmrRoot, { seq: r.streamSeq, size: covered.lastSeq })
      ) {
        throw new VeenError(
          "E.SIG",
          `The hub's proof of stream_seq ${r.streamSeq} does not lead to the export checkpoint's mmr_root (I2)`,
        );
      }
      events.push({
        msgBytes: item.msgBytes,
        receiptBytes: item.receiptBytes,
        proofBytes: encodeMmrProof(p.proof),
      });
      t0 = Math.min(t0, r.hubTs);
      t1 = Math.max(t1, r.hubTs);
    }
    const { bytes, bundleId } = encodeBundle({
      header: {
        source_hub_id: hubIdFor(cp.hubPk),
        source_profile_id: cp.profileId,
        export_stream: stream,
        export_stream_id: target.streamId,
        export_label: target.label,
        export_seq_from: from,
        export_seq_to: to,
        export_time_from: t0,
        export_time_to: t1,
        created_at: nowSec(ctx),
      },
      exportCheckpoint: cpBytes,
      events,
    });
    const out = ctx.flags.req("out");
    await writeOutputFile(out, bytes, "bundle");
    const bundleHash = H(bytes);
    const cpId = exportCheckpointId(cp);
    const auditSeq = await appendRecord(ctx, dir, ONLINE_LOG, BRIDGE_ONLINE_LOG, {
      bundle_id: bundleId,
      bundle_hash: bundleHash,
      export_stream_id: target.streamId,
      export_seq_from: from,
      export_seq_to: to,
      event_count: events.length,
      export_checkpoint_id: cpId,
      operator: ctx.flags.str("operator") ?? "veen-bridge",
    });
    const json = {
      bundle_id: toHex(bundleId),
      events: events.length,
      stream,
      export_seq_from: from,
      export_seq_to: to,
      bundle_hash: toHex(bundleHash),
      export_checkpoint_id: toHex(cpId),
      out,
      audit_stream_seq: auditSeq,
    };
    ctx.out.result(json, [`bundle_id: ${json.bundle_id}`, `events: ${json.events}`, `out: ${out}`]);
    return 0;
  },
};
