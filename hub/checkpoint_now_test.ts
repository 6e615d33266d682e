/**
 * POST /checkpoint/now on an in-process hub (hub/checkpoint_now.ts): an admin key's request gets a CHECKPOINT at the
 * durable head and a signed export checkpoint; another hub's id, a stale ts, a bad signature, a non-admin on a hub
 * with admin keys and garbage are refused with their codes, and a refusal writes nothing.
 */
import assert from "node:assert/strict";
import {
  decodeCbor,
  decodeCheckpoint,
  decodeExportCheckpoint,
  encodeCheckpointRequest,
  hubIdFor,
  signCheckpointRequest,
  signingKeyFromSeed,
  toHex,
  verifyExportCheckpointSig,
} from "../core/mod.ts";
import { errorCode, postCbor, submit, withHub, Writer } from "../tests/fixture.ts";

const admin = signingKeyFromSeed(new Uint8Array(32).fill(41));
const stranger = signingKeyFromSeed(new Uint8Array(32).fill(42));

Deno.test("POST /checkpoint/now: CHECKPOINT at the head and export checkpoint for an admin; refusals by code", async () => {
  await withHub({ adminKeys: [toHex(admin.public)] }, async (hub) => {
    const w = new Writer("cp/now");
    for (let i = 0; i < 3; i++) assert.equal((await submit(hub.url, w.msg({ prevAck: i }))).status, 200);
    const now = Math.floor(Date.now() / 1000);
    const hubId = hubIdFor(hub.hubKey.public);
    const req = (o: { by?: typeof admin; hubId?: Uint8Array; ts?: number; labels?: Uint8Array[] } = {}) =>
      encodeCheckpointRequest(signCheckpointRequest(
        { ver: 1, hubId: o.hubId ?? hubId, labels: o.labels ?? [w.label], ts: o.ts ?? now, authRef: null },
        (o.by ?? admin).public,
        (o.by ?? admin).secret,
      ));
    const refusals: [Uint8Array, string][] = [
      [req({ hubId: new Uint8Array(32) }), "E.AUTH"],
      [req({ ts: now - 3600 }), "E.TIME"],
      [req({ by: stranger }), "E.AUTH"],
      [req({ labels: [new Uint8Array(32).fill(7)] }), "E.NOT_FOUND"],
      [new Uint8Array([1, 2, 3]), "E.SIZE"],
    ];
    const badSig = req();
    badSig[badSig.length - 1] = badSig[badSig.length - 1]! ^ 1;
    refusals.push([badSig, "E.SIG"]);
    for (const [body, code] of refusals) {
      const r = await postCbor(hub.url, "/checkpoint/now", body);
      assert.equal(errorCode(r), code);
    }
    assert.equal((await fetch(`${hub.url}/checkpoint_latest?label=${toHex(w.label)}`)).status, 404);

    const r = await postCbor(hub.url, "/checkpoint/now", req());
    assert.equal(r.status, 200);
    const [cps, exp] = decodeCbor(r.body) as [Uint8Array[], Uint8Array];
    const cp = decodeCheckpoint(cps[0]!);
    assert.equal(cp.uptoSeq, 3);
    const e = decodeExportCheckpoint(exp);
    assert.ok(verifyExportCheckpointSig(e));
    assert.deepEqual([e.streams[0]!.lastSeq, toHex(e.streams[0]!.mmrRoot)], [3, toHex(cp.mmrRoot)]);
    const latest = new Uint8Array(
      await (await fetch(`${hub.url}/checkpoint_latest?label=${toHex(w.label)}`)).arrayBuffer(),
    );
    assert.deepEqual(latest, cps[0]);
  });
});
