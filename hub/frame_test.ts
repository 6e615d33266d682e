import assert from "node:assert/strict";
import { decodeCborSeq } from "../core/mod.ts";
import { withDir } from "../tests/log_util.ts";
import { encodeFrame, FrameReader, parseFrame } from "./frame.ts";

Deno.test("frames are CBOR [bstr, bstr8] items and detect torn and flipped bytes", () => {
  const f = encodeFrame(new Uint8Array([1, 2, 3]));
  const items = decodeCborSeq(f);
  assert.equal(items.length, 1);
  const [body, check] = items[0] as [Uint8Array, Uint8Array];
  assert.deepEqual([...body], [1, 2, 3]);
  assert.equal(check.length, 8);
  const ok = parseFrame(f, 0);
  assert.equal(ok.kind, "ok");
  for (let cut = 0; cut < f.length; cut++) {
    assert.equal(parseFrame(f.subarray(0, cut), 0).kind, "torn", `cut ${cut}`);
  }
  for (let i = 0; i < f.length; i++) {
    const g = f.slice();
    g[i]! ^= 0x01;
    assert.notEqual(parseFrame(g, 0).kind, "ok", `flip at ${i}`);
  }
  const big = encodeFrame(new Uint8Array(70000));
  assert.deepEqual(parseFrame(big, 0), { kind: "ok", length: big.length, bodyOffset: 6, bodyLength: 70000 });
});

Deno.test("FrameReader reads frames larger than its chunk", async () => {
  await withDir(async (dir) => {
    const frames = [
      encodeFrame(new Uint8Array(10)),
      encodeFrame(new Uint8Array(50000)),
      encodeFrame(new Uint8Array(3)),
    ];
    const all = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
    let o = 0;
    for (const f of frames) {
      all.set(f, o);
      o += f.length;
    }
    await Deno.writeFile(`${dir}/f`, all);
    let read = 0;
    const r = await FrameReader.open(`${dir}/f`, 0, (n) => (read += n), 1024);
    const lens = [];
    for (;;) {
      const f = await r.next();
      if (f.kind !== "ok") {
        assert.equal(f.kind, "end");
        break;
      }
      lens.push(f.body.length);
    }
    r.close();
    assert.deepEqual(lens, [10, 50000, 3]);
    assert.equal(read, all.length);
  });
});
