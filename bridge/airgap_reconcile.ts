/**
 * `veen bridge reconcile` (AGB0 §4.7, J1, J2; docs/airgap-bridge.md): for each bundle given, verifies it and looks
 * up every event among the imported events of its target stream (every item of that stream verified): matched
 * (imported exactly once, with the origin RECEIPT and MSG byte-identical to the bundle's), missing, duplicated
 * (imported more than once) or changed (imported with other bytes). Imported events of those streams that belong
 * to none of the bundles are listed as unmatched. Each bundle also lists the verification_result of its
 * bridge/offline/log records (`import_log`), so a bundle logged `success` with events missing (J2) shows. Machine-readable with --json; exit 4 when any bundle is invalid
 * or any event missing, duplicated or changed.
 */
import { bytesEqual, hubIdFor, toHex, VeenError } from "../core/mod.ts";
import { BRIDGE_OFFLINE_LOG, originMsgBytes, verifyBundle } from "../overlays/mod.ts";
import { clientDir, type HubSession, pinnedSession, readInputFile } from "../cli/mod.ts";
import { checkFailure, type Command, type CommandContext } from "../cmd/mod.ts";
import { importedEvents, OFFLINE_LOG, originKey, readRecords } from "./airgap_log.ts";
import { AIRGAP_COMMON_FLAGS } from "./airgap_flags.ts";

type Imports = Awaited<ReturnType<typeof importedEvents>>;

interface BundleReport {
  file: string;
  bundle_id: string | null;
  status: "complete" | "partial" | "missing" | "duplicated" | "changed" | "invalid";
  events?: number;
  matched?: number;
  missing?: number[];
  duplicated?: number[];
  changed?: number[];
  target_stream?: string;
  /** The verification_result of each bridge/offline/log record of this bundle, in stream order. */
  import_log?: string[];
  code?: string;
  reason?: string;
}

async function reconcileOne(
  ctx: CommandContext,
  session: HubSession,
  dir: string,
  file: string,
  streams: Map<string, Imports>,
  seen: Set<string>,
  log: Map<string, string[]>,
): Promise<BundleReport> {
  const v = verifyBundle(await readInputFile(file, "bundle"));
  if (!v.ok) {
    return {
      file,
      bundle_id: v.bundleId === undefined ? null : toHex(v.bundleId),
      status: "invalid",
      code: v.code,
      reason: v.reason,
    };
  }
  const b = v.bundle;
  const target = ctx.flags.str("to-stream") ?? `import/${b.header.export_stream as string}`;
  let imports = streams.get(target);
  if (imports === undefined) {
    imports = await importedEvents(ctx, session, dir, target);
    streams.set(target, imports);
  }
  const hubId = hubIdFor(b.exportCheckpoint.hubPk);
  const missing: number[] = [];
  const duplicated: number[] = [];
  const changed: number[] = [];
  let matched = 0;
  for (const e of b.events) {
    const key = originKey(hubId, e.receipt.label, e.receipt.streamSeq);
    seen.add(`${target}|${key}`);
    const found = imports.byOrigin.get(key) ?? [];
    const seq = e.receipt.streamSeq;
    if (found.length === 0) missing.push(seq);
    else if (found.length > 1) duplicated.push(seq);
    if (
      found.some((f) =>
        !bytesEqual(f.body.origin_receipt as Uint8Array, e.receiptBytes) ||
        !bytesEqual(originMsgBytes(f.body), e.msgBytes)
      )
    ) changed.push(seq);
    else if (found.length === 1) matched++;
  }
  const importLog = log.get(toHex(b.bundleId)) ?? [];
  const status = changed.length > 0
    ? "changed"
    : duplicated.length > 0
    ? "duplicated"
    : missing.length === b.events.length && missing.length > 0
    ? "missing"
    : missing.length > 0
    ? "partial"
    : "complete";
  return {
    file,
    bundle_id: toHex(b.bundleId),
    status,
    events: b.events.length,
    matched,
    missing,
    duplicated,
    changed,
    target_stream: target,
    import_log: importLog, // J2: a bundle logged "success" must be "complete"
  };
}

export const bridgeReconcile: Command = {
  path: ["bridge", "reconcile"],
  summary: "AGB0: report which bundle events are imported, missing, duplicated or changed in the target zone",
  usage: "veen bridge reconcile --hub H --client DIR --bundle FILE... [--to-stream NAME]",
  details: "Reads the target streams (verified) with the bridge's keys and compares them with the bundles. " +
    "Exit 4 when a bundle is\ninvalid or an event is missing, duplicated or changed.",
  flags: [
    ...AIRGAP_COMMON_FLAGS,
    { name: "bundle", metavar: "FILE", required: true, multiple: true, help: "a bundle file (repeatable)" },
    { name: "to-stream", metavar: "NAME", help: "target stream (default import/<source stream> per bundle)" },
  ],
  async run(ctx) {
    const dir = clientDir(ctx);
    const session = await pinnedSession(ctx, dir);
    const streams = new Map<string, Imports>();
    const seen = new Set<string>();
    const log = new Map<string, string[]>();
    for (const r of (await readRecords(ctx, session, dir, OFFLINE_LOG, BRIDGE_OFFLINE_LOG)).records) {
      if (!(r.body.bundle_id instanceof Uint8Array)) continue;
      const k = toHex(r.body.bundle_id);
      log.set(k, [...(log.get(k) ?? []), r.body.verification_result as string]);
    }
    const bundles: BundleReport[] = [];
    for (const f of ctx.flags.list("bundle")) {
      bundles.push(await reconcileOne(ctx, session, dir, f, streams, seen, log));
    }
    const unmatched: { target_stream: string; stream_seq: number }[] = [];
    for (const [target, imports] of streams) {
      for (const [key, list] of imports.byOrigin) {
        if (!seen.has(`${target}|${key}`)) {
          for (const x of list) unmatched.push({ target_stream: target, stream_seq: x.seq });
        }
      }
    }
    const sum = (k: "missing" | "duplicated" | "changed") =>
      bundles.reduce((n, b) => n + (b[k]?.length ?? 0), 0);
    const json = {
      bundles,
      matched: bundles.reduce((n, b) => n + (b.matched ?? 0), 0),
      missing: sum("missing"),
      duplicated: sum("duplicated"),
      changed: sum("changed"),
      invalid: bundles.filter((b) => b.status === "invalid").length,
      unmatched,
    };
    const lines = [
      ...bundles.map((b) =>
        `${b.file}: ${b.status}` +
        (b.status === "invalid" ? ` (${b.code}: ${b.reason})` : ` (${b.matched}/${b.events} matched)`)
      ),
      `matched ${json.matched}, missing ${json.missing}, duplicated ${json.duplicated}, changed ${json.changed}, ` +
      `invalid ${json.invalid}, unmatched ${unmatched.length}`,
    ];
    if (json.missing + json.duplicated + json.changed + json.invalid > 0) {
      throw checkFailure(
        new VeenError(
          "E.SEQ",
          `Reconciliation found ${json.missing} missing, ${json.duplicated} duplicated and ${json.changed} changed events, ${json.invalid} invalid bundles`,
        ),
        { json, lines },
      );
    }
    ctx.out.result(json, lines);
    return 0;
  },
};
