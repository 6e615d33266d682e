import assert from "node:assert/strict";
import { type ModuleRef, scanModuleRefs } from "./import_scan.ts";
import { REPO_ROOT, repoSources } from "./import_graph.ts";

const brief = (refs: ModuleRef[]) =>
  refs.map((r) =>
    `${r.line} ${r.form}${r.typeOnly ? " type" : ""} ${r.computed ? "<computed>" : r.specifier}`
  );

Deno.test("scanModuleRefs finds every import form, with its line", () => {
  const src = [
    `import a from "./a.ts";`,
    `import * as b from "./b.ts";`,
    `import c, {`,
    `  d,`,
    `  e as f,`,
    `} from "./c.ts";`,
    `import type { T } from "./t.ts";`,
    `import "./side.ts";`,
    `export * from "./re.ts";`,
    `export * as ns from "./ns.ts";`,
    `export { g } from './g.ts';`,
    `export type { U } from "./u.ts";`,
    `const h = await import("./dyn.ts");`,
    `type W = import("./typepos.ts").W;`,
    `const w = new Worker(new URL("./worker.ts", import.meta.url), { type: "module" });`,
    `const u = new URL(\`../up.ts\`, import.meta.url);`,
    `const r = import.meta.resolve("./res.ts");`,
    `import json from "./data.json" with { type: "json" };`,
    `import type from "./default_named_type.ts";`,
    `import { from } from "npm:from@1";`,
    `const m = require("node:module");`,
  ].join("\n");
  assert.deepEqual(brief(scanModuleRefs(src)), [
    "1 static ./a.ts",
    "2 static ./b.ts",
    "6 static ./c.ts",
    "7 static type ./t.ts",
    "8 side-effect ./side.ts",
    "9 static ./re.ts",
    "10 static ./ns.ts",
    "11 static ./g.ts",
    "12 static type ./u.ts",
    "13 dynamic ./dyn.ts",
    "14 dynamic ./typepos.ts",
    "15 url ./worker.ts",
    "16 url ../up.ts",
    "17 url ./res.ts",
    "18 static ./data.json",
    "19 static ./default_named_type.ts",
    "20 static npm:from@1",
    "21 static node:module",
  ]);
});

Deno.test("scanModuleRefs ignores imports in comments and strings and is not misled by regex literals", () => {
  const src = [
    `// import "./comment.ts";`,
    `/* import x from "./block.ts"; */`,
    `const s = 'import "./string.ts"';`,
    'const t = `import("./template.ts")`;',
    `const q = /["'\`]/g;`,
    `import "./after_regex.ts";`,
    `const div = a / b; import "./after_division.ts"; const d2 = c / 2;`,
    'const nested = `${ { a: "}" }.a }${`${`inner`}`}`;',
    `import "./after_template.ts";`,
    `x.import("./method.ts"); y.export; const z = { import: 1 };`,
    `export const plain = 1; export { plain as other };`,
    `if (ok) { /x"y/.test(s); } import "./after_block_regex.ts";`,
  ].join("\n");
  assert.deepEqual(brief(scanModuleRefs(src)), [
    "6 side-effect ./after_regex.ts",
    "7 side-effect ./after_division.ts",
    "9 side-effect ./after_template.ts",
    "12 side-effect ./after_block_regex.ts",
  ]);
});

Deno.test("scanModuleRefs reports specifiers it cannot read as computed", () => {
  const src = [
    `await import(name);`,
    "await import(`./${name}.ts`);",
    `new Worker(url, { type: "module" });`,
    `new Worker(new URL(file, import.meta.url));`,
    `new URL("./" + file, import.meta.url);`,
    `new URL("./data.bin", base);`,
  ].join("\n");
  assert.deepEqual(brief(scanModuleRefs(src)), [
    "1 dynamic <computed>",
    "2 dynamic <computed>",
    "3 url <computed>",
    "4 url <computed>",
    "5 url <computed>",
  ]);
});

Deno.test("scanModuleRefs finds exactly the specifiers in Deno's module graph, for every source file", async () => {
  const files = await repoSources();
  const rootFile = await Deno.makeTempFile({ prefix: "veen-import-scan-", suffix: ".ts" });
  try {
    await Deno.writeTextFile(
      rootFile,
      [...files.keys()].map((p) => `import ${JSON.stringify(new URL(p, REPO_ROOT).href)};\n`).join(""),
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", "--config", new URL("deno.json", REPO_ROOT).pathname, rootFile],
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    const graph = JSON.parse(new TextDecoder().decode(out.stdout)) as {
      modules: { specifier: string; dependencies?: { specifier: string }[] }[];
    };
    const deps = new Map(graph.modules.map((m) => [m.specifier, m.dependencies ?? []]));
    let checked = 0;
    for (const [path, text] of files) {
      const denoSees = new Set((deps.get(new URL(path, REPO_ROOT).href) ?? []).map((d) => d.specifier));
      const weSee = new Set(
        scanModuleRefs(text).filter((r) => r.form !== "url").map((r) => r.specifier),
      );
      assert.deepEqual(
        [...weSee].sort(),
        [...denoSees].sort(),
        `${path}: scanned imports differ from Deno's`,
      );
      checked++;
    }
    assert.equal(checked, files.size);
    assert.ok(checked > 200, `only ${checked} source files found`);
  } finally {
    await Deno.remove(rootFile);
  }
});
