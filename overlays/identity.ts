/** The ID layer (spec 001 ID, L229-738): identifiers, the id.*.v1 bodies and their folds. */
export * from "./identity_ids.ts";
export * from "./identity_bodies.ts";
export * from "./identity_fold.ts";
export * from "./identity_auth.ts";
export * from "./identity_lww.ts";
export * from "./identity_external.ts";
export * from "./identity_ctx.ts";
export * from "./origin_dedup.ts";
