/**
 * Catch-up after an authority flip (hub/catch_up.ts) and `veen hub promote` (hub/promote.ts): the new primary
 * answers 503 `catching up` until it holds the old primary's entries (asked through peer_hubs), then accepts; a
 * promotion ends the wait at once and reports what may be lost.
 */
import assert from "node:assert/strict";
import { captureIo } from "../cmd/mod.ts";
import { decodeErrorBody, toHex } from "../core/mod.ts";
import { errorCode, http, postCbor, submit, Writer } from "../tests/fixture.ts";
import { publishAuthority, startRealmHub } from "../tests/federation.ts";
import { hubMain } from "./commands.ts";

const [A, B] = ["fed/a", "fed/b"];

Deno.test("after a flip the new primary is catching up until it holds the old primary's entries; promote forces it", async () => {
  const pDir = await Deno.makeTempDir({ prefix: "veen-flip-p-" });
  const nDir = await Deno.makeTempDir({ prefix: "veen-flip-n-" });
  const p = await startRealmHub(pDir);
  // N's clock runs 5 s ahead, so a flip record dated 2 s from now is in force on N while every entry P wrote
  // before it is still decided by the record that made P primary.
  const n = await startRealmHub(nDir, pDir, { peerHubs: [p.url] }, { now: () => Date.now() + 5000 });
  try {
    const now = Math.floor(Date.now() / 1000);
    let seq = 0;
    for (const stream of [A, B]) {
      seq++;
      for (const h of [p, n]) {
        await publishAuthority(h, seq, { stream, primary: p, replicas: [n], ts: now - 3600 });
      }
    }
    const [wa, wb] = [new Writer(A, 50), new Writer(B, 51)];
    for (let i = 0; i < 3; i++) assert.equal((await submit(p.url, wa.msg())).status, 200);
    for (let i = 0; i < 2; i++) assert.equal((await submit(p.url, wb.msg())).status, 200);
    const copy = async (w: Writer, from: number, to: number) => {
      const page = (await http(`${p.url}/stream?label=${toHex(w.label)}&from=${from}&to=${to}`)).body;
      const r = await postCbor(n.url, `/replicate?primary_pk=${toHex(p.hubKey.public)}`, page);
      assert.equal(r.status, 200, new TextDecoder().decode(r.body));
    };
    await copy(wa, 1, 2);
    await copy(wb, 1, 1);
    for (const stream of [A, B]) {
      seq++;
      for (const h of [p, n]) {
        await publishAuthority(h, seq, { stream, primary: n, replicas: [p], ts: now + 2 });
      }
    }
    // N is primary of both now, but holds 2 of P's 3 entries of A: 503 catching up.
    const early = await submit(n.url, wa.msg());
    assert.equal(early.status, 503);
    assert.equal(errorCode(early), "E.UNAVAILABLE");
    assert.match(
      decodeErrorBody(early.body)!.detail,
      /^catching up: this hub holds 2 of the old primary's 3 entries/,
    );
    await copy(wa, 3, 3);
    const caughtUp = await submit(n.url, wa.msg({ clientSeq: 4 }));
    assert.equal(caughtUp.status, 200, new TextDecoder().decode(caughtUp.body));
    // B: promote instead of catching up; it reports the entry that may be lost.
    assert.equal((await submit(n.url, wb.msg())).status, 503);
    await Deno.writeTextFile(
      `${nDir}/hub.state.json`,
      JSON.stringify({ url: n.url, listen: "", pid: Deno.pid }),
    );
    const clock = { now: () => Date.now() + 5000 }; // the operator's clock is N's
    const io = captureIo({}, clock);
    const code = await hubMain(
      ["promote", "--stream", B, "--hub", nDir, "--old-primary", p.url, "--json"],
      io,
    );
    assert.equal(code, 0, io.stderr());
    const out = JSON.parse(io.stdout());
    assert.deepEqual([out.local_seq, out.old_primary_seq, out.may_lose], [1, 2, 1]);
    const text = captureIo({}, clock);
    await hubMain(["promote", "--stream", B, "--hub", nDir, "--old-primary", "http://127.0.0.1:9"], text);
    assert.match(
      text.stdout(),
      /old primary unreachable: entries it accepted after stream_seq 1 may be lost/,
    );
    const promoted = await submit(n.url, wb.msg({ clientSeq: 2 }));
    assert.equal(promoted.status, 200, new TextDecoder().decode(promoted.body));
  } finally {
    await p.close();
    await n.close();
    await Deno.remove(pDir, { recursive: true });
    await Deno.remove(nDir, { recursive: true });
  }
});
