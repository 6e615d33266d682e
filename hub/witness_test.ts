import assert from "node:assert/strict";
import {
  type Checkpoint,
  checkpointToCbor,
  decodeCheckpoint,
  decodeErrorBody,
  encodeCbor,
  hasWitness,
  signCheckpoint,
  signingKeyFromSeed,
  toHex,
  verifyCheckpointSig,
} from "../core/mod.ts";
import {
  dirWithHubKey as dirWithKey,
  http,
  postCbor,
  startTestHub as start,
  submit,
  Writer,
} from "../tests/fixture.ts";
import { WITNESS_FILE } from "./witness.ts";

type Hub = Awaited<ReturnType<typeof start>>;

const A = signingKeyFromSeed(new Uint8Array(32).fill(41));
const OTHER = signingKeyFromSeed(new Uint8Array(32).fill(42));

async function latest(hub: Hub, label: Uint8Array): Promise<Checkpoint> {
  const r = await http(`${hub.url}/checkpoint_latest?label=${toHex(label)}`);
  assert.equal(r.status, 200);
  return decodeCheckpoint(r.body);
}

/** POST /witness/cosign: status and error code (or "ok"). */
async function cosign(w: Hub, c: Checkpoint, proof: Uint8Array | null = null): Promise<[number, string]> {
  const { witnessSigs: _, ...bare } = c;
  const r = await postCbor(w.url, "/witness/cosign", encodeCbor([checkpointToCbor(bare), proof]));
  return [r.status, r.status === 200 ? "ok" : decodeErrorBody(r.body)!.code];
}

Deno.test("a hub's CHECKPOINTs carry the signatures of its witnesses, which refuse forks, rollbacks and strangers", async () => {
  const root = await Deno.makeTempDir({ prefix: "veen-witness-" });
  const hubs: Hub[] = [];
  try {
    const w1 = await start(`${root}/w1`, { witnessFor: [toHex(A.public)] });
    const w2 = await start(`${root}/w2`, { witnessFor: [toHex(A.public)] });
    hubs.push(w1, w2);
    const a = await start(await dirWithKey(root, "a", A), {
      checkpointEvery: 2,
      witnesses: [w1.url, w2.url],
    });
    hubs.push(a);
    const w = new Writer("t/witnessed");
    for (let i = 0; i < 4; i++) assert.equal((await submit(a.url, w.msg())).status, 200);
    await a.settled();
    const cp = await latest(a, w.label);
    assert.equal(cp.uptoSeq, 4);
    assert.ok(verifyCheckpointSig(cp, A.public));
    assert.equal(cp.witnessSigs?.length, 2);
    assert.ok(hasWitness(cp, w1.hubKey.public) && hasWitness(cp, w2.hubKey.public));
    // The second CHECKPOINT (4) was cosigned through a consistency proof from the first (2).
    const last = JSON.parse(new TextDecoder().decode(
      (await http(`${w1.url}/witness/last?hub_pk=${toHex(A.public)}&label=${toHex(w.label)}`)).body,
    ));
    assert.equal(last.upto_seq, 4);
    assert.equal(last.mmr_root, toHex(cp.mmrRoot));

    // A fork at the cosigned position, a rollback, a jump without proof, and another hub's CHECKPOINT: refused.
    const body = { ...cp, witnessSigs: undefined };
    const forked = signCheckpoint({ ...body, mmrRoot: new Uint8Array(32).fill(7) }, A.secret);
    assert.deepEqual(await cosign(w1, forked), [409, "E.SEQ"]);
    assert.deepEqual(await cosign(w1, signCheckpoint({ ...body, uptoSeq: 2 }, A.secret)), [409, "E.SEQ"]);
    assert.deepEqual(await cosign(w1, signCheckpoint({ ...body, uptoSeq: 6 }, A.secret)), [409, "E.SEQ"]);
    assert.deepEqual(await cosign(w1, signCheckpoint(body, OTHER.secret)), [403, "E.AUTH"]);
    // The same CHECKPOINT again is cosigned (idempotent); a hub witnessing nobody refuses.
    assert.deepEqual(await cosign(w1, cp), [200, "ok"]);
    assert.deepEqual(await cosign(a, cp), [403, "E.AUTH"]);
    const size = (await Deno.stat(`${root}/w1/${WITNESS_FILE}`)).size;

    // The witness keeps its position across a restart: the fork is still refused, nothing was appended.
    await w1.close();
    hubs.splice(hubs.indexOf(w1), 1);
    const w1b = await start(`${root}/w1`, { witnessFor: [toHex(A.public)] });
    hubs.push(w1b);
    assert.deepEqual(await cosign(w1b, forked), [409, "E.SEQ"]);
    assert.equal((await Deno.stat(`${root}/w1/${WITNESS_FILE}`)).size, size);
  } finally {
    for (const h of hubs) await h.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a witness that cannot be reached is counted and the CHECKPOINT is stored with the others' signatures", async () => {
  const root = await Deno.makeTempDir({ prefix: "veen-witness-" });
  const hubs: Hub[] = [];
  try {
    const w1 = await start(`${root}/w1`, { witnessFor: [toHex(A.public)] });
    hubs.push(w1);
    // A listener that is closed at once: its port refuses connections.
    const gone = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const deadUrl = `http://127.0.0.1:${(gone.addr as Deno.NetAddr).port}`;
    gone.close();
    const a = await start(await dirWithKey(root, "a", A), {
      checkpointEvery: 1,
      witnesses: [deadUrl, w1.url],
    });
    hubs.push(a);
    const w = new Writer("t/witnessed");
    assert.equal((await submit(a.url, w.msg())).status, 200);
    await a.settled();
    const cp = await latest(a, w.label);
    assert.equal(cp.witnessSigs?.length, 1);
    assert.ok(hasWitness(cp, w1.hubKey.public));
    const m = new TextDecoder().decode((await http(a.url + "/metrics")).body);
    assert.match(m, /^veen_witness_fail_total 1$/m);
  } finally {
    for (const h of hubs) await h.close();
    await Deno.remove(root, { recursive: true });
  }
});
