/**
 * Hand-made wire objects for the checks a well-behaved client never produces (another profile, a far label epoch,
 * a skipped client_seq, an exact byte size): signed with a selftest-owned key through core, POSTed as raw bytes.
 * The ciphertext is well framed (HPKE enc, two lengths, header and body bytes) but not decryptable, which is all
 * the hub looks at.
 */
import {
  concat,
  DEFAULT_PROFILE_ID,
  encodeMsg,
  H,
  labelFor,
  type Msg,
  type SigningKey,
  signingKeyFromSeed,
  signMsg,
  streamIdFor,
  u32be,
  utf8,
} from "../core/mod.ts";

const HDR_CT_LEN = 17;

/** enc(32) || u32 hdr_len || u32 body_len || hdr_ct || body_ct, with `bodyLen` body bytes of `fill`. */
export function framedCiphertext(fill: number, bodyLen: number): Uint8Array {
  return concat(
    new Uint8Array(32).fill(fill),
    u32be(HDR_CT_LEN),
    u32be(bodyLen),
    new Uint8Array(HDR_CT_LEN + bodyLen).fill(fill),
  );
}

export interface CraftOptions {
  clientSeq?: number;
  prevAck?: number;
  authRef?: Uint8Array | null;
  profileId?: Uint8Array;
  label?: Uint8Array;
  bodyLen?: number;
  fill?: number;
}

/** A writer with its own Ed25519 key on one label, numbering client_seq from 1. */
export class Crafter {
  readonly key: SigningKey;
  label: Uint8Array;
  seq = 0;

  constructor(seedMaterial: string, stream: string, routingKey: Uint8Array = new Uint8Array(0), epoch = 0) {
    this.key = signingKeyFromSeed(H(utf8(`veen-selftest key ${seedMaterial}`)));
    this.label = labelFor(streamIdFor(stream), routingKey, epoch);
  }

  msg(o: CraftOptions = {}): Msg {
    const clientSeq = o.clientSeq ?? ++this.seq;
    const ciphertext = framedCiphertext(o.fill ?? clientSeq % 251, o.bodyLen ?? 64);
    return signMsg({
      ver: 1,
      profileId: o.profileId ?? DEFAULT_PROFILE_ID,
      label: o.label ?? this.label,
      clientId: this.key.public,
      clientSeq,
      prevAck: o.prevAck ?? 0,
      authRef: o.authRef ?? null,
      ctHash: H(ciphertext),
      ciphertext,
    }, this.key.secret);
  }

  bytes(o: CraftOptions = {}): Uint8Array {
    return encodeMsg(this.msg(o));
  }

  /** A signed MSG whose canonical CBOR is exactly `size` bytes (the next client_seq). */
  bytesOfSize(size: number, o: CraftOptions = {}): Uint8Array {
    const clientSeq = o.clientSeq ?? this.seq + 1;
    let bodyLen = Math.max(0, size - 300);
    for (let i = 0; i < 16; i++) {
      const b = encodeMsg(this.msg({ ...o, clientSeq, bodyLen }));
      if (b.length === size) {
        this.seq = Math.max(this.seq, clientSeq);
        return b;
      }
      bodyLen = Math.max(0, bodyLen + size - b.length);
    }
    throw new Error(`cannot build a MSG of exactly ${size} bytes`);
  }
}
