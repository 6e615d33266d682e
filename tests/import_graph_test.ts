import assert from "node:assert/strict";

const root = new URL("../", import.meta.url);
const IMPORT = /(?:import|export)\s[^;]*?from\s+["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;

async function sources(dir: string): Promise<{ path: string; text: string }[]> {
  const out: { path: string; text: string }[] = [];
  for await (const e of Deno.readDir(new URL(dir, root))) {
    if (e.isFile && e.name.endsWith(".ts") && !e.name.endsWith("_test.ts")) {
      out.push({ path: `${dir}${e.name}`, text: await Deno.readTextFile(new URL(`${dir}${e.name}`, root)) });
    } else if (e.isDirectory && e.name !== "testdata" && e.name !== "testing") {
      out.push(...await sources(`${dir}${e.name}/`));
    }
  }
  return out;
}

function imports(text: string): string[] {
  return [...text.matchAll(IMPORT)].map((m) => m[1] ?? m[2]!);
}

Deno.test("core/ has no Deno I/O and imports only core files and npm crypto/CBOR packages", async () => {
  const allowed = /^(\.\/|cborg|@noble\/|@hpke\/|node:crypto$)/;
  for (const { path, text } of await sources("core/")) {
    assert.ok(!/\bDeno\./.test(text), `${path} uses Deno APIs`);
    assert.ok(!/\bfetch\(/.test(text), `${path} uses fetch`);
    assert.ok(!/\bDate\.now\(|new Date\(/.test(text), `${path} reads the clock`);
    for (const spec of imports(text)) {
      assert.ok(allowed.test(spec) && !spec.startsWith("../"), `${path} imports ${spec}`);
    }
  }
});

Deno.test("nothing imports upward: hub and cli use core only through core/mod.ts", async () => {
  for (const dir of ["hub/", "cli/"]) {
    const other = dir === "hub/" ? "cli" : "hub";
    for (const { path, text } of await sources(dir)) {
      for (const spec of imports(text)) {
        assert.ok(
          !spec.includes(`../${other}/`) && !spec.includes(`../../${other}/`),
          `${path} imports ${spec}`,
        );
        if (/\.\.\/(\.\.\/)?core\//.test(spec)) {
          assert.ok(spec.endsWith("core/mod.ts"), `${path} imports ${spec}`);
        }
        assert.ok(!/(selftest|bridge|ops)\//.test(spec), `${path} imports ${spec}`);
        if (/\.\.\/(\.\.\/)?overlays\//.test(spec)) {
          assert.ok(dir === "cli/" && spec.endsWith("overlays/mod.ts"), `${path} imports ${spec}`);
        }
      }
    }
  }
});

Deno.test("overlays/ are pure folds: no Deno I/O, no clock, imports only its own files and core/mod.ts", async () => {
  for (const { path, text } of await sources("overlays/")) {
    assert.ok(!/\bDeno\./.test(text), `${path} uses Deno APIs`);
    assert.ok(!/\bfetch\(/.test(text), `${path} uses fetch`);
    assert.ok(!/\bDate\.now\(|new Date\(/.test(text), `${path} reads the clock`);
    for (const spec of imports(text)) {
      assert.ok(
        spec === "../core/mod.ts" || (spec.startsWith("./") && !spec.includes("/", 2)),
        `${path} imports ${spec}`,
      );
    }
  }
});
