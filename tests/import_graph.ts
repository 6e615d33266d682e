/**
 * Checks a source tree against the import table (tests/import_table.ts): every module reference of every source
 * file (tests/import_scan.ts) is resolved to a repository path or an external specifier and must be an edge the
 * table allows. The rules:
 * - Test-only places are `tests/`, any `testing/` or `testdata/` folder and `*_test.ts` files. They may import
 *   anything; production code (everything else) never imports them.
 * - A production file may import its own folder's production files, the targets its folder's row lists (a file
 *   such as `core/mod.ts`, a whole folder such as `hub/`, or `*` for all production code), the external
 *   specifiers the row lists (`node:util`, an import-map name, or a prefix ending in "/"), and the edges the
 *   exceptions name, each with its reason. Nothing else: no npm, JSR or URL specifiers outside the import map,
 *   no path outside the repository, no specifier computed at run time.
 * - A `pure` folder (core/, overlays/) does no I/O and reads no clock.
 * - Every top-level folder and root source file has a row, and every exception is still needed.
 */
import { codeOnly, scanModuleRefs } from "./import_scan.ts";

export const REPO_ROOT = new URL("../", import.meta.url);

/** An external specifier a row allows; `typeOnly` admits it only in `import type` / `export type`. */
export type External = string | { specifier: string; typeOnly: true };

/** What the production files of one top-level folder (key `name/`) or root file (key `name.ts`) may import. */
export interface Row {
  /** Repository paths: `core/mod.ts` (one file), `hub/` (every production file in it), `*` (all production). */
  imports: string[];
  /** External specifiers: exact, or a prefix ending in "/". */
  external: External[];
  /** No Deno APIs, no fetch, no clock. */
  pure?: boolean;
  /** The whole folder is test-only (tests/). */
  testOnly?: boolean;
}

/** One edge the table does not allow, allowed anyway for a named reason. */
export interface Exception {
  from: string;
  to: string;
  why: string;
}

export interface Table {
  rows: Record<string, Row>;
  exceptions: Exception[];
}

/** Source files by extension; declaration files hold no imports that load. */
const SOURCE = /\.(ts|tsx|mts|js|mjs|jsx)$/;

/** Test-only code: tests/, any testing/ or testdata/ folder, *_test.ts. */
export function isTestOnly(path: string): boolean {
  return /^tests\//.test(path) || /(^|\/)(testing|testdata)\//.test(path) || /_test\.[a-z]+$/.test(path);
}

/** The table row a repository path belongs to: its top-level folder (`hub/`) or, at the root, its name. */
export function rowOf(path: string): string {
  const slash = path.indexOf("/");
  return slash < 0 ? path : path.slice(0, slash + 1);
}

/** Resolves a specifier written in `from` (a repository path) to a repository path, or says what it is. */
export function resolveSpecifier(
  from: string,
  specifier: string,
): { path: string } | { external: string } | { outside: string } {
  if (!/^(\.\.?\/|\/|file:)/.test(specifier)) return { external: specifier };
  const url = new URL(specifier, new URL(from, "file:///repo/"));
  if (!url.pathname.startsWith("/repo/")) return { outside: url.href };
  return { path: decodeURIComponent(url.pathname.slice("/repo/".length)) };
}

/** Whether `row` allows an external specifier: "yes", "no", or "type" (only in `import type`/`export type`). */
function externalAllowed(row: Row, specifier: string, typeOnly: boolean): "yes" | "no" | "type" {
  const entry = row.external.find((e) => {
    const s = typeof e === "string" ? e : e.specifier;
    return s.endsWith("/") ? specifier.startsWith(s) : specifier === s;
  });
  if (entry === undefined) return "no";
  return typeof entry === "string" || typeOnly ? "yes" : "type";
}

function pathAllowed(row: Row, target: string): boolean {
  return row.imports.some((a) => a === "*" || a === target || (a.endsWith("/") && target.startsWith(a)));
}

/** What a pure folder must not do, matched on its code without comments and literals (tokens space-separated). */
const IMPURE: [RegExp, string][] = [
  [/(^| )Deno( |$)/, "uses Deno APIs"],
  [/(^| )fetch \(/, "uses fetch"],
  [/(^| )Date \. now \(|(^| )new Date \(/, "reads the clock"],
];

/**
 * Every violation of `table` in `files` (repository path → source text); `folders` are the top-level folders,
 * which must each have a row even when they hold no source file. Empty when the tree complies.
 */
export function checkImportGraph(files: Map<string, string>, table: Table, folders: string[] = []): string[] {
  const problems: string[] = [];
  const used = new Set<Exception>();
  for (const folder of folders) {
    if (!(`${folder}/` in table.rows)) problems.push(`${folder}/ has no row in the import table`);
  }
  for (const [path, text] of files) {
    const key = rowOf(path);
    const row = table.rows[key];
    if (row === undefined) {
      problems.push(`${path}: ${key} has no row in the import table`);
      continue;
    }
    const testOnly = row.testOnly === true || isTestOnly(path);
    if (row.pure && !testOnly) {
      const code = codeOnly(text);
      for (const [re, what] of IMPURE) if (re.test(code)) problems.push(`${path} ${what} (${key} is pure)`);
    }
    for (const ref of scanModuleRefs(text)) {
      const at = `${path}:${ref.line}`;
      if (ref.computed) {
        problems.push(`${at} has a ${ref.form} import with a computed specifier, which no table can check`);
        continue;
      }
      const r = resolveSpecifier(path, ref.specifier);
      if ("outside" in r) {
        problems.push(`${at} imports "${ref.specifier}", outside the repository`);
        continue;
      }
      if ("external" in r) {
        const allowed = testOnly ? "yes" : externalAllowed(row, r.external, ref.typeOnly);
        if (allowed === "no") {
          problems.push(`${at} imports "${ref.specifier}": not in the external allow list of ${key}`);
        } else if (allowed === "type") {
          problems.push(`${at} imports "${ref.specifier}": ${key} may use it only through \`import type\``);
        }
        continue;
      }
      // A module URL names data as well as modules (deno.json, .git/HEAD): only source files are edges.
      if (ref.form === "url" && !SOURCE.test(r.path)) continue;
      if (testOnly) continue;
      if (isTestOnly(r.path)) {
        problems.push(
          `${at} imports "${ref.specifier}" (${r.path}): production code never imports test-only code ` +
            `(tests/, testing/, testdata/, *_test.ts)`,
        );
        continue;
      }
      if (rowOf(r.path) === key && key.endsWith("/")) continue;
      if (pathAllowed(row, r.path)) continue;
      const exception = table.exceptions.find((e) => e.from === path && e.to === r.path);
      if (exception) {
        used.add(exception);
        continue;
      }
      const may = row.imports.length === 0 ? "only its own files" : row.imports.join(", ");
      problems.push(`${at} imports "${ref.specifier}" (${r.path}): ${key} may import ${may}`);
    }
  }
  for (const e of table.exceptions) {
    if (files.has(e.from) && !used.has(e)) {
      problems.push(`exception ${e.from} → ${e.to} is no longer needed: remove it from the import table`);
    }
  }
  return problems;
}

/** Directories that hold no project source: dependencies, build output, VCS and tool state. */
const SKIP_DIR = /^(\.|node_modules$|dist$)/;

/** Every source file of the repository (repository path → text), and its top-level folders. */
export async function repoSources(root: URL = REPO_ROOT): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (rel: string) => {
    for await (const e of Deno.readDir(new URL(rel, root))) {
      if (e.isDirectory && !SKIP_DIR.test(e.name)) await walk(`${rel}${e.name}/`);
      // scratch_*.ts at the root are local, untracked experiments (.gitignore).
      else if (e.isFile && SOURCE.test(e.name) && !e.name.endsWith(".d.ts") && !/^scratch_/.test(e.name)) {
        out.set(`${rel}${e.name}`, await Deno.readTextFile(new URL(`${rel}${e.name}`, root)));
      }
    }
  };
  await walk("");
  return new Map([...out].sort(([a], [b]) => a < b ? -1 : 1));
}

/** The repository's top-level folders. */
export async function repoFolders(root: URL = REPO_ROOT): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(root)) if (e.isDirectory && !SKIP_DIR.test(e.name)) out.push(e.name);
  return out.sort();
}
