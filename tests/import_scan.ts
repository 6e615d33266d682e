/**
 * Finds every module reference in a TypeScript source: static imports and re-exports (`import … from`,
 * `export … from`, `import type`), side-effect imports (`import "x"`), dynamic imports (`import("x")`, also in type
 * positions), module URLs (`new URL("x", import.meta.url)`, `import.meta.resolve("x")`, the form Worker entry points
 * take) and `require("x")`. A reference whose specifier is not a string literal (`import(name)`,
 * `new Worker(url)`) is reported as computed, because no table can check it.
 *
 * The source is tokenized first (comments, strings, template literals and regular-expression literals), so an
 * import written in a comment or a string is not a reference and a quote inside a regex does not hide one.
 * tests/import_scan_test.ts checks that it finds exactly the specifiers Deno's own module graph holds.
 */

/** One module reference in a source file. */
export interface ModuleRef {
  /** The specifier as written; empty when `computed`. */
  specifier: string;
  /** static: import/export … from, require; side-effect: import "x"; dynamic: import("x"); url: a module URL. */
  form: "static" | "side-effect" | "dynamic" | "url";
  /** `import type` / `export type`: erased, never loaded at run time. */
  typeOnly: boolean;
  /** The specifier is an expression, not a literal. */
  computed: boolean;
  /** 1-based line of the specifier. */
  line: number;
}

interface Tok {
  kind: "id" | "str" | "tpl" | "num" | "punct" | "regex";
  text: string;
  /** String value of a `str` token (a template literal without substitutions is a `str`). */
  value: string;
  pos: number;
}

/** Keywords after which `/` starts a regular expression, not a division. */
const BEFORE_EXPRESSION = new Set([
  "return",
  "typeof",
  "instanceof",
  "in",
  "of",
  "new",
  "delete",
  "void",
  "throw",
  "case",
  "do",
  "else",
  "yield",
  "await",
]);

const ESCAPES: Record<string, string> = { n: "\n", r: "\r", t: "\t", b: "\b", f: "\f", v: "\v", "0": "\0" };

function unescape(raw: string): string {
  return raw.replace(/\\(\r\n|[\s\S])/g, (_, c: string) => c === "\n" || c === "\r\n" ? "" : ESCAPES[c] ?? c);
}

function isIdStart(c: string): boolean {
  return /[A-Za-z_$#\u0080-\uffff]/.test(c);
}

/** Splits `src` into tokens, dropping comments and whitespace. */
function tokenize(src: string): Tok[] {
  const toks: Tok[] = [];
  /** Brace depth at which each open template substitution `${` began. */
  const substitutions: number[] = [];
  let depth = 0;
  let i = src.startsWith("#!") ? src.indexOf("\n") : 0;
  if (i < 0) i = src.length;

  const regexAllowed = (): boolean => {
    const t = toks.at(-1);
    if (t === undefined) return true;
    if (t.kind === "punct") return ![")", "]", "++", "--"].includes(t.text);
    if (t.kind === "id") return BEFORE_EXPRESSION.has(t.text);
    return false;
  };

  /** Reads template characters from `i` (just after "`" or a substitution's "}") to "`" or "${". */
  const templatePart = (start: number, first: boolean): void => {
    let raw = "";
    while (i < src.length) {
      const c = src[i]!;
      if (c === "\\") {
        raw += src.slice(i, i + 2);
        i += 2;
      } else if (c === "`") {
        i++;
        // A template's end is a value: a "/" after it divides.
        if (first) toks.push({ kind: "str", text: src.slice(start, i), value: unescape(raw), pos: start });
        else toks.push({ kind: "tpl", text: "`", value: "", pos: i - 1 });
        return;
      } else if (c === "$" && src[i + 1] === "{") {
        i += 2;
        if (first) toks.push({ kind: "tpl", text: "`", value: "", pos: start });
        // A substitution starts an expression: a "/" after "${" starts a regex.
        toks.push({ kind: "punct", text: "${", value: "", pos: i - 2 });
        substitutions.push(depth);
        depth++;
        return;
      } else {
        raw += c;
        i++;
      }
    }
  };

  while (i < src.length) {
    const c = src[i]!;
    const start = i;
    if (/\s/.test(c)) {
      i++;
    } else if (c === "/" && src[i + 1] === "/") {
      const end = src.indexOf("\n", i);
      i = end < 0 ? src.length : end;
    } else if (c === "/" && src[i + 1] === "*") {
      const end = src.indexOf("*/", i + 2);
      i = end < 0 ? src.length : end + 2;
    } else if (c === '"' || c === "'") {
      i++;
      while (i < src.length && src[i] !== c && src[i] !== "\n") i += src[i] === "\\" ? 2 : 1;
      i++;
      toks.push({
        kind: "str",
        text: src.slice(start, i),
        value: unescape(src.slice(start + 1, i - 1)),
        pos: start,
      });
    } else if (c === "`") {
      i++;
      templatePart(start, true);
    } else if (c === "}" && substitutions.at(-1) === depth - 1) {
      substitutions.pop();
      depth--;
      i++;
      templatePart(start, false);
    } else if (c === "/" && regexAllowed()) {
      i++;
      let inClass = false;
      while (i < src.length && src[i] !== "\n") {
        const d = src[i]!;
        if (d === "\\") i++;
        else if (d === "[") inClass = true;
        else if (d === "]") inClass = false;
        else if (d === "/" && !inClass) break;
        i++;
      }
      i++;
      while (i < src.length && /[a-z]/.test(src[i]!)) i++;
      toks.push({ kind: "regex", text: src.slice(start, i), value: "", pos: start });
    } else if (isIdStart(c)) {
      i++;
      while (i < src.length && /[\w$\u0080-\uffff]/.test(src[i]!)) i++;
      toks.push({ kind: "id", text: src.slice(start, i), value: "", pos: start });
    } else if (/[0-9]/.test(c) || (c === "." && /[0-9]/.test(src[i + 1] ?? ""))) {
      i++;
      while (i < src.length && /[\w.]/.test(src[i]!)) i++;
      toks.push({ kind: "num", text: src.slice(start, i), value: "", pos: start });
    } else {
      const two = src.slice(i, i + 2);
      const text = two === "++" || two === "--" || two === "?." ? two : c;
      i += text.length;
      if (text === "{") depth++;
      if (text === "}") depth--;
      toks.push({ kind: "punct", text, value: "", pos: start });
    }
  }
  return toks;
}

const isPunct = (t: Tok | undefined, text: string): boolean => t?.kind === "punct" && t.text === text;
const isId = (t: Tok | undefined, text: string): boolean => t?.kind === "id" && t.text === text;

/**
 * Scans an import or export clause from token `k` (just after `import`/`export`) to `from "x"`; returns the index
 * of the specifier token, or -1 when the statement names no module (`export const`, `export { a }`).
 */
function clauseSource(toks: Tok[], k: number): number {
  let depth = 0;
  for (let j = k; j < toks.length; j++) {
    const t = toks[j]!;
    if (t.kind === "id") {
      if (t.text === "from" && depth === 0 && toks[j + 1]?.kind === "str") return j + 1;
    } else if (isPunct(t, "{")) {
      depth++;
    } else if (isPunct(t, "}")) {
      depth--;
      if (depth < 0) return -1;
    } else if (!isPunct(t, ",") && !isPunct(t, "*")) {
      return -1;
    }
  }
  return -1;
}

/** `new URL("x", import.meta.url)` starting at token `k` (`new`): the index of the "x" token, or -1. */
function moduleUrlAt(toks: Tok[], k: number): { at: number; computed: boolean } | null {
  if (!isId(toks[k], "new") || !isId(toks[k + 1], "URL") || !isPunct(toks[k + 2], "(")) return null;
  // Find the second argument at this call's depth.
  let depth = 0;
  let j = k + 3;
  for (; j < toks.length; j++) {
    const t = toks[j]!;
    if (t.kind === "punct" && "([{".includes(t.text)) depth++;
    else if (t.kind === "punct" && ")]}".includes(t.text)) {
      if (depth === 0) return null;
      depth--;
    } else if (depth === 0 && isPunct(t, ",")) break;
  }
  const base = toks.slice(j + 1, j + 6).map((t) => t.text).join("");
  if (base !== "import.meta.url") return null;
  const literal = j === k + 4 && toks[k + 3]!.kind === "str";
  return { at: k + 3, computed: !literal };
}

const lineAt = (src: string, pos: number): number => {
  let n = 1;
  for (let i = src.indexOf("\n"); i >= 0 && i < pos; i = src.indexOf("\n", i + 1)) n++;
  return n;
};

/** The code of `src` without comments and literals, one space between tokens (`Date . now ( )`). */
export function codeOnly(src: string): string {
  return tokenize(src).filter((t) => t.kind === "id" || t.kind === "punct" || t.kind === "num").map((t) =>
    t.text
  )
    .join(" ");
}

/** Every module reference in `src`, in source order. */
export function scanModuleRefs(src: string): ModuleRef[] {
  const toks = tokenize(src);
  const out: ModuleRef[] = [];
  const add = (t: Tok, form: ModuleRef["form"], typeOnly: boolean, computed: boolean) =>
    out.push({ specifier: computed ? "" : t.value, form, typeOnly, computed, line: lineAt(src, t.pos) });

  for (let k = 0; k < toks.length; k++) {
    const t = toks[k]!;
    if (t.kind !== "id") continue;
    const prev = toks[k - 1];
    if (isPunct(prev, ".") || isPunct(prev, "?.")) continue; // a property named import, export, require
    const next = toks[k + 1];
    if (t.text === "import") {
      if (next?.kind === "str") {
        add(next, "side-effect", false, false);
      } else if (isPunct(next, "(")) {
        const arg = toks[k + 2]!;
        const literal = arg?.kind === "str" && (isPunct(toks[k + 3], ")") || isPunct(toks[k + 3], ","));
        add(arg ?? t, "dynamic", false, !literal);
      } else if (isPunct(next, ".")) {
        if (isId(toks[k + 2], "meta") && isPunct(toks[k + 3], ".") && isId(toks[k + 4], "resolve")) {
          const arg = toks[k + 6];
          add(arg ?? t, "url", false, !(arg?.kind === "str" && isPunct(toks[k + 7], ")")));
        }
      } else if (next?.kind === "id" || isPunct(next, "{") || isPunct(next, "*")) {
        // `import type from "x"` imports a default binding named `type`.
        const typeOnly = isId(next, "type") && !isId(toks[k + 2], "from") && !isPunct(toks[k + 2], ",");
        // TypeScript's `import x = require("x")`.
        if (next?.kind === "id" && isPunct(toks[k + 2], "=") && isId(toks[k + 3], "require")) continue;
        const at = clauseSource(toks, k + 1);
        if (at >= 0) add(toks[at]!, "static", typeOnly, false);
      }
    } else if (t.text === "export") {
      const typeOnly = isId(next, "type") && (isPunct(toks[k + 2], "{") || isPunct(toks[k + 2], "*"));
      if (isPunct(next, "{") || isPunct(next, "*") || typeOnly) {
        const at = clauseSource(toks, typeOnly ? k + 2 : k + 1);
        if (at >= 0) add(toks[at]!, "static", typeOnly, false);
      }
    } else if (t.text === "require" && isPunct(next, "(")) {
      const arg = toks[k + 2];
      if (arg?.kind === "str" && isPunct(toks[k + 3], ")")) add(arg, "static", false, false);
    } else if (t.text === "new" && isId(next, "URL")) {
      const url = moduleUrlAt(toks, k);
      if (url) add(toks[url.at]!, "url", false, url.computed);
    } else if (t.text === "new" && isId(next, "Worker") && isPunct(toks[k + 2], "(")) {
      // A Worker entry point must be a literal, directly or as new URL("x", import.meta.url) (found above).
      const arg = toks[k + 3];
      if (arg?.kind === "str") add(arg, "url", false, false);
      else if (!(isId(arg, "new") && moduleUrlAt(toks, k + 3))) add(arg ?? t, "url", false, true);
    }
  }
  return out;
}
