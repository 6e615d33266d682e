/**
 * SDR0 recorder events (001 L740-970; overlay decisions "Products"): `record.event.v1` =
 * `{subject_id: text, principal_id: bstr(32) (the recorder's principal key), event_type: text, event_time: uint
 * (Unix seconds), origin: text, payload: any}` through the one body codec. hub_commit_seq and hub_commit_time are
 * the RECEIPT's stream_seq and hub_ts.
 *
 * Streams: `record/app/*`, `record/security/*`, `record/infrastructure/*` (L800-806). Each gets the label class
 * `long_term` (retention_hint = long_term, L873-879: never dropped) and a sensitivity by namespace.
 */
import { BodyCodec } from "./body_codec.ts";

export const RECORD_EVENT = new BodyCodec("record.event.v1", [
  { name: "subject_id", type: "text" },
  { name: "principal_id", type: "bytes32" },
  { name: "event_type", type: "text" },
  { name: "event_time", type: "uint" },
  { name: "origin", type: "text" },
  { name: "payload", type: "any" },
]);

/** The recorder namespaces and the sensitivity their streams are classified with. */
export const RECORD_NAMESPACES = {
  app: "low",
  security: "high",
  infrastructure: "medium",
} as const;

export type RecordNamespace = keyof typeof RECORD_NAMESPACES;

/** The label class of every recorder stream: retention_hint long_term (SDR0 L879), never dropped (LCLASS0). */
export const RECORD_CLASS = "long_term";

/** The namespace of a recorder stream name `record/<ns>/<rest>`, or undefined when it is not one. */
export function recordNamespaceOf(stream: string): RecordNamespace | undefined {
  const m = /^record\/(app|security|infrastructure)\/[^/].*$/.exec(stream);
  return m === null ? undefined : m[1] as RecordNamespace;
}
