/**
 * The map state classes against a real hub: `op state-checkpoint --state-class counter.map|configuration.map`
 * computes the state_hash of the crdt.gcnt.v1 / crdt.lww.v1 fold up to upto_stream_seq (read from the block
 * summaries), which equals the hash of the naive fold's deterministic CBOR; `snapshot verify` finds it consistent
 * and a forged state_hash is a mismatch (exit 4 naming state_hash).
 */
import assert from "node:assert/strict";
import { toHex, utf8 } from "../core/mod.ts";
import {
  CHUNK_ITEMS,
  configurationMapBytes,
  counterFold,
  counterMapBytes,
  encodeCounterOp,
  encodeLwwOp,
  type Fold,
  GCNT_SCHEMA,
  LWW_SCHEMA,
  lwwFold,
  stateHash,
} from "../overlays/mod.ts";
import { sendBodies } from "./testing/bulk_send.ts";
import { newClient, runCli } from "./testing/run.ts";
import { ok, withRealHub } from "./testing/with_real_hub.ts";

Deno.test("snapshot verify --state-class counter.map and configuration.map: consistent, and a forged state_hash is found", async () => {
  await withRealHub({}, async (hub, root) => {
    const u = await newClient(root, "u");
    const id = ok(await runCli(["id", "show", "--client", u, "--json"])).json().client_id as string;
    const shard = Uint8Array.from(id.match(/../g)!.map((h) => parseInt(h, 16)));
    const n = 2 * CHUNK_ITEMS + 40;
    // Counter deltas and LWW writes interleaved; timestamps repeat, so stream_seq breaks ties.
    const ops = Array.from(
      { length: n },
      (_, i) =>
        i % 3 === 0 ? { hdr: { schema: GCNT_SCHEMA }, body: encodeCounterOp({ shard, delta: i }) } : {
          hdr: { schema: LWW_SCHEMA },
          body: encodeLwwOp({ key: utf8(`k${i % 7}`), ts: i % 11, value: utf8(`v${i}`) }),
        },
    );
    assert.equal(await sendBodies(hub.url, u, "m", ops), 1);
    const cli = (...args: string[]) =>
      runCli([...args, "--hub", hub.url, "--client", u, "--stream", "m", "--json"]);
    const stateId = "5e".repeat(32);
    /** The state_hash of class `cls` over the naive fold of stream items 1..k. */
    const naive = <S>(cls: string, fold: Fold<S>, bytes: (s: S) => Uint8Array) => (k: number) => {
      const st = fold.empty();
      ops.slice(0, k).forEach((o, i) =>
        fold.apply(st, { seq: i + 1, msgId: new Uint8Array(32), clientId: shard, hubTs: 0, ...o })
      );
      return toHex(stateHash(cls, bytes(st)));
    };
    for (
      const [cls, naiveHash] of [
        ["counter.map", naive("counter.map", counterFold, counterMapBytes)],
        ["configuration.map", naive("configuration.map", lwwFold, configurationMapBytes)],
      ] as const
    ) {
      const upto = CHUNK_ITEMS + 99;
      const expected = naiveHash(upto);
      const checkpoint = async (seq: number, ...more: string[]) =>
        ok(
          await cli(
            ...["op", "state-checkpoint", "--state-id", stateId, "--state-class", cls],
            ...["--upto-stream-seq", String(seq), ...more],
          ),
        ).json().body as Record<string, unknown>;
      assert.equal((await checkpoint(upto)).state_hash, expected, cls);
      const verify = (seq: number) =>
        cli(
          "snapshot",
          "verify",
          "--state-id",
          stateId,
          "--upto-stream-seq",
          String(seq),
          "--state-class",
          cls,
        );
      const good = ok(await verify(upto)).json();
      assert.equal(good.consistent, true);
      assert.equal(good.computed_state_hash, expected);
      // A checkpoint whose state_hash is not the fold's (here: the state 100 items earlier) is a mismatch.
      const forgedHash = naiveHash(upto - 100);
      assert.notEqual(forgedHash, naiveHash(upto + 2));
      assert.equal((await checkpoint(upto + 2, "--state-hash", forgedHash)).state_hash, forgedHash);
      const bad = await verify(upto + 2);
      assert.equal(bad.code, 4, bad.stdout + bad.stderr);
      assert.equal(bad.json().first_mismatch, "state_hash");
      assert.match(String(bad.json().detail), /state_hash/);
    }
    const unknown = await cli(
      "snapshot",
      "verify",
      "--state-id",
      stateId,
      "--upto-stream-seq",
      "1",
      "--state-class",
      "gauge.map",
    );
    assert.equal(unknown.code, 1);
    assert.match(unknown.stdout, /wallet\.ledger, counter\.map, configuration\.map/);
  });
});
