/**
 * The import table: what the production code of each top-level folder and root file may import. It encodes the
 * target picture (shared/ARCHITECTURE.md "Folders"); where the code differs, the difference is a named exception
 * below with its reason, listed in docs/architecture.md "Differences from the target picture". Enforced by
 * tests/import_graph_test.ts with the rules in tests/import_graph.ts.
 *
 * A folder's production files may always import each other. Other folders are reached through their `mod.ts`
 * (their public surface), except by selftest/, which drives everything. To add a folder, add a row; to let a
 * folder use another, add the target to its `imports`.
 */
import type { Exception, External, Row, Table } from "./import_graph.ts";

/** Node built-ins any I/O folder may use (not node:assert or node:test: assertions belong to tests). */
const NODE: External[] = [
  "node:buffer",
  "node:crypto",
  "node:os",
  "node:path",
  "node:process",
  "node:url",
  "node:util",
];

/**
 * Neutral root files with no imports of their own: build identity and process settings every role shares. Not in
 * the target picture, which has no root modules besides mod.ts (their place would be cmd/); listed in
 * docs/architecture.md "Differences from the target picture".
 */
const ROOT_LEAVES = ["version.ts", "runtime.ts"];

const rows: Record<string, Row> = {
  // Bytes and math; the npm crypto/CBOR packages and node:crypto (hashing, Ed25519) only.
  "core/": { imports: [], external: ["cborg", "@noble/", "@hpke/", "node:crypto"], pure: true },
  // What every command shares: flags, output, command errors and exit codes, help, shared file contracts (the
  // hub state file, the file anchor log whose record format is overlays/anchor_log.ts).
  "cmd/": { imports: ["core/mod.ts", "overlays/mod.ts"], external: NODE },
  // Pure folds and body codecs.
  "overlays/": { imports: ["core/mod.ts"], external: [], pure: true },
  "hub/": {
    imports: ["core/mod.ts", "overlays/mod.ts", "cmd/mod.ts", ...ROOT_LEAVES],
    external: [...NODE, "smol-toml", "yaml"],
  },
  "cli/": {
    imports: ["core/mod.ts", "overlays/mod.ts", "cmd/mod.ts"],
    external: [...NODE, "@noble/ciphers/"],
  },
  "bridge/": { imports: ["core/mod.ts", "overlays/mod.ts", "cmd/mod.ts", "cli/mod.ts"], external: NODE },
  "ops/": {
    imports: ["core/mod.ts", "cmd/mod.ts", ...ROOT_LEAVES],
    // Typed manifests: kubernetes-models for its types only (its runtime pulls in a JSON-schema validator).
    external: [
      ...NODE,
      "smol-toml",
      "yaml",
      { specifier: "kubernetes-models", typeOnly: true },
      { specifier: "kubernetes-models/", typeOnly: true },
    ],
  },
  // The suites behind `veen selftest` and `veen bench` drive the real CLI and hub: everything but tests.
  "selftest/": { imports: ["*"], external: NODE },
  // Cross-module tests; test-only, so they may import anything.
  "tests/": { imports: ["*"], external: [], testOnly: true },
  // No TypeScript in these: build assets, launcher scripts, documentation.
  "compile/": { imports: [], external: [] },
  "scripts/": { imports: [], external: [] },
  "docs/": { imports: [], external: [] },
  // The entry point only dispatches: it loads each role through its mod.ts.
  "mod.ts": {
    imports: [
      "core/mod.ts",
      "cmd/mod.ts",
      "hub/mod.ts",
      "cli/mod.ts",
      "bridge/mod.ts",
      "ops/mod.ts",
      "selftest/mod.ts",
      ...ROOT_LEAVES,
    ],
    external: NODE,
  },
  "version.ts": { imports: [], external: [] },
  "runtime.ts": { imports: [], external: [] },
};

/** Edges the code has and the target picture does not; each goes away with the work its reason names. */
const exceptions: Exception[] = [
  {
    from: "mod.ts",
    to: "hub/commands.ts",
    why:
      "the entry point loads only the hub's command table (lazy handlers), not hub/mod.ts and the whole hub, " +
      "so that client commands start without loading the hub",
  },
  {
    from: "mod.ts",
    to: "selftest/commands.ts",
    why:
      "the entry point loads only the selftest and bench command table (lazy handlers), not selftest/mod.ts",
  },
  {
    from: "hub/main.ts",
    to: "mod.ts",
    why: "selfCommand() names the entry point to run this program again (detached `hub start`); " +
      "it is a subprocess, never loaded by hub/",
  },
];

export const IMPORT_TABLE: Table = { rows, exceptions };
