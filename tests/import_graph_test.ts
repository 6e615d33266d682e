import assert from "node:assert/strict";
import {
  checkImportGraph,
  isTestOnly,
  repoFolders,
  repoSources,
  resolveSpecifier,
  type Table,
} from "./import_graph.ts";
import { IMPORT_TABLE } from "./import_table.ts";

/** A small table in the shape of the real one. */
const TABLE: Table = {
  rows: {
    "core/": { imports: [], external: ["cborg", "@noble/"], pure: true },
    "hub/": { imports: ["core/mod.ts"], external: ["node:util"] },
    "cli/": { imports: ["core/mod.ts"], external: [] },
    "ops/": { imports: ["core/mod.ts"], external: [{ specifier: "kubernetes-models/", typeOnly: true }] },
    "selftest/": { imports: ["*"], external: [] },
    "tests/": { imports: ["*"], external: [], testOnly: true },
    "mod.ts": { imports: ["hub/mod.ts"], external: [] },
  },
  exceptions: [{ from: "cli/a.ts", to: "hub/mod.ts", why: "example" }],
};

const check = (files: Record<string, string>, folders: string[] = []) =>
  checkImportGraph(new Map(Object.entries(files)), TABLE, folders);

Deno.test("resolveSpecifier normalises relative paths and tells external and outside specifiers apart", () => {
  assert.deepEqual(resolveSpecifier("core/a.ts", "./../hub/x.ts"), { path: "hub/x.ts" });
  assert.deepEqual(resolveSpecifier("cli/commands/a.ts", "../../core/mod.ts"), { path: "core/mod.ts" });
  assert.deepEqual(resolveSpecifier("hub/a.ts", "./b/../c.ts"), { path: "hub/c.ts" });
  assert.deepEqual(resolveSpecifier("mod.ts", "./hub/mod.ts"), { path: "hub/mod.ts" });
  assert.deepEqual(resolveSpecifier("hub/a.ts", "node:util"), { external: "node:util" });
  assert.deepEqual(resolveSpecifier("hub/a.ts", "@noble/hashes/sha2.js"), {
    external: "@noble/hashes/sha2.js",
  });
  assert.deepEqual(resolveSpecifier("hub/a.ts", "../../etc/x.ts"), { outside: "file:///etc/x.ts" });
});

Deno.test("isTestOnly names tests/, testing/ and testdata/ folders and *_test.ts", () => {
  for (const p of ["tests/util.ts", "cli/testing/real_hub.ts", "ops/testdata/fake.ts", "hub/http_test.ts"]) {
    assert.ok(isTestOnly(p), p);
  }
  for (const p of ["hub/http.ts", "selftest/store_bench.ts", "cli/testing_mode.ts", "mod.ts"]) {
    assert.ok(!isTestOnly(p), p);
  }
});

Deno.test("checkImportGraph passes a tree that keeps the table", () => {
  assert.deepEqual(
    check({
      "core/mod.ts":
        `export * from "./a.ts"; import { decode } from "cborg"; import "@noble/hashes/sha2.js";`,
      "core/a.ts": `export const a = 1; // Deno.readFile is I/O, fetch( too: a comment may say so`,
      "hub/mod.ts": `import { a } from "../core/mod.ts"; import { parseArgs } from "node:util";`,
      "hub/deep/x.ts":
        `import "../mod.ts"; import "../../hub/mod.ts"; const w = new Worker(new URL("../w.ts", ` +
        `import.meta.url)); const cfg = new URL("../../deno.json", import.meta.url);`,
      "hub/w.ts": `export {};`,
      "cli/a.ts": `import { b } from "../hub/mod.ts";`,
      "ops/k.ts": `import type { IPod } from "kubernetes-models/v1/Pod";`,
      "selftest/s.ts": `import "../hub/deep/x.ts"; import "../cli/a.ts";`,
      "tests/t.ts": `import "../hub/deep/x.ts"; import "../cli/testing/h.ts"; import "npm:anything";`,
      "cli/testing/h.ts": `import "../../hub/deep/x.ts"; import assert from "node:assert/strict";`,
      "hub/x_test.ts": `import "../tests/t.ts"; import "./testing/y.ts";`,
      "mod.ts": `const { hubMain } = await import("./hub/mod.ts");`,
    }, ["core", "hub", "tests"]),
    [],
  );
});

Deno.test("checkImportGraph catches an upward import in every import form", () => {
  const forms = [
    `import { x } from "./../hub/x.ts";`,
    `import "../hub/x.ts";`,
    `const m = await import("../hub/x.ts");`,
    `export { x } from "../hub/x.ts";`,
    `export * from "../hub/x.ts";`,
    `import type { X } from "../hub/x.ts";`,
    `new Worker(new URL("../hub/x.ts", import.meta.url), { type: "module" });`,
    `const u = import.meta.resolve("../hub/x.ts");`,
  ];
  for (const form of forms) {
    assert.deepEqual(
      check({ "core/a.ts": form }),
      [`core/a.ts:1 imports "${/"([^"]+)"/.exec(form)![1]}" (hub/x.ts): core/ may import only its own files`],
      form,
    );
  }
});

Deno.test("checkImportGraph keeps production code away from test-only code", () => {
  assert.deepEqual(
    check({
      "hub/store_bench.ts": `import { H } from "../core/mod.ts";\nimport { prng } from "../tests/util.ts";`,
      "cli/a.ts": `import { startRealHub } from "./testing/real_hub.ts";`,
      "selftest/s.ts": `import { f } from "./fake_test.ts";`,
    }),
    [
      `hub/store_bench.ts:2 imports "../tests/util.ts" (tests/util.ts): production code never imports test-only ` +
      `code (tests/, testing/, testdata/, *_test.ts)`,
      `cli/a.ts:1 imports "./testing/real_hub.ts" (cli/testing/real_hub.ts): production code never imports ` +
      `test-only code (tests/, testing/, testdata/, *_test.ts)`,
      `selftest/s.ts:1 imports "./fake_test.ts" (selftest/fake_test.ts): production code never imports ` +
      `test-only code (tests/, testing/, testdata/, *_test.ts)`,
      `exception cli/a.ts → hub/mod.ts is no longer needed: remove it from the import table`,
    ],
  );
});

Deno.test("checkImportGraph checks external specifiers, deep imports, rows, purity and computed specifiers", () => {
  assert.deepEqual(
    check({
      "core/a.ts":
        `import { createHash } from "node:crypto";\nconst t = Date.now();\nawait Deno.readFile("x");`,
      "hub/a.ts": `import assert from "node:assert/strict";\nimport { x } from "../core/hash.ts";`,
      "hub/b.ts": `import { y } from "npm:cborg@6";\nawait import(name);\nnew Worker(url);`,
      "ops/k.ts": `import { Pod } from "kubernetes-models/v1/Pod";`,
      "cli/a.ts": `import "../../elsewhere/x.ts";`,
      "bridge/m.ts": `export {};`,
      "runtime.ts": `export {};`,
    }, ["core", "compile"]),
    [
      "compile/ has no row in the import table",
      "core/a.ts uses Deno APIs (core/ is pure)",
      "core/a.ts reads the clock (core/ is pure)",
      `core/a.ts:1 imports "node:crypto": not in the external allow list of core/`,
      `hub/a.ts:1 imports "node:assert/strict": not in the external allow list of hub/`,
      `hub/a.ts:2 imports "../core/hash.ts" (core/hash.ts): hub/ may import core/mod.ts`,
      `hub/b.ts:1 imports "npm:cborg@6": not in the external allow list of hub/`,
      "hub/b.ts:2 has a dynamic import with a computed specifier, which no table can check",
      "hub/b.ts:3 has a url import with a computed specifier, which no table can check",
      'ops/k.ts:1 imports "kubernetes-models/v1/Pod": ops/ may use it only through `import type`',
      `cli/a.ts:1 imports "../../elsewhere/x.ts", outside the repository`,
      "bridge/m.ts: bridge/ has no row in the import table",
      "runtime.ts: runtime.ts has no row in the import table",
      `exception cli/a.ts → hub/mod.ts is no longer needed: remove it from the import table`,
    ],
  );
});

Deno.test("every source file keeps the import table (tests/import_table.ts)", async () => {
  const files = await repoSources();
  assert.ok(files.size > 200, `only ${files.size} source files found`);
  const problems = checkImportGraph(files, IMPORT_TABLE, await repoFolders());
  assert.deepEqual(
    problems,
    [],
    `import table violations (the table is tests/import_table.ts, the rules tests/import_graph.ts):\n${
      problems.join("\n")
    }`,
  );
});

Deno.test("every exception of the import table is listed in docs/architecture.md", async () => {
  const doc = await Deno.readTextFile(new URL("../docs/architecture.md", import.meta.url));
  const differences = doc.slice(doc.indexOf("## Differences from the target picture"));
  for (const e of IMPORT_TABLE.exceptions) {
    for (const path of [e.from, e.to]) {
      assert.ok(differences.includes(`\`${path}\``), `docs/architecture.md differences do not name ${path}`);
    }
  }
});
