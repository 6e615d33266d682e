import assert from "node:assert/strict";
import { encodeCbor } from "../core/mod.ts";
import { withDir } from "../tests/log_util.ts";
import { encodeFrame } from "./frame.ts";
import { headerBody, parseHeader, readSidecar, segmentName } from "./segment_index.ts";
import { StorageDamage } from "./storage_damage.ts";

Deno.test("segment names and headers round-trip; a header of another shape is none", () => {
  assert.equal(segmentName(7), "00000007");
  assert.equal(segmentName(123456789), "123456789");
  assert.deepEqual(parseHeader(headerBody("payloads", 3, 1000)), {
    kind: "payloads",
    seg: 3,
    firstRec: 1000,
  });
  assert.equal(parseHeader(encodeCbor(new Map([["v", 2]]))), undefined);
  assert.equal(parseHeader(new Uint8Array([0xff])), undefined);
});

Deno.test("readSidecar uses the good copy of a damaged sidecar and names both damaged copies by file", async () => {
  await withDir(async (dir) => {
    const map = new Map<string, unknown>([
      ["v", 1],
      ["segment", 0],
      ["first_rec", 0],
      ["last_rec", 0],
      ["records", 1],
      ["receipts_bytes", 10],
      ["payloads_bytes", 10],
      ["labels", []],
      ["marks", []],
    ]);
    const good = encodeFrame(encodeCbor(map as never));
    const bad = good.slice();
    bad[bad.length - 1]! ^= 1;
    for (const f of ["receipts", "payloads"]) await Deno.mkdir(`${dir}/${f}`);
    await Deno.writeFile(`${dir}/receipts/00000000.idx`, bad);
    await Deno.writeFile(`${dir}/payloads/00000000.idx`, good);
    const r = await readSidecar(dir, 0);
    assert.equal(r?.index.records, 1);
    assert.deepEqual(r?.damaged.map((d) => [d.file, d.offset]), [["receipts/00000000.idx", 0]]);
    await Deno.writeFile(`${dir}/payloads/00000000.idx`, bad);
    await assert.rejects(
      () => readSidecar(dir, 0),
      (e) => e instanceof StorageDamage && e.file === "receipts/00000000.idx",
    );
    assert.equal(await readSidecar(dir, 1), undefined);
  });
});
