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

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "veen-adm-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("authorize refuses a ttl or rate that no record can hold, and the store restarts and passes fsck", async () => {
  await withDir(async (dir) => {
    const now = T0 * 1000;
    let hub = await startTestHub(dir, { admission: "on" }, { now: () => now });
    const w = new Writer("adm/ttl", 3);
    const max = Number.MAX_SAFE_INTEGER;
    const edge = issue(hub.hubKey, w, "adm/ttl", max - T0, { perSec: max, burst: max });
    try {
      for (const ttl of [max, max - T0 + 1, max - 1]) {
        assert.equal(await authorize(hub, issue(hub.hubKey, w, "adm/ttl", ttl)), "E.CAP", `ttl ${ttl}`);
      }
      // Not a safe integer at all: the token does not decode.
      assert.equal(await authorize(hub, issue(hub.hubKey, w, "adm/ttl", 2 ** 53)), "E.SIZE");
      assert.equal(
        await authorize(hub, issue(hub.hubKey, w, "adm/ttl", 60, { perSec: 2 ** 53, burst: 1 })),
        "E.SIZE",
      );
      // The largest ttl and rate that fit are installed and usable.
      assert.equal(await authorize(hub, edge), max);
      assert.equal((await submit(hub.url, w.msg({ authRef: authRef(edge) }))).status, 200);
    } finally {
      await hub.close();
    }
    assert.equal((await fsck(dir)).error, undefined);
    hub = await startTestHub(dir, { admission: "on" }, { now: () => now });
    try {
      assert.equal((await submit(hub.url, w.msg({ authRef: authRef(edge) }))).status, 200);
    } finally {
      await hub.close();
    }
    // An index rebuilt from admissions.cborseq starts as well.
    for (const f of ["index.kv", "index.kv-wal", "index.kv-shm"]) {
      await Deno.remove(`${dir}/${f}`).catch(() => {});
    }
    hub = await startTestHub(dir, { admission: "on" }, { now: () => now });
    try {
      assert.equal(await authorize(hub, edge), max);
    } finally {
      await hub.close();
    }
    assert.equal((await fsck(dir)).error, undefined);
  });
});

Deno.test("a prefix of a chain shares its issued_at and rate bucket, before and after a restart and an index rebuild", async () => {
  await withDir(async (dir) => {
    let now = T0 * 1000;
    const start = () => startTestHub(dir, { admission: "on" }, { now: () => now });
    let hub = await start();
    const key = hub.hubKey;
    const w = new Writer("adm/chain", 4);
    const first = issue(key, w, "adm/chain", 60, { perSec: 1, burst: 2 });
    const second = extendCapChain(first, key.secret);
    const third = extendCapChain(second, key.secret);
    // An expired two-link token cut to its first link (the attack of issue 17).
    const cutToFirst = issue(key, w, "adm/chain", 30);
    const expiredChain = extendCapChain(cutToFirst, key.secret);
    try {
      assert.equal(await authorize(hub, expiredChain), T0 + 30);
      assert.equal(await authorize(hub, second), T0 + 60);
      assert.equal((await submit(hub.url, w.msg({ authRef: authRef(second) }))).status, 200);
      assert.equal((await submit(hub.url, w.msg({ authRef: authRef(second) }))).status, 200);
      // The prefix takes from the chain's bucket (burst 2, now empty).
      assert.equal(await authorize(hub, first), T0 + 60);
      let r = await submit(hub.url, w.msg({ clientSeq: 3, authRef: authRef(first) }));
      assert.deepEqual([r.status, errorCode(r)], [429, "E.RATE"]);
      now += 31_000;
      r = await submit(hub.url, w.msg({ clientSeq: 3, authRef: authRef(expiredChain) }));
      assert.deepEqual([r.status, errorCode(r)], [403, "E.CAP"]);
      assert.equal(await authorize(hub, cutToFirst), "E.CAP", "the first link of an expired chain");
    } finally {
      await hub.close();
    }
    hub = await start();
    try {
      assert.equal(await authorize(hub, third), T0 + 60, "an extension authorized after a restart");
      assert.equal(await authorize(hub, cutToFirst), "E.CAP");
    } finally {
      await hub.close();
    }
    for (const f of ["index.kv", "index.kv-wal", "index.kv-shm"]) {
      await Deno.remove(`${dir}/${f}`).catch(() => {});
    }
    hub = await start();
    try {
      assert.equal(await authorize(hub, cutToFirst), "E.CAP", "after the index was rebuilt");
      now += 30_000;
      const r = await submit(hub.url, w.msg({ clientSeq: 3, authRef: authRef(third) }));
      assert.deepEqual([r.status, errorCode(r)], [403, "E.CAP"]);
    } finally {
      await hub.close();
    }
    assert.equal((await fsck(dir)).error, undefined);
  });
});
