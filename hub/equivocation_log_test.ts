import assert from "node:assert/strict";
import {
  type CborValue,
  decodeCbor,
  decodeReceipt,
  encodeCbor,
  encodeReceipt,
  type Receipt,
  signReceipt,
  toHex,
} from "../core/mod.ts";
import { cbor, http, postCbor, startTestHub, submit, Writer } from "../tests/fixture.ts";
import { EquivocationLog, EQUIVOCATIONS_FILE } from "./equivocation_log.ts";

const pair = (a: Uint8Array, b: Uint8Array) => new Uint8Array([0x82, ...a, ...b]);
const text = async (url: string) => new TextDecoder().decode((await http(url)).body);
const answer = (b: Uint8Array) =>
  cbor({ status: 200, body: b, headers: new Headers() }) as Map<string, CborValue>;

/** Two RECEIPTs of one (label, seq) with different roots, both signed by the hub: a proven fork. */
function fork(r: Receipt, secret: Uint8Array, fill = 1): Uint8Array {
  return pair(
    encodeReceipt(r),
    encodeReceipt(signReceipt({ ...r, mmrRoot: new Uint8Array(32).fill(fill) }, secret)),
  );
}

Deno.test("a proven equivocation is stored once per (label, seq), listed, and kept across a restart", async () => {
  const dir = await Deno.makeTempDir({ prefix: "veen-equiv-" });
  try {
    let hub = await startTestHub(dir);
    const w = new Writer("t/equiv");
    const r1 = decodeReceipt((await submit(hub.url, w.msg())).body);
    const size = async () => (await Deno.stat(`${dir}/${EQUIVOCATIONS_FILE}`)).size;
    assert.equal(await size(), 0);

    // Not a proof (the same RECEIPT twice; a RECEIPT signed by another key): nothing is stored.
    const foreign = signReceipt({ ...r1, mmrRoot: new Uint8Array(32).fill(9) }, new Uint8Array(32).fill(5));
    for (
      const body of [
        pair(encodeReceipt(r1), encodeReceipt(r1)),
        pair(encodeReceipt(r1), encodeReceipt(foreign)),
      ]
    ) {
      const a = answer((await postCbor(hub.url, "/report_equivocation", body)).body);
      assert.equal(a.get("equivocation"), false);
    }
    assert.equal(await size(), 0);

    // A proof is stored; the same position proven again (another forged root) is not stored twice.
    const first = answer((await postCbor(hub.url, "/report_equivocation", fork(r1, hub.hubKey.secret))).body);
    assert.equal(first.get("equivocation"), true);
    assert.equal(first.get("stored"), true);
    const stored = await size();
    assert.ok(stored > 0);
    const again = answer(
      (await postCbor(hub.url, "/report_equivocation", fork(r1, hub.hubKey.secret, 2))).body,
    );
    assert.equal(again.get("equivocation"), true);
    assert.equal(again.get("stored"), false);
    assert.equal(await size(), stored);
    assert.match(await text(hub.url + "/metrics"), /^veen_equivocation_stored 1$/m);
    await hub.close();

    hub = await startTestHub(dir);
    try {
      assert.match(await text(hub.url + "/metrics"), /^veen_equivocation_stored 1$/m);
      assert.equal(JSON.parse(await text(hub.url + "/info")).equivocations, 1);
      const list = JSON.parse(await text(hub.url + "/equivocations"));
      assert.equal(list.count, 1);
      const [e] = list.equivocations;
      assert.equal(e.label, toHex(r1.label));
      assert.equal(e.stream_seq, 1);
      assert.equal(e.a, toHex(encodeReceipt(r1)));
      const b = decodeReceipt(Uint8Array.from(e.b.match(/../g), (h: string) => parseInt(h, 16)));
      assert.deepEqual(b.mmrRoot, new Uint8Array(32).fill(1));
      // After the restart the position is still known: a new proof of it is not stored again.
      const after = answer(
        (await postCbor(hub.url, "/report_equivocation", fork(r1, hub.hubKey.secret, 3))).body,
      );
      assert.equal(after.get("stored"), false);
      assert.equal(await size(), stored);
    } finally {
      await hub.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("EquivocationLog cuts a torn tail and keeps the proofs before it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "veen-equiv-" });
  try {
    let log = await EquivocationLog.open(dir);
    const e = {
      label: new Uint8Array(32).fill(1),
      seq: 3,
      a: encodeCbor([1]),
      b: encodeCbor([2]),
      reportedAt: 7,
    };
    assert.equal(await log.record(e), true);
    assert.equal(await log.record({ ...e, b: encodeCbor([3]) }), false);
    assert.equal(await log.record({ ...e, seq: 4 }), true);
    await log.close();
    await Deno.writeFile(`${dir}/${EQUIVOCATIONS_FILE}`, new Uint8Array([0x82, 0x44, 1]), {
      append: true,
    });
    const repairs: string[] = [];
    log = await EquivocationLog.open(dir, (w) => repairs.push(w));
    assert.equal(log.count, 2);
    assert.equal(repairs.length, 1);
    assert.deepEqual(log.list(1, 5).map((x) => x.seq), [4]);
    assert.deepEqual(decodeCbor(log.list(0, 1)[0]!.b), [2]);
    await log.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
