/**
 * `veen selftest core` (CORE-GOALS 1.1-1.8, CLI-GOALS-1 §15.1): the client commands against real hubs, end to end.
 *
 * Own hubs (default): "main" (admission off, small checkpoint cadence), "bounds" (max_msg_bytes 4096), "admission"
 * (`--admission on`, trusting the selftest's admin key) and "epochs" (label_epochs on, admission on). With
 * `--hub URL` only the steps that work against a deployed hub run (no restarts, no admission-on hub, no config
 * changes); the others are reported as skipped, and every stream name carries a per-run prefix.
 *
 * Each step is one file under `core_steps/` exporting a {@link CoreStep}; the suite runs {@link CORE_STEPS} in
 * order. A new step is a new file and one entry in that table.
 */
import type { Harness } from "./harness.ts";
import { admission } from "./core_steps/admission.ts";
import { anchor } from "./core_steps/anchor.ts";
import { attachments } from "./core_steps/attachments.ts";
import { bounds } from "./core_steps/bounds.ts";
import { capExpiry } from "./core_steps/cap_expiry.ts";
import { capTtl } from "./core_steps/cap_ttl.ts";
import { capabilities } from "./core_steps/capabilities.ts";
import { CoreCtx, type CoreStep } from "./core_steps/context.ts";
import { crdt } from "./core_steps/crdt.ts";
import { duplicates } from "./core_steps/duplicates.ts";
import { healthMetrics } from "./core_steps/health_metrics.ts";
import { profile } from "./core_steps/profile.ts";
import { rateLimit } from "./core_steps/rate_limit.ts";
import { resync } from "./core_steps/resync.ts";
import { retention } from "./core_steps/retention.ts";
import { rpc } from "./core_steps/rpc.ts";
import { sealedToRecipient } from "./core_steps/sealed_to_recipient.ts";
import { sendStream } from "./core_steps/send_stream.ts";
import { seqErrors } from "./core_steps/seq_errors.ts";
import { setup } from "./core_steps/setup.ts";
import { shutdown } from "./core_steps/shutdown.ts";
import { signature } from "./core_steps/signature.ts";
import { timeWindow } from "./core_steps/time_window.ts";

const SUITE = "core";

export const CORE_GOAL =
  "send/stream with decryption, attachments, E.SIG, capabilities and their ttl, E.SEQ/E.PROFILE/E.TIME/E.DUP/E.SIZE, " +
  "RESYNC0, RPC0, CRDT0, ANCHOR0, health/metrics/logs, retention (CORE-GOALS 1.1-1.8, CLI-GOALS-1 §15.1)";

/** The steps of the core suite, in the order they run; later steps use what earlier ones set up. */
const CORE_STEPS: readonly CoreStep[] = [
  setup,
  bounds,
  signature,
  sendStream,
  sealedToRecipient,
  attachments,
  admission,
  capTtl,
  capabilities,
  rateLimit,
  capExpiry,
  seqErrors,
  duplicates,
  profile,
  timeWindow,
  resync,
  rpc,
  crdt,
  anchor,
  healthMetrics,
  retention,
  shutdown,
];

export async function coreSuite(h: Harness): Promise<void> {
  h.report.beginSuite(SUITE, CORE_GOAL);
  const ctx = new CoreCtx(h);
  for (const s of CORE_STEPS) {
    if (s.when !== undefined && !s.when(ctx)) continue;
    await h.step(SUITE, s.name, s.goal, (ev) => s.run(ctx, ev), { critical: s.critical === true });
  }
}
