/**
 * `veen bridge import` (AGB0 §4.5; docs/airgap-bridge.md): verifies the whole bundle first (overlays
 * verifyBundle: bundle_id, events digest, export checkpoint signature and trust, every RECEIPT, MSG and proof, no
 * gap), and only then re-commits each event not imported before in the target stream (default
 * `import/<source stream>`) as a `bridge.import.v1` holding the origin MSG unchanged, its origin_receipt,
 * import_time and bridge_id. The target hub assigns its own stream_seqs (never the source's). A bundle that fails
 * verification, or an event too large for the target hub, imports nothing: the failure (bundle_id, reason,
 * position) is recorded on `bridge/offline/log` and the command exits 4. Events already imported (same source hub,
 * label and seq) are counted as duplicates and not written again, so a re-import adds nothing; an import
 * interrupted by the target hub resumes where it stopped when run again.
 */
import { H, hubIdFor, streamIdFor, toHex, VeenError } from "../core/mod.ts";
import {
  BRIDGE_IMPORT,
  BRIDGE_OFFLINE_LOG,
  type BundleFailure,
  chunkBytes,
  type VerifiedBundle,
  verifyBundle,
} from "../overlays/mod.ts";
import { clientDir, loadKeys, nowSec, pinnedSession, readInputFile, sendInOrderAndSave } from "../cli/mod.ts";
import { checkFailure, type Command, type CommandContext, parseHex32 } from "../cmd/mod.ts";
import { appendRecord, bridgeAuthRef, importedEvents, OFFLINE_LOG, originKey } from "./airgap_log.ts";
import { AIRGAP_COMMON_FLAGS, AIRGAP_WRITE_FLAGS } from "./airgap_flags.ts";

/** Bytes a MSG adds around its body, at most (fields, signature, HPKE framing, header), before padding. */
const MSG_OVERHEAD = 512;

interface ImportRun {
  ctx: CommandContext;
  dir: string;
  bundleHash: Uint8Array;
  operator: string;
}

/** Records a failed import on bridge/offline/log (best effort: a hub that is down cannot take it) and fails. */
async function failImport(
  r: ImportRun,
  f: BundleFailure,
  target: string | undefined,
  imported: number,
  duplicates: number,
  cause?: unknown,
): Promise<never> {
  let logged: number | string;
  try {
    logged = await appendRecord(r.ctx, r.dir, OFFLINE_LOG, BRIDGE_OFFLINE_LOG, {
      bundle_id: f.bundleId,
      bundle_hash: r.bundleHash,
      target_stream_id: target === undefined ? new Uint8Array(32) : streamIdFor(target),
      event_count: imported,
      verification_result: "failure",
      error_code: f.code,
      reason: f.reason.slice(0, 1024),
      position: f.position,
      operator: r.operator,
    });
  } catch (e) {
    logged = `not recorded: ${e instanceof Error ? e.message : String(e)}`;
  }
  const json = {
    bundle_id: f.bundleId === undefined ? null : toHex(f.bundleId),
    imported,
    duplicates,
    position: f.position ?? null,
    audit_stream_seq: logged,
  };
  if (cause !== undefined && !(cause instanceof VeenError)) throw cause;
  throw checkFailure(new VeenError(f.code, f.reason), {
    json,
    lines: [`bundle_id: ${json.bundle_id ?? "unknown"}`, `imported: ${imported}`, `audit: ${logged}`],
  });
}

export const bridgeImport: Command = {
  path: ["bridge", "import"],
  summary: "AGB0: verify a bundle, then re-commit its events in the target zone (nothing on any failure)",
  usage:
    "veen bridge import --hub H --client DIR --bundle FILE [--to-stream NAME] [--source-hub-key HEX32...] " +
    "[--bridge-id TEXT] [--operator TEXT] [--cap FILE]",
  details:
    "Verifies everything first; any failure imports nothing, is recorded on bridge/offline/log and exits " +
    "4. Events already\nimported are duplicates, not written again. Prints {bundle_id, imported, duplicates}.",
  flags: [
    ...AIRGAP_COMMON_FLAGS,
    ...AIRGAP_WRITE_FLAGS,
    { name: "bundle", metavar: "FILE", required: true, help: "the bundle file (bridge export --out)" },
    { name: "to-stream", metavar: "NAME", help: "target stream (default import/<source stream>)" },
    {
      name: "source-hub-key",
      metavar: "HEX32",
      multiple: true,
      help: "accept bundles of these source hubs only",
    },
    { name: "bridge-id", metavar: "TEXT", help: "bridge_id written with each event (default agb0)" },
  ],
  async run(ctx) {
    const dir = clientDir(ctx);
    const bytes = await readInputFile(ctx.flags.req("bundle"), "bundle");
    const run: ImportRun = {
      ctx,
      dir,
      bundleHash: H(bytes),
      operator: ctx.flags.str("operator") ?? "veen-bridge",
    };
    const trusted = ctx.flags.list("source-hub-key").map((k) => parseHex32(k, "--source-hub-key"));
    const session = await pinnedSession(ctx, dir);
    const v = verifyBundle(bytes, trusted.length === 0 ? {} : { trustedHubKeys: trusted });
    const toFlag = ctx.flags.str("to-stream");
    if (!v.ok) return await failImport(run, v, toFlag, 0, 0);
    const b: VerifiedBundle = v.bundle;
    const target = toFlag ?? `import/${b.header.export_stream as string}`;
    const sourceHubId = hubIdFor(b.exportCheckpoint.hubPk);
    const existing = await importedEvents(ctx, session, dir, target);
    const bridgeId = ctx.flags.str("bridge-id") ?? "agb0";
    const importTime = nowSec(ctx);
    const maxMsg = session.info.raw.max_msg_bytes;
    const todo: { i: number; body: Uint8Array }[] = [];
    let duplicates = 0;
    for (let i = 0; i < b.events.length; i++) {
      const e = b.events[i]!;
      if (existing.byOrigin.has(originKey(sourceHubId, e.receipt.label, e.receipt.streamSeq))) {
        duplicates++;
        continue;
      }
      const body = BRIDGE_IMPORT.encode({
        bundle_id: b.bundleId,
        bridge_id: bridgeId,
        source_hub_id: sourceHubId,
        origin_label: e.receipt.label,
        origin_seq: e.receipt.streamSeq,
        origin_receipt: e.receiptBytes,
        origin_msg: chunkBytes(e.msgBytes),
        import_time: importTime,
      });
      if (typeof maxMsg === "number" && body.length + MSG_OVERHEAD + session.profile.padBlock > maxMsg) {
        return await failImport(
          run,
          {
            code: "E.SIZE",
            reason: `Event ${i} needs about ${body.length + MSG_OVERHEAD} bytes, beyond the target hub's ` +
              `max_msg_bytes ${maxMsg}`,
            position: i,
            bundleId: b.bundleId,
          },
          target,
          0,
          duplicates,
        );
      }
      todo.push({ i, body });
    }
    const keys = await loadKeys(ctx, dir);
    const authRef = await bridgeAuthRef(ctx);
    const seqs: number[] = [];
    const accepted = new Set<number>();
    try {
      await sendInOrderAndSave(
        ctx,
        dir,
        keys,
        target,
        keys.prekey.public,
        todo.map((t, k) => ({
          body: { hdr: { schema: BRIDGE_IMPORT.schemaId }, body: t.body, ...authRef },
          done: (seq: number) => {
            seqs.push(seq);
            accepted.add(k);
          },
        })),
      );
    } catch (e) {
      const detail = e instanceof Error ? e.message : String(e);
      // The first event not committed: in batches, events after a refused one may have been committed already.
      const at = todo.find((_, k) => !accepted.has(k))?.i ?? todo.length;
      return await failImport(
        run,
        {
          code: e instanceof VeenError ? e.code : "E.UNAVAILABLE",
          reason:
            `Import stopped at event ${at} after ${seqs.length} imported (run it again to resume): ${detail}`,
          position: at,
          bundleId: b.bundleId,
        },
        target,
        seqs.length,
        duplicates,
        e,
      );
    }
    seqs.sort((x, y) => x - y);
    const auditSeq = await appendRecord(ctx, dir, OFFLINE_LOG, BRIDGE_OFFLINE_LOG, {
      bundle_id: b.bundleId,
      bundle_hash: run.bundleHash,
      target_stream_id: streamIdFor(target),
      target_seq_from: seqs[0],
      target_seq_to: seqs.at(-1),
      event_count: seqs.length,
      verification_result: "success",
      operator: run.operator,
    });
    const json = {
      bundle_id: toHex(b.bundleId),
      imported: seqs.length,
      duplicates,
      target_stream: target,
      target_seq_from: seqs[0] ?? null,
      target_seq_to: seqs.at(-1) ?? null,
      source_hub_id: toHex(sourceHubId),
      audit_stream_seq: auditSeq,
    };
    ctx.out.result(json, [
      `bundle_id: ${json.bundle_id}`,
      `imported: ${json.imported}`,
      `duplicates: ${duplicates}`,
      `target_stream: ${target}`,
    ]);
    return 0;
  },
};
