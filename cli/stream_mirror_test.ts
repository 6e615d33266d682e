/** The copy loop of cli/stream_mirror.ts, called directly against two real hubs on loopback. */
import assert from "node:assert/strict";
import { schemaIdFor, toHex, utf8 } from "../core/mod.ts";
import { FEDERATION_MIRROR } from "../overlays/mod.ts";
import { checkedViewOf, type ClientState, emptyState, labelStateFor } from "./client_state.ts";
import { connectHub, type HubSession, streamTarget } from "./hub_session.ts";
import { type ClientKeys, decryptionSecrets, generateClientKeys } from "./keystore.ts";
import { OverlayCursor } from "./overlay_cursor.ts";
import { sendMessage } from "./sender.ts";
import { copyMirror, pendingCopies, scanMirror } from "./stream_mirror.ts";
import { type RealHub, startRealHub } from "./testing/real_hub.ts";
import { tempDir } from "./testing/run.ts";
import { MIRROR_INDEX } from "../overlays/mod.ts";

const SCHEMA = schemaIdFor("app.note.v1");
const NOW = 1_800_000_000;

interface World {
  a: RealHub;
  b: RealHub;
  dir: string;
  keys: ClientKeys;
  src: HubSession;
  dst: HubSession;
  /** The client state both sessions were opened with (holds both hubs' label state). */
  state: ClientState;
}

async function withWorld(f: (w: World) => Promise<void>): Promise<void> {
  const t = await tempDir();
  const a = await startRealHub(`${t.path}/a`);
  const b = await startRealHub(`${t.path}/b`);
  try {
    const state = emptyState();
    const connect = (hub: string) => connectHub({ hub, env: () => undefined, timeoutMs: 10_000, state });
    const dir = `${t.path}/client`;
    await Deno.mkdir(dir);
    await f({
      a,
      b,
      dir,
      keys: generateClientKeys(NOW),
      src: await connect(a.url),
      dst: await connect(b.url),
      state,
    });
  } finally {
    await a.close();
    await b.close();
    await t.cleanup();
  }
}

/** Appends `bodies` to `stream` on the source hub, sealed to the client itself. */
async function append(w: World, stream: string, bodies: string[]): Promise<Uint8Array[]> {
  const target = streamTarget(w.src, stream);
  const ls = labelStateFor(w.state, w.src.hubId, target, w.keys.client.public, NOW);
  let view = checkedViewOf(ls);
  const ids: Uint8Array[] = [];
  for (const b of bodies) {
    const res = await sendMessage(w.src, target, w.keys, ls, view, {
      recipientPk: w.keys.prekey.public,
      hdr: { schema: SCHEMA },
      bodyBytes: utf8(b),
    });
    view = res.view;
    ids.push(res.msgId);
  }
  return ids;
}

function scan(w: World, stream: string, range: { first?: number; last?: number } = {}) {
  return scanMirror({
    src: w.src,
    dst: w.dst,
    from: streamTarget(w.src, stream),
    to: streamTarget(w.dst, stream),
    dir: w.dir,
    secrets: decryptionSecrets(w.keys),
    ...range,
  });
}

/** The opened entries of `stream` on the target hub: [schema hex, parent_id hex, body text]. */
async function targetEntries(w: World, stream: string): Promise<[string, string, string][]> {
  const t = await tempDir();
  try {
    const cursor = await OverlayCursor.open({
      session: w.dst,
      target: streamTarget(w.dst, stream),
      dir: t.path,
      secrets: decryptionSecrets(w.keys),
      fold: MIRROR_INDEX,
    });
    const out: [string, string, string][] = [];
    for await (const e of cursor.entries()) {
      const body = e.hdr.schema.every((x, i) => x === SCHEMA[i]) ? new TextDecoder().decode(e.body) : "";
      out.push([toHex(e.hdr.schema), toHex(e.hdr.parentId!), body]);
    }
    return out;
  } finally {
    await t.cleanup();
  }
}

Deno.test("stream_mirror: copies with parent_id = origin and the same schema and body, attests, then copies nothing twice", async () => {
  await withWorld(async (w) => {
    const ids = await append(w, "notes", ["one", "two"]);
    const s1 = await scan(w, "notes");
    assert.equal(s1.candidates.length, 2);
    assert.equal(pendingCopies(s1).length, 2);
    const state = w.state;
    const c1 = await copyMirror(s1, { keys: w.keys, state, dir: w.dir, now: NOW });
    assert.deepEqual(c1, { mirrored_count: 2, attested_count: 2, already_mirrored: 0 });
    const rec = toHex(FEDERATION_MIRROR.schemaId);
    const sch = toHex(SCHEMA);
    assert.deepEqual(await targetEntries(w, "notes"), [
      [sch, toHex(ids[0]!), "one"],
      [rec, toHex(ids[0]!), ""],
      [sch, toHex(ids[1]!), "two"],
      [rec, toHex(ids[1]!), ""],
    ]);

    // A fresh scan reads the target back: nothing is pending and a copy pass sends nothing.
    const more = await append(w, "notes", ["three"]);
    const s2 = await scan(w, "notes");
    assert.deepEqual(pendingCopies(s2).map((c) => toHex(c.receipt.leafHash)), [toHex(more[0]!)]);
    const c2 = await copyMirror(s2, { keys: w.keys, state, dir: w.dir, now: NOW, attest: false });
    assert.deepEqual(c2, { mirrored_count: 1, attested_count: 0, already_mirrored: 2 });
    const s3 = await scan(w, "notes");
    assert.equal(pendingCopies(s3).length, 0);
    assert.equal((await targetEntries(w, "notes")).length, 5);
  });
});

Deno.test("stream_mirror: only the asked range is a candidate, and the same label of the same hub is refused", async () => {
  await withWorld(async (w) => {
    await append(w, "notes", ["one", "two", "three"]);
    const s = await scan(w, "notes", { first: 2, last: 2 });
    assert.deepEqual(s.candidates.map((c) => c.receipt.streamSeq), [2]);
    assert.equal(s.srcSize, 3);
    await assert.rejects(
      () =>
        scanMirror({
          src: w.src,
          dst: w.src,
          from: streamTarget(w.src, "notes"),
          to: streamTarget(w.src, "notes"),
          dir: w.dir,
          secrets: decryptionSecrets(w.keys),
        }),
      /same label/,
    );
  });
});

Deno.test("stream_mirror: items this client cannot open are counted, not copied", async () => {
  await withWorld(async (w) => {
    await append(w, "notes", ["mine"]);
    const other = generateClientKeys(NOW);
    const s = await scanMirror({
      src: w.src,
      dst: w.dst,
      from: streamTarget(w.src, "notes"),
      to: streamTarget(w.dst, "notes"),
      dir: w.dir,
      secrets: decryptionSecrets(other),
    });
    assert.equal(s.candidates.length, 0);
    assert.equal(s.notDecryptable, 1);
  });
});
