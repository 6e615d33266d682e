/**
 * VEEN core: the pure protocol library (no file, network or clock access). Every wire object, hash, proof and
 * payload operation that the hub, the CLI and users' scripts need.
 *
 * @example Derive a stream's label and check the default profile id
 * ```ts
 * import { DEFAULT_PROFILE_ID_HEX, labelFor, streamIdFor, toHex } from "./mod.ts";
 * const label = toHex(labelFor(streamIdFor("core/main")));
 * if (!/^96908081[0-9a-f]{56}$/.test(label)) throw new Error(`label ${label}`);
 * if (!DEFAULT_PROFILE_ID_HEX.startsWith("1db91032")) throw new Error(`profile_id ${DEFAULT_PROFILE_ID_HEX}`);
 * ```
 * @module
 */
export * from "./bytes.ts";
export * from "./errors.ts";
export * from "./cbor.ts";
export * from "./hash.ts";
export * from "./limits.ts";
export * from "./profile.ts";
export * from "./ids.ts";
export * from "./ed25519.ts";
export * from "./msg.ts";
export * from "./receipt.ts";
export * from "./checkpoint.ts";
export * from "./equivocation.ts";
export * from "./cap_token.ts";
export * from "./error_body.ts";
export * from "./mmr.ts";
export * from "./mmr_proof.ts";
export * from "./consistency.ts";
export * from "./payload_hdr.ts";
export * from "./x25519.ts";
export * from "./attachments.ts";
export * from "./payload.ts";
export * from "./verify.ts";
export * from "./lru.ts";
export * from "./realm_descriptor.ts";
export * from "./pow.ts";
export * from "./export_checkpoint.ts";
export * from "./checkpoint_request.ts";
export * from "./submit_batch.ts";
