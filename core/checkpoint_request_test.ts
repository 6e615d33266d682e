import assert from "node:assert/strict";
import { signingKeyFromSeed } from "./ed25519.ts";
import {
  decodeCheckpointRequest,
  encodeCheckpointRequest,
  signCheckpointRequest,
  verifyCheckpointRequestSig,
} from "./checkpoint_request.ts";
import { throwsCode } from "../tests/util.ts";

const admin = signingKeyFromSeed(new Uint8Array(32).fill(6));
const l = (b: number) => new Uint8Array(32).fill(b);

Deno.test("checkpoint request: round trip; the signature binds hub_id, labels and ts", () => {
  const r = signCheckpointRequest(
    { ver: 1, hubId: l(1), labels: [l(2), l(3)], ts: 100, authRef: null },
    admin.public,
    admin.secret,
  );
  const back = decodeCheckpointRequest(encodeCheckpointRequest(r));
  assert.deepEqual(back, r);
  assert.ok(verifyCheckpointRequestSig(back));
  assert.equal(verifyCheckpointRequestSig({ ...r, hubId: l(9) }), false);
  assert.equal(verifyCheckpointRequestSig({ ...r, ts: 101 }), false);
  assert.equal(verifyCheckpointRequestSig({ ...r, labels: [l(2)] }), false);
  assert.equal(verifyCheckpointRequestSig({ ...r, clientId: l(4) }), false);
});

Deno.test("checkpoint request: no labels or a label twice are E.SIZE", () => {
  for (const labels of [[], [l(2), l(2)]]) {
    const r = signCheckpointRequest(
      { ver: 1, hubId: l(1), labels, ts: 1, authRef: l(5) },
      admin.public,
      admin.secret,
    );
    throwsCode(() => decodeCheckpointRequest(encodeCheckpointRequest(r)), "E.SIZE");
  }
});
