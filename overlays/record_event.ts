/**
 * The recorder event `record.event.v1` (spec 001 SDR0; overlay decisions "Products, query and discovery"): body
 * `{subject_id: text, principal_id: bstr(32) (the recorder's principal key), event_type: text, event_time: uint
 * (Unix seconds), origin: text, payload: any}` in that key order, through the one overlay body codec.
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
