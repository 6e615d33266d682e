import assert from "node:assert/strict";

/**
 * The framework is neutral: every role imports it, it imports only the pure core/ and overlays/ (the anchor log's
 * record format) and its own files.
 */
Deno.test("cmd/ imports only its own files, core/mod.ts and overlays/mod.ts", async () => {
  const dir = new URL("./", import.meta.url);
  const IMPORT = /(?:import|export)\s[^;]*?from\s+["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;
  for await (const e of Deno.readDir(dir)) {
    if (!e.isFile || !e.name.endsWith(".ts") || e.name.endsWith("_test.ts")) continue;
    const text = await Deno.readTextFile(new URL(e.name, dir));
    for (const m of text.matchAll(IMPORT)) {
      const spec = m[1] ?? m[2]!;
      assert.ok(
        spec === "../core/mod.ts" || spec === "../overlays/mod.ts" || /^\.\/[a-z_]+\.ts$/.test(spec),
        `cmd/${e.name} imports ${spec}`,
      );
    }
  }
});
