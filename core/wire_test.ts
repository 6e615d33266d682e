import assert from "node:assert/strict";
import { concat, toHex, u64be } from "./bytes.ts";
import { encodeCbor } from "./cbor.ts";
import { signingKeyFromSeed } from "./ed25519.ts";
import { H, Ht } from "./hash.ts";
import {
  decodeMsg,
  encodeMsg,
  leafHash,
  msgSigningDigest,
  signMsg,
  type UnsignedMsg,
  verifyMsgSig,
} from "./msg.ts";
import {
  decodeReceipt,
  draftDigest,
  draftReceipt,
  encodeReceipt,
  receiptSigningDigest,
  sealReceipt,
  signReceipt,
  verifyReceiptSig,
} from "./receipt.ts";
import {
  decodeCheckpoint,
  encodeCheckpoint,
  hasWitness,
  signCheckpoint,
  verifyCheckpointSig,
  witnessSign,
} from "./checkpoint.ts";
import { decodeErrorBody, encodeErrorBody } from "./error_body.ts";
import { VeenError } from "./errors.ts";
import { DEFAULT_PROFILE_ID } from "./profile.ts";
import { labelFor, streamIdFor } from "./ids.ts";
import { prng, throwsCode } from "../tests/util.ts";

const client = signingKeyFromSeed(new Uint8Array(32).fill(1));
const hub = signingKeyFromSeed(new Uint8Array(32).fill(2));
const label = labelFor(streamIdFor("core/main"));

function sampleMsg(authRef: Uint8Array | null = null) {
  const ciphertext = new Uint8Array(256).fill(7);
  const u: UnsignedMsg = {
    ver: 1,
    profileId: DEFAULT_PROFILE_ID,
    label,
    clientId: client.public,
    clientSeq: 1,
    prevAck: 0,
    authRef,
    ctHash: H(ciphertext),
    ciphertext,
  };
  return signMsg(u, client.secret);
}

Deno.test("MSG encodes as an array of 10 with null auth_ref and round-trips byte for byte", () => {
  const m = sampleMsg();
  const b = encodeMsg(m);
  assert.equal(b[0], 0x8a);
  assert.deepEqual(encodeMsg(decodeMsg(b)), b);
  assert.ok(verifyMsgSig(decodeMsg(b)));
});

Deno.test("MSG signing digest is Ht(veen/sig, CBOR(first nine fields))", () => {
  const m = sampleMsg(new Uint8Array(32).fill(9));
  const expected = Ht(
    "veen/sig",
    encodeCbor([1, m.profileId, m.label, m.clientId, 1, 0, m.authRef, m.ctHash, m.ciphertext]),
  );
  assert.equal(toHex(msgSigningDigest(m)), toHex(expected));
});

Deno.test("MSG with a flipped signature or field fails verification", () => {
  const m = sampleMsg();
  const sig = m.sig.slice();
  sig[0]! ^= 1;
  assert.ok(!verifyMsgSig({ ...m, sig }));
  assert.ok(!verifyMsgSig({ ...m, clientSeq: 2 }));
});

Deno.test("leaf_hash follows I2", () => {
  const m = sampleMsg();
  const expected = Ht("veen/leaf", concat(m.label, m.profileId, m.ctHash, m.clientId, u64be(1)));
  assert.equal(toHex(leafHash(m)), toHex(expected));
});

Deno.test("decodeMsg enforces sizes, version and the byte limit with E.SIZE", () => {
  const m = sampleMsg();
  throwsCode(() => decodeMsg(encodeMsg({ ...m, label: new Uint8Array(31) })), "E.SIZE");
  throwsCode(() => decodeMsg(encodeMsg({ ...m, ver: 2 as 1 })), "E.SIZE");
  throwsCode(() => decodeMsg(encodeMsg({ ...m, sig: new Uint8Array(63) })), "E.SIZE");
  const b = encodeMsg(m);
  assert.ok(decodeMsg(b, b.length));
  throwsCode(() => decodeMsg(b, b.length - 1), "E.SIZE");
});

Deno.test("RECEIPT round-trips and its signature covers every field", () => {
  const r = signReceipt(
    {
      ver: 1,
      label,
      streamSeq: 5,
      leafHash: new Uint8Array(32).fill(3),
      mmrRoot: new Uint8Array(32).fill(4),
      hubTs: 1700000000,
    },
    hub.secret,
  );
  const b = encodeReceipt(r);
  assert.equal(b[0], 0x87);
  assert.deepEqual(encodeReceipt(decodeReceipt(b)), b);
  assert.ok(verifyReceiptSig(r, hub.public));
  assert.ok(!verifyReceiptSig({ ...r, streamSeq: 6 }, hub.public));
  assert.ok(!verifyReceiptSig(r, client.public));
  assert.equal(
    toHex(receiptSigningDigest(r)),
    toHex(Ht("veen/sig", encodeCbor([1, label, 5, r.leafHash, r.mmrRoot, 1700000000]))),
  );
  // The hub's drafts: the signed fields' bytes with room for hub_sig, sealed in place, give exactly CBOR(RECEIPT).
  const draft = draftReceipt(r);
  assert.deepEqual(draftDigest(draft), receiptSigningDigest(r));
  assert.deepEqual(sealReceipt(draft, r.hubSig), b);
  assert.throws(() => sealReceipt(draft, r.hubSig), /unsealed draft/, "a draft is sealed once");
  for (const stream of [23, 24, 255, 256, 65536, 2 ** 32, 2 ** 40]) {
    const big = signReceipt({ ...r, streamSeq: stream }, hub.secret);
    const d = draftReceipt(big);
    assert.deepEqual(draftDigest(d), receiptSigningDigest(big), `digest at stream_seq ${stream}`);
    assert.deepEqual(sealReceipt(d, big.hubSig), encodeReceipt(big), `stream_seq ${stream}`);
  }
  assert.throws(() => sealReceipt(draftReceipt(r), new Uint8Array(63)), /64-byte hub_sig/);
});

Deno.test("CHECKPOINT is 7 items without witnesses, 8 with, and witnesses sign the same digest", () => {
  const c = signCheckpoint(
    { ver: 1, labelPrev: label, labelCurr: label, uptoSeq: 10, mmrRoot: new Uint8Array(32), epoch: 0 },
    hub.secret,
  );
  const b = encodeCheckpoint(c);
  assert.equal(b[0], 0x87);
  assert.deepEqual(encodeCheckpoint(decodeCheckpoint(b)), b);
  assert.ok(verifyCheckpointSig(c, hub.public));
  const w = { ...c, witnessSigs: [witnessSign(c, client.secret)] };
  const bw = encodeCheckpoint(w);
  assert.equal(bw[0], 0x88);
  const back = decodeCheckpoint(bw);
  assert.ok(hasWitness(back, client.public));
  assert.ok(!hasWitness(back, hub.public));
  throwsCode(
    () => decodeCheckpoint(encodeCbor([1, label, label, 10, new Uint8Array(32), 0, c.hubSig, null])),
    "E.SIZE",
  );
});

Deno.test("error body carries code, detail and retry_after with text keys", () => {
  const b = encodeErrorBody(new VeenError("E.RATE", "slow down", { retryAfter: 2 }));
  const e = decodeErrorBody(b)!;
  assert.equal(e.code, "E.RATE");
  assert.equal(e.detail, "slow down");
  assert.equal(e.retryAfter, 2);
  assert.equal(decodeErrorBody(encodeCbor(new Map([["code", "E.NOPE"]]))), undefined);
});

Deno.test("fuzz: mutated MSG, RECEIPT and CHECKPOINT bytes raise only VeenError", () => {
  const r = prng(42);
  const seeds = [
    encodeMsg(sampleMsg()),
    encodeReceipt(
      signReceipt({ ver: 1, label, streamSeq: 1, leafHash: label, mmrRoot: label, hubTs: 1 }, hub.secret),
    ),
    encodeCheckpoint(
      signCheckpoint(
        { ver: 1, labelPrev: label, labelCurr: label, uptoSeq: 1, mmrRoot: label, epoch: 0 },
        hub.secret,
      ),
    ),
  ];
  const decoders = [decodeMsg, decodeReceipt, decodeCheckpoint];
  for (let i = 0; i < 3000; i++) {
    const seed = seeds[r.int(seeds.length)]!;
    let b: Uint8Array;
    switch (r.int(4)) {
      case 0:
        b = r.bytes(r.int(300));
        break;
      case 1:
        b = seed.slice(0, r.int(seed.length));
        break;
      case 2: {
        b = seed.slice();
        for (let k = 0; k < 1 + r.int(4); k++) b[r.int(b.length)] = r.int(256);
        break;
      }
      default:
        b = concat(seed, r.bytes(1 + r.int(4)));
    }
    for (const d of decoders) {
      try {
        d(b);
      } catch (e) {
        assert.ok(e instanceof VeenError, `non-VeenError from ${d.name}: ${String(e)}`);
      }
    }
  }
});

Deno.test("decodeMsg's strict reader rejects non-minimal heads, indefinite lengths and wrong types", () => {
  const b = encodeMsg(sampleMsg());
  // client_seq (1) re-encoded as 0x18 0x01
  const i = b.indexOf(0x01, 1 + 1 + 34 * 3);
  const nonMinimal = concat(b.subarray(0, i), new Uint8Array([0x18, 0x01]), b.subarray(i + 1));
  throwsCode(() => decodeMsg(nonMinimal), "E.SIZE");
  throwsCode(
    () => decodeMsg(concat(new Uint8Array([0x9f]), b.subarray(1), new Uint8Array([0xff]))),
    "E.SIZE",
  );
  const textLabel = b.slice();
  textLabel[1 + 1 + 34] = 0x78; // text string head where a byte string must be
  throwsCode(() => decodeMsg(textLabel), "E.SIZE");
});

Deno.test("the signing digest spliced from received bytes equals the re-encoded one", () => {
  const m = sampleMsg(new Uint8Array(32).fill(4));
  const decoded = decodeMsg(encodeMsg(m));
  assert.equal(toHex(msgSigningDigest(decoded)), toHex(msgSigningDigest({ ...decoded })));
  assert.equal(toHex(msgSigningDigest(decoded)), toHex(msgSigningDigest(m)));
});
