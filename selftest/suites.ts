/**
 * The selftest suites and the groups that run several of them in one report (CLI-GOALS-1 §15, CORE-GOALS 0,
 * CLI-GOALS-2 §8.5, CLI goals 3 §10.5): one list that the command table (commands.ts) describes and the runner
 * (mod.ts) runs.
 */

export type SuiteName =
  | "core"
  | "props"
  | "fuzz"
  | "kex1"
  | "hardened"
  | "meta"
  | "federated"
  | "id"
  | "wallet"
  | "recorder"
  | "bridge"
  | "authority"
  | "plus-plus"
  | "query"
  | "discovery";
/** A suite, or a group of suites run in one report. */
export type SuiteGroup = SuiteName | "overlays" | "plus" | "all";

/** The v0.0.1+ overlay suites (CORE-GOALS 0 `veen-selftest overlays`), by their `--subset` names. */
export const OVERLAY_SUBSETS: Record<string, SuiteName> = {
  kex1: "kex1",
  sh1: "hardened",
  hardened: "hardened",
  meta: "meta",
  lclass: "meta",
  "fed-auth": "federated",
  id: "id",
  wallet: "wallet",
};
export const OVERLAYS: SuiteName[] = ["kex1", "hardened", "meta", "federated", "id", "wallet"];
/**
 * The product suites (001 SDR0, AGB0, Query API, discovery and connect) and the operation profiles
 * (`plus-plus`, CLI goals 3 §10.5).
 */
export const PRODUCTS: SuiteName[] = ["recorder", "bridge", "query", "discovery", "plus-plus"];
/** What the groups run. `plus` is CLI-GOALS-2 §8.5 and `all` CORE-GOALS 0 (core, the overlays, the products). */
export const GROUPS: Record<"overlays" | "plus" | "all", SuiteName[]> = {
  overlays: OVERLAYS,
  plus: ["core", "props", "fuzz", ...OVERLAYS],
  all: ["core", "props", "fuzz", ...OVERLAYS, ...PRODUCTS],
};
