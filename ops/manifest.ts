/**
 * Manifest text in and out: YAML (the default of `kube render`, documents separated by `---`) or JSON (an array),
 * and the reverse for `kube apply --file` (a YAML stream, a JSON array, a JSON object or a `List`).
 * Output is deterministic: keys in insertion order, no line folding, block scalars for multi-line strings.
 */
import { parseAllDocuments, stringify } from "yaml";
import { usage } from "./io.ts";

/** A manifest object as read from a file (`kube apply`) or a kubectl answer: only its shape is known. */
// deno-lint-ignore no-explicit-any
export type K8sObject = Record<string, any>;

export function toYaml(objects: readonly object[]): string {
  return objects
    .map((o) =>
      stringify(o, { lineWidth: 0, minContentWidth: 0, indentSeq: true, aliasDuplicateObjects: false })
    )
    .map((doc) => "---\n" + doc)
    .join("");
}

export function toJson(objects: readonly object[]): string {
  return JSON.stringify(objects, null, 2) + "\n";
}

function flatten(doc: unknown, out: K8sObject[], path: string): void {
  if (doc === null || doc === undefined) return;
  if (Array.isArray(doc)) {
    for (const d of doc) flatten(d, out, path);
    return;
  }
  if (typeof doc !== "object") {
    throw usage(`${path}: expected Kubernetes objects, found ${JSON.stringify(doc)}`);
  }
  const o = doc as K8sObject;
  if (typeof o.kind === "string" && o.kind.endsWith("List") && Array.isArray(o.items)) {
    for (const d of o.items) flatten(d, out, path);
    return;
  }
  if (
    typeof o.apiVersion !== "string" || typeof o.kind !== "string" || typeof o.metadata?.name !== "string"
  ) {
    throw usage(`${path}: every object needs apiVersion, kind and metadata.name`);
  }
  out.push(o);
}

/** The objects of a manifest file, in file order. */
export function parseManifests(text: string, path: string): K8sObject[] {
  const out: K8sObject[] = [];
  const trimmed = text.trimStart();
  if (trimmed.startsWith("[") || trimmed.startsWith("{")) {
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (e) {
      throw usage(`${path} is not valid JSON (${(e as Error).message})`);
    }
    flatten(doc, out, path);
    return out;
  }
  for (const d of parseAllDocuments(text)) {
    if (d.errors.length > 0) {
      throw usage(`${path} is not valid YAML (${d.errors[0]!.message.split("\n")[0]})`);
    }
    flatten(d.toJS(), out, path);
  }
  return out;
}
