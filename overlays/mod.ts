/**
 * VEEN operational overlays on the client side: pure, deterministic folds over verified streams and the codecs of
 * their payload bodies (spec 004 §24 RPC0, §25 CRDT0, §26 ANCHOR0). Nothing here touches files, the network or the
 * clock; the CLI feeds verified, opened entries in and persists the summaries. Imports only `core/mod.ts`.
 *
 * @example Fold two LWW writes
 * ```ts
 * import { encodeLwwOp, LWW_SCHEMA, lwwFold, lwwGet } from "./mod.ts";
 * const key = new TextEncoder().encode("foo");
 * const s = lwwFold.empty();
 * for (const [seq, ts, v] of [[1, 2, "B"], [2, 1, "C"]] as const) {
 *   const body = encodeLwwOp({ key, ts, value: new TextEncoder().encode(v) });
 *   lwwFold.apply(s, { seq, msgId: new Uint8Array(32), clientId: new Uint8Array(32), hubTs: 0, hdr: { schema: LWW_SCHEMA }, body });
 * }
 * const v = new TextDecoder().decode(lwwGet(s, key)!.value);
 * if (v !== "B") throw new Error(`the later ts must win, not the later seq: got ${v}`);
 * ```
 * @module
 */
export * from "./fold.ts";
export * from "./lww.ts";
export * from "./orset.ts";
export * from "./counter.ts";
export * from "./rpc.ts";
export * from "./rpc_serve.ts";
export * from "./anchor_log.ts";
export * from "./anchor_backend.ts";
export * from "./body_codec.ts";
export * from "./admin_records.ts";
export * from "./federation_mirror.ts";
export * from "./admin_views.ts";
export * from "./wallet.ts";
export * from "./identity.ts";
export * from "./recorder.ts";
export * from "./airgap_bundle.ts";
export * from "./access_grant.ts";
export * from "./operation_profiles.ts";
export * from "./operation_log.ts";
export * from "./paid_ledger.ts";
export * from "./ledger_fold.ts";
export * from "./operation_counts.ts";
export * from "./agreement_status.ts";
export * from "./recovery_timeline.ts";
export * from "./content_root.ts";
export * from "./delegation_chain.ts";
export * from "./query_audit_policy.ts";
export * from "./canonical_json.ts";
export * from "./query_error.ts";
export * from "./query_descriptor.ts";
export * from "./query_engine.ts";
export * from "./discovery.ts";
export * from "./summary_blocks.ts";
export * from "./map_state.ts";
