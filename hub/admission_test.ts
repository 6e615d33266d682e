import assert from "node:assert/strict";
import {
  authRef,
  type CapToken,
  type CborValue,
  encodeCapToken,
  extendCapChain,
  issueCapToken,
  type SigningKey,
  streamIdFor,
} from "../core/mod.ts";
import { cbor, errorCode, postCbor, startTestHub, submit, Writer } from "../tests/fixture.ts";
import { fsck } from "./fsck.ts";
import type { RunningHub } from "./hub.ts";

const T0 = 1_700_000_000;

function issue(
  issuer: SigningKey,
  w: Writer,
  stream: string,
  ttl: number,
  rate?: { perSec: number; burst: number },
) {
  return issueCapToken({
    issuerSecret: issuer.secret,
    issuerPk: issuer.public,
    subjectPk: w.key.public,
    streamIds: [streamIdFor(stream)],
    ttl,
    ...(rate ? { rate } : {}),
  });
}

/** POST /authorize: the answer's expires_at, or the error code. */
async function authorize(hub: RunningHub, tok: CapToken | Uint8Array): Promise<number | string> {
  const r = await postCbor(hub.url, "/authorize", tok instanceof Uint8Array ? tok : encodeCapToken(tok));
  return r.status === 200 ? (cbor(r) as Map<string, CborValue>).get("expires_at") as number : errorCode(r);
}

type Life = (body: (hub: RunningHub) => Promise<void>, o?: { rebuildIndex?: boolean }) => Promise<void>;

/**
 * Runs `fn` over successive lives of an admission-on hub on one temp data dir with clock `clock.ms`: each `life`
 * starts a hub (after deleting index.kv* when asked, so the start rebuilds it), runs `body` and closes it. fsck must
 * pass on the data dir afterwards.
 */
async function overLives(fn: (life: Life, clock: { ms: number }) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "veen-adm-" });
  const clock = { ms: T0 * 1000 };
  const life: Life = async (body, o = {}) => {
    for (const f of o.rebuildIndex ? ["index.kv", "index.kv-wal", "index.kv-shm"] : []) {
      await Deno.remove(`${dir}/${f}`).catch(() => {});
    }
    const hub = await startTestHub(dir, { admission: "on" }, { now: () => clock.ms });
    try {
      await body(hub);
    } finally {
      await hub.close();
    }
  };
  try {
    await fn(life, clock);
    assert.equal((await fsck(dir)).error, undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("authorize refuses a ttl or rate that no record can hold, and the store restarts and passes fsck", async () => {
  await overLives(async (life) => {
    const w = new Writer("adm/ttl", 3);
    const max = Number.MAX_SAFE_INTEGER;
    let edge!: CapToken;
    await life(async (hub) => {
      for (const ttl of [max, max - T0 + 1, max - 1]) {
        assert.equal(await authorize(hub, issue(hub.hubKey, w, "adm/ttl", ttl)), "E.CAP", `ttl ${ttl}`);
      }
      // Not a safe integer at all: the token does not decode.
      assert.equal(await authorize(hub, issue(hub.hubKey, w, "adm/ttl", 2 ** 53)), "E.SIZE");
      const rate = { perSec: 2 ** 53, burst: 1 };
      assert.equal(await authorize(hub, issue(hub.hubKey, w, "adm/ttl", 60, rate)), "E.SIZE");
      // The largest ttl and rate that fit are installed and usable.
      edge = issue(hub.hubKey, w, "adm/ttl", max - T0, { perSec: max, burst: max });
      assert.equal(await authorize(hub, edge), max);
      assert.equal((await submit(hub.url, w.msg({ authRef: authRef(edge) }))).status, 200);
    });
    await life(async (hub) => {
      assert.equal((await submit(hub.url, w.msg({ authRef: authRef(edge) }))).status, 200);
    });
    await life(async (hub) => assert.equal(await authorize(hub, edge), max), { rebuildIndex: true });
  });
});

Deno.test("a prefix of a chain shares its issued_at and rate bucket, before and after a restart and an index rebuild", async () => {
  await overLives(async (life, clock) => {
    const w = new Writer("adm/chain", 4);
    let third!: CapToken, cutToFirst!: CapToken;
    await life(async (hub) => {
      const first = issue(hub.hubKey, w, "adm/chain", 60, { perSec: 1, burst: 2 });
      const second = extendCapChain(first, hub.hubKey.secret);
      third = extendCapChain(second, hub.hubKey.secret);
      // An expired two-link token cut to its first link (the attack of issue 17).
      cutToFirst = issue(hub.hubKey, w, "adm/chain", 30);
      const expiredChain = extendCapChain(cutToFirst, hub.hubKey.secret);
      assert.equal(await authorize(hub, expiredChain), T0 + 30);
      assert.equal(await authorize(hub, second), T0 + 60);
      assert.equal((await submit(hub.url, w.msg({ authRef: authRef(second) }))).status, 200);
      assert.equal((await submit(hub.url, w.msg({ authRef: authRef(second) }))).status, 200);
      // The prefix takes from the chain's bucket (burst 2, now empty).
      assert.equal(await authorize(hub, first), T0 + 60);
      let r = await submit(hub.url, w.msg({ clientSeq: 3, authRef: authRef(first) }));
      assert.deepEqual([r.status, errorCode(r)], [429, "E.RATE"]);
      clock.ms += 31_000;
      r = await submit(hub.url, w.msg({ clientSeq: 3, authRef: authRef(expiredChain) }));
      assert.deepEqual([r.status, errorCode(r)], [403, "E.CAP"]);
      assert.equal(await authorize(hub, cutToFirst), "E.CAP", "the first link of an expired chain");
    });
    await life(async (hub) => {
      assert.equal(await authorize(hub, third), T0 + 60, "an extension authorized after a restart");
      assert.equal(await authorize(hub, cutToFirst), "E.CAP");
    });
    await life(async (hub) => {
      assert.equal(await authorize(hub, cutToFirst), "E.CAP", "after the index was rebuilt");
      clock.ms += 30_000;
      const r = await submit(hub.url, w.msg({ clientSeq: 3, authRef: authRef(third) }));
      assert.deepEqual([r.status, errorCode(r)], [403, "E.CAP"]);
    }, { rebuildIndex: true });
  });
});
