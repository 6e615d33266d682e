import assert from "node:assert/strict";
import { throwsCode } from "../tests/util.ts";
import { H, MmrAccumulator, toHex } from "../core/mod.ts";
import {
  checkedViewOf,
  decodeState,
  emptyState,
  encodeState,
  labelStateFor,
  readState,
  setView,
  viewOf,
  withStateLock,
  writeState,
} from "./client_state.ts";
import { CommandError } from "../cmd/mod.ts";
import { tempDir } from "./testing/run.ts";

const hubId = new Uint8Array(32).fill(1);
const target = {
  stream: "core/main",
  streamId: new Uint8Array(32).fill(2),
  label: new Uint8Array(32).fill(3),
};
const me = new Uint8Array(32).fill(4);

function stateWithView(n: number) {
  const s = emptyState();
  s.hubs[toHex(hubId)] = { hub_pk: toHex(hubId), profile_id: toHex(hubId), routing_key_hex: "", labels: {} };
  const ls = labelStateFor(s, hubId, target, me, 10);
  const v = new MmrAccumulator();
  for (let i = 0; i < n; i++) v.append(H(new Uint8Array([i])));
  setView(ls, v);
  return { s, ls, v };
}

Deno.test("state.json round-trips, keeps its view, and is written with mode 0600", async () => {
  const t = await tempDir();
  try {
    assert.deepEqual(await readState(t.path), emptyState());
    const { s, v } = stateWithView(5);
    await writeState(t.path, s);
    assert.equal((await Deno.stat(`${t.path}/state.json`)).mode! & 0o777, 0o600);
    const back = await readState(t.path);
    assert.equal(encodeState(back), encodeState(s));
    const bv = viewOf(back.hubs[toHex(hubId)]!.labels[toHex(target.label)]);
    assert.equal(bv.size, 5);
    assert.deepEqual(bv.root(), v.root());
  } finally {
    await t.cleanup();
  }
});

Deno.test("decodeState() rejects damaged files as usage errors", () => {
  const { s } = stateWithView(3);
  const text = encodeState(s);
  assert.throws(() => decodeState("{"), CommandError);
  assert.throws(() => decodeState(text.replace('"version": 1', '"version": 2')), CommandError);
  const o = JSON.parse(text);
  o.hubs[toHex(hubId)].labels[toHex(target.label)].mmr_peaks.pop();
  assert.throws(() => decodeState(JSON.stringify(o)), /mmr_peaks count/);
});

Deno.test("checkedViewOf() refuses a stored root that is not the root of the stored peaks", () => {
  const { ls } = stateWithView(3);
  checkedViewOf(ls);
  ls.last_mmr_root = "00".repeat(32);
  throwsCode(() => checkedViewOf(ls), "E.SEQ");
});

Deno.test("labelStateFor() restarts client_seq when client_id has rotated", () => {
  const { s, ls } = stateWithView(2);
  ls.client_seq = 9;
  const other = new Uint8Array(32).fill(9);
  const again = labelStateFor(s, hubId, target, other, 20);
  assert.equal(again.client_seq, 0);
  assert.equal(again.client_id, toHex(other));
  assert.equal(again.last_stream_seq, 2);
});

Deno.test("withStateLock() serializes writers: concurrent read-modify-writes lose no update", async () => {
  const t = await tempDir();
  try {
    const file = `${t.path}/counter`;
    await Deno.writeTextFile(file, "0");
    let inside = 0;
    let most = 0;
    // All start at once; each reads, writes back one more, and re-reads (file I/O, so the others get to run).
    await Promise.all(Array.from({ length: 8 }, () =>
      withStateLock(t.path, async () => {
        most = Math.max(most, ++inside);
        const n = Number(await Deno.readTextFile(file));
        await Deno.writeTextFile(file, String(n + 1));
        assert.equal(Number(await Deno.readTextFile(file)), n + 1);
        inside--;
      })));
    assert.equal(most, 1, "one writer at a time");
    assert.equal(await Deno.readTextFile(file), "8");
  } finally {
    await t.cleanup();
  }
});

Deno.test("previous_keys (KEX0.1) is optional and checked when present", () => {
  const { s } = stateWithView(1);
  const text = encodeState(s);
  assert.equal(decodeState(text).hubs[toHex(hubId)]!.previous_keys, undefined); // older files load
  const o = JSON.parse(text);
  const entry = o.hubs[toHex(hubId)];
  entry.previous_keys = [{ hub_pk: "ab".repeat(32), upto_seq: { [toHex(target.label)]: 4 } }];
  assert.deepEqual(decodeState(JSON.stringify(o)).hubs[toHex(hubId)]!.previous_keys, entry.previous_keys);
  entry.previous_keys[0].upto_seq[toHex(target.label)] = -1;
  assert.throws(() => decodeState(JSON.stringify(o)), /previous_keys/);
  entry.previous_keys = [{ hub_pk: "zz", upto_seq: {} }];
  assert.throws(() => decodeState(JSON.stringify(o)), /previous_keys/);
});
