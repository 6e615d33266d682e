/** Test helper for the ID folds: an entry at `seq` carrying an id.* body, with a msg_id derived from `seq`. */
import { Ht, u64be } from "../../core/mod.ts";
import type { BodyCodec } from "../body_codec.ts";
import type { OverlayEntry } from "../fold.ts";
import { encodeIdBody } from "../identity_bodies.ts";

/** 32 bytes of `x`. */
export const b32 = (x: number): Uint8Array => new Uint8Array(32).fill(x);

/** The entry at `seq` whose body is `rec` encoded with `codec` (sender 32 × 0x09). */
export function idEntry(seq: number, codec: BodyCodec, rec: Record<string, unknown>): OverlayEntry {
  return {
    seq,
    msgId: Ht("test/leaf", u64be(seq)),
    clientId: b32(9),
    hubTs: 0,
    hdr: { schema: codec.schemaId },
    body: encodeIdBody(codec, rec as never),
  };
}
