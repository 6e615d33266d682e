/**
 * Adversarial tests: the real client (`cliMain` in-process, as in cli/real_hub_test.ts) against a malicious hub
 * (cli/testing/malicious_hub.ts): a proxy in front of the real hub that holds the hub's signing key and lies.
 * For every lie the client must exit 4 with an `E.*` code and a detail naming what failed, and must not store any
 * state past the last item it verified. Scenarios: (a) forked history, (b) a proof for another leaf, (c) a
 * signature by another key, (d) a replayed RECEIPT, (e) a CHECKPOINT that does not extend an earlier one, (f) a
 * gap, (g) reordered or repeated items, (h) MSG bytes that do not match the RECEIPT's leaf.
 */
import assert from "node:assert/strict";
import {
  consistencyProof,
  decodeMsg,
  encodeCheckpoint,
  encodeConsistencyProof,
  encodeMsg,
  encodeReceipt,
  H,
  hubIdFor,
  labelFor,
  MemoryHashStore,
  MmrAccumulator,
  type Receipt,
  signingKeyFromSeed,
  streamIdFor,
  toHex,
} from "../core/mod.ts";
import { HubHttp } from "../cli/http_client.ts";
import {
  hubSeedOf,
  type MaliciousHub,
  type ProxyItem,
  startForkHub,
  startMaliciousHub,
} from "../cli/testing/malicious_hub.ts";
import { type RealHub, startRealHub } from "../cli/testing/real_hub.ts";
import { type CliRun, runCli, tempDir } from "../cli/testing/run.ts";

const STREAM = "adv/main";
const LABEL = labelFor(streamIdFor(STREAM), new Uint8Array(0), 0);

interface World {
  root: string;
  /** The honest upstream (a real hub). */
  hub: RealHub;
  /** The malicious proxy in front of it; clients talk to this one. */
  evil: MaliciousHub;
  /** `veen keygen` into `<root>/<name>`. */
  client(name: string): Promise<string>;
  /** A second real hub with the same key (a fork), closed with the world. */
  fork(): Promise<RealHub>;
}

async function withEvilHub(f: (w: World) => Promise<void>): Promise<void> {
  const t = await tempDir("veen-malicious-");
  const hub = await startRealHub(`${t.path}/a`);
  const evil = await startMaliciousHub({ upstream: hub.url, hubSeed: await hubSeedOf(`${t.path}/a`) });
  const forks: RealHub[] = [];
  try {
    await f({
      root: t.path,
      hub,
      evil,
      client: async (name) => {
        const dir = `${t.path}/${name}`;
        ok(await runCli(["keygen", "--out", dir]));
        return dir;
      },
      fork: async () => {
        const b = await startForkHub(`${t.path}/fork${forks.length}`, `${t.path}/a`);
        forks.push(b);
        return b;
      },
    });
  } finally {
    await evil.close();
    for (const b of forks) await b.close();
    await hub.close();
    await t.cleanup();
  }
}

function ok(r: CliRun): CliRun {
  assert.equal(r.code, 0, r.stdout + r.stderr);
  return r;
}

/** Asserts exit 4 with `CODE: detail` last on stderr, `code` as given and every pattern found in the detail. */
function rejected(r: CliRun, code: string, ...words: RegExp[]): string {
  assert.equal(r.code, 4, `expected exit 4, got ${r.code}\n${r.stdout}${r.stderr}`);
  const last = r.stderr.trimEnd().split("\n").at(-1) ?? "";
  const m = /^(E\.[A-Z_]+): (.+)$/.exec(last);
  assert.ok(m !== null, `no "E.CODE: detail" line on stderr: ${r.stderr}`);
  assert.equal(m[1], code, last);
  for (const w of words) assert.match(m[2]!, w);
  return m[2]!;
}

const on = (hubUrl: string, c: string) => ["--hub", hubUrl, "--client", c, "--stream", STREAM];
const send = (hubUrl: string, c: string, body = "{}") => runCli(["send", ...on(hubUrl, c), "--body", body]);
const sendMany = async (hubUrl: string, c: string, n: number) => {
  for (let i = 0; i < n; i++) ok(await send(hubUrl, c, `{"i":${i}}`));
};

/** state.json text (undefined when absent). */
async function stateText(c: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(`${c}/state.json`);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

interface LabelEntry {
  client_seq: number;
  prev_ack: number;
  last_stream_seq: number;
  last_mmr_root: string | null;
  mmr_peaks: string[];
  checkpoint: { upto_seq: number; mmr_root: string } | null;
}

/** The label entry of STREAM in a state.json text. */
function entry(text: string | undefined): LabelEntry | undefined {
  if (text === undefined) return undefined;
  const s = JSON.parse(text) as { hubs: Record<string, { labels: Record<string, LabelEntry> }> };
  for (const h of Object.values(s.hubs)) {
    const l = h.labels[toHex(LABEL)];
    if (l !== undefined) return l;
  }
  return undefined;
}

async function assertUnchanged(c: string, before: string | undefined): Promise<void> {
  assert.equal(await stateText(c), before, "state.json must not change");
}

/** After a rejected send the hub did accept: only client_seq moved (never reuse a client_seq, I9). */
async function assertOnlyClientSeqAdvanced(c: string, before: string): Promise<void> {
  const text = (await stateText(c))!;
  const after = JSON.parse(text);
  const a = entry(text)!;
  const b = entry(before)!;
  assert.equal(a.client_seq, b.client_seq + 1);
  const hub = Object.values(after.hubs as Record<string, { labels: Record<string, LabelEntry> }>)[0]!;
  hub.labels[toHex(LABEL)]!.client_seq = b.client_seq;
  assert.deepEqual(after, JSON.parse(before), "only client_seq may change");
}

/** The upstream's honest items 1..n (with proofs). */
async function honestItems(hubUrl: string, n: number): Promise<ProxyItem[]> {
  const items = await new HubHttp(hubUrl).streamPage(LABEL, 1, { to: n, withProof: true });
  assert.equal(items.length, n);
  return items;
}

/** Rewrites the items of /stream pages whose stream_seq is in `at`. */
function rewriteAt(w: World, at: Record<number, (it: ProxyItem) => ProxyItem>): void {
  w.evil.tamper.stream = (items) => items.map((it) => at[it.receipt.streamSeq]?.(it) ?? it);
}

const stranger = signingKeyFromSeed(new Uint8Array(32).fill(7));

Deno.test("honest proxy: every command passes through the malicious hub when it does not lie", async () => {
  await withEvilHub(async (w) => {
    const c = await w.client("c");
    await sendMany(w.evil.url, c, 3);
    w.evil.tamper.checkpointLatest = async (l) => encodeCheckpoint(await w.evil.honestCheckpoint(l, 2));
    const st = ok(await runCli(["stream", ...on(w.evil.url, c), "--with-proof", "--json"]));
    assert.deepEqual((st.json().items as { proof: string }[]).map((i) => i.proof), [
      "verified",
      "verified",
      "verified",
    ]);
    ok(await runCli(["stream", ...on(w.evil.url, c), "--from", "2", "--to", "2", "--with-proof"]));
    assert.match(
      ok(await runCli(["resync", ...on(w.evil.url, c)])).stdout,
      /checkpoint: upto_seq 2 verified/,
    );
    assert.match(ok(await runCli(["verify-state", ...on(w.evil.url, c)])).stdout, /consistent: yes/);
    const r = await runCli(["resync", ...on(w.evil.url, await w.client("fresh")), "--json"]);
    assert.equal(ok(r).json().last_stream_seq, 3);
  });
});

Deno.test("(a) forked history under the pinned key: send, stream, verify-state and resync reject it", async () => {
  await withEvilHub(async (w) => {
    const b = await w.fork();
    const c = await w.client("c");
    const o2 = await w.client("o2");
    // A: m1 m2 o3 m4 m5; B: m1 m2 x3 m4 m5 (the client's own MSGs go to both hubs; item 3 differs).
    w.evil.mirrors = [b.url];
    await sendMany(w.evil.url, c, 2);
    ok(await send(w.hub.url, await w.client("o1"), '{"who":"honest"}'));
    ok(await send(b.url, o2, '{"who":"forger"}'));
    await sendMany(w.evil.url, c, 2);
    w.evil.mirrors = [];
    // The client verifies A up to 5 and stores A's CHECKPOINT at 4.
    w.evil.tamper.checkpointLatest = async (l) => encodeCheckpoint(await w.evil.honestCheckpoint(l, 4));
    ok(await runCli(["resync", ...on(w.evil.url, c)]));
    const before = (await stateText(c))!;
    assert.equal(entry(before)!.last_stream_seq, 5);
    assert.equal(entry(before)!.checkpoint?.upto_seq, 4);

    // The hub now serves B (same key, same length, honest CHECKPOINTs of B).
    w.evil.upstream = b.url;
    w.evil.tamper.checkpointLatest = async (l) => encodeCheckpoint(await w.evil.honestCheckpoint(l, 5));

    // A stream whose prefix differs from what the client verified (ends before the client's view).
    rejected(
      await runCli(["stream", ...on(w.evil.url, c), "--from", "1", "--to", "3", "--with-proof"]),
      "E.SEQ",
      /not a prefix of the client's verified view/,
      /fork/,
    );
    await assertUnchanged(c, before);
    // An already-seen stream_seq (4: the client's own MSG, same leaf) with a different mmr_root.
    rejected(
      await runCli(["stream", ...on(w.evil.url, c), "--from", "4", "--to", "4", "--with-proof"]),
      "E.SEQ",
      /stream_seq 4 is not a prefix of the client's verified view of 5/,
    );
    // The whole forked stream.
    rejected(await runCli(["stream", ...on(w.evil.url, c), "--with-proof"]), "E.SEQ", /fork/);
    // --follow prints nothing of the forked prefix before rejecting it.
    const fol = await runCli([
      "stream",
      ...on(w.evil.url, c),
      "--with-proof",
      "--follow",
      "--count",
      "2",
      "--poll-ms",
      "10",
    ]);
    rejected(fol, "E.SEQ", /fork/);
    assert.equal(fol.stdout, "");
    await assertUnchanged(c, before);

    const vs = await runCli(["verify-state", ...on(w.evil.url, c)]);
    rejected(vs, "E.SEQ", /inconsistent/, /root at stream_seq 5 is not the client's stored root/);
    assert.match(vs.stdout, /consistent: no\nmismatch_at: [1-3]\n/);

    // resync sees the divergence, rebuilds from B's CHECKPOINT, and must then refuse: B does not extend the
    // CHECKPOINT of A it verified before.
    const rs = await runCli(["resync", ...on(w.evil.url, c)]);
    rejected(rs, "E.SEQ", /CHECKPOINT upto_seq 4/, /verified earlier/);
    assert.match(rs.stderr, /warning: divergence detected/);
    rejected(
      await runCli(["resync", ...on(w.evil.url, c), "--from-scratch"]),
      "E.SEQ",
      /does not extend the CHECKPOINT upto_seq 4 verified earlier/,
    );
    await assertUnchanged(c, before);

    // A new MSG on B: B's RECEIPT root at 6 does not extend the client's view of A.
    rejected(await send(w.evil.url, c), "E.SEQ", /MMR root after stream_seq 6/, /diverges/);
    await assertOnlyClientSeqAdvanced(c, before);

    // A fork shown only beyond the client's view, with /healthz under-reporting the size so that the
    // client would not verify the items before --from.
    ok(await send(b.url, o2, '{"who":"forger"}'));
    w.evil.tamper.healthz = (h) => ({ ...h, last_stream_seq: 5 });
    rejected(
      await runCli(["stream", ...on(w.evil.url, c), "--from", "7", "--with-proof"]),
      "E.SEQ",
      /MMR root after stream_seq 6/,
    );

    // Back on the honest hub the stored view is still A's.
    w.evil.upstream = w.hub.url;
    w.evil.tamper = {};
    assert.match(ok(await runCli(["verify-state", ...on(w.evil.url, c)])).stdout, /consistent: yes/);
  });
});

Deno.test("(b) a proof for another leaf is rejected by stream, resync, send and the --from jump", async () => {
  await withEvilHub(async (w) => {
    const c = await w.client("c");
    await sendMany(w.evil.url, c, 3);
    const [i1, i2] = await honestItems(w.hub.url, 2);
    const before = (await stateText(c))!;

    // Item 2 carries item 1's proof.
    rewriteAt(w, { 2: (it) => ({ ...it, proof: i1!.proof! }) });
    rejected(
      await runCli(["stream", ...on(w.evil.url, c), "--with-proof"]),
      "E.SIG",
      /Proof for stream_seq 2 is for another leaf/,
    );
    // Item 2's leaf hash pasted onto item 1's path.
    rewriteAt(w, { 2: (it) => ({ ...it, proof: { ...i1!.proof!, leafHash: it.receipt.leafHash } }) });
    rejected(
      await runCli(["stream", ...on(w.evil.url, c), "--with-proof"]),
      "E.SEQ",
      /Proof for stream_seq 2 does not reach its mmr_root/,
    );
    await assertUnchanged(c, before);

    // A reader with no view, served pages of one item: nothing is stored.
    w.evil.pageLimit = 1;
    const r = await w.client("reader");
    const rs = await stateText(r);
    rejected(await runCli(["stream", ...on(w.evil.url, r), "--with-proof"]), "E.SEQ", /stream_seq 2/);
    rejected(await runCli(["resync", ...on(w.evil.url, r)]), "E.SEQ", /Proof for stream_seq 2/);
    await assertUnchanged(r, rs);
    w.evil.pageLimit = undefined;

    // /proof answers the leaf before: the --from jump (stream --from 3 rebuilds the view at 2) rejects it.
    w.evil.tamper = { proof: (a, seq) => seq === 2 ? { ...a, proof: i1!.proof! } : a };
    rejected(
      await runCli(["stream", ...on(w.evil.url, c), "--from", "3", "--with-proof"]),
      "E.SEQ",
      /\/proof for 2 is for another leaf/,
    );

    // send: another writer adds item 4; catching up to it, the client gets item 2's proof for item 4.
    w.evil.tamper = {};
    ok(await send(w.hub.url, await w.client("o")));
    rewriteAt(w, { 4: (it) => ({ ...it, proof: i2!.proof! }) });
    rejected(await send(w.evil.url, c), "E.SIG", /Proof for stream_seq 4 is for another leaf/);
    await assertOnlyClientSeqAdvanced(c, before);
  });
});

Deno.test("(c) RECEIPTs, CHECKPOINTs and a hub key by another signer are rejected", async () => {
  await withEvilHub(async (w) => {
    const c = await w.client("c");
    await sendMany(w.evil.url, c, 2);
    const before = (await stateText(c))!;
    const resign = (r: Receipt) => w.evil.signReceipt(r, stranger.secret);

    w.evil.tamper.submit = ({ receipt }) => encodeReceipt(resign(receipt));
    rejected(await send(w.evil.url, c), "E.SIG", /RECEIPT for stream_seq 3 does not verify under hub key/);
    await assertOnlyClientSeqAdvanced(c, before);
    const afterSend = (await stateText(c))!;

    w.evil.tamper = {};
    rewriteAt(w, { 2: (it) => ({ ...it, receipt: resign(it.receipt) }) });
    rejected(await runCli(["stream", ...on(w.evil.url, c), "--with-proof"]), "E.SIG", /hub_sig/);
    const r = await w.client("reader");
    rejected(await runCli(["resync", ...on(w.evil.url, r)]), "E.SIG", /hub_sig does not verify/);
    assert.equal(entry(await stateText(r)), undefined);

    w.evil.tamper = { receipt: resign };
    rejected(
      await runCli(["verify-state", ...on(w.evil.url, c)]),
      "E.SIG",
      /RECEIPT for stream_seq 2 does not verify under hub key/,
    );
    rejected(await runCli(["resync", ...on(w.evil.url, c)]), "E.SIG", /does not verify under hub key/);
    await assertUnchanged(c, afterSend);

    w.evil.tamper = {
      checkpointLatest: (l) =>
        encodeCheckpoint(w.evil.signCheckpoint(l, 2, new Uint8Array(32), stranger.secret)),
    };
    rejected(await runCli(["resync", ...on(w.evil.url, c)]), "E.SIG", /CHECKPOINT\.hub_sig does not verify/);
    rejected(await runCli(["verify-state", ...on(w.evil.url, c)]), "E.SIG", /CHECKPOINT\.hub_sig/);
    await assertUnchanged(c, afterSend);

    // The whole hub answering under another key: the pin refuses it before anything else.
    w.evil.tamper = {
      info: (i) => ({ ...i, hub_pk: toHex(stranger.public), hub_id: toHex(hubIdFor(stranger.public)) }),
    };
    rejected(await send(w.evil.url, c), "E.SIG", /pinned/);
    await assertUnchanged(c, afterSend);
  });
});

Deno.test("(d) a replayed RECEIPT for a new submit is rejected; the client recovers once the hub stops", async () => {
  await withEvilHub(async (w) => {
    const c = await w.client("c");
    await sendMany(w.evil.url, c, 2);
    let before = (await stateText(c))!;
    // The client's own previous RECEIPT (stream_seq 2) answers its next MSG.
    w.evil.tamper.submit = ({ earlier }) => earlier.at(-1)!;
    rejected(await send(w.evil.url, c), "E.SIG", /RECEIPT leaf_hash is not the leaf hash of the MSG sent/);
    await assertOnlyClientSeqAdvanced(c, before);
    before = (await stateText(c))!;
    // The right leaf, re-signed at a stream_seq the client has already verified.
    w.evil.tamper.submit = ({ receipt }) => encodeReceipt(w.evil.signReceipt({ ...receipt, streamSeq: 1 }));
    rejected(
      await send(w.evil.url, c),
      "E.SEQ",
      /assigned stream_seq 1, but the client's view already holds 2 items/,
    );
    await assertOnlyClientSeqAdvanced(c, before);
    // The hub stops lying: the next send verifies the two MSGs accepted meanwhile (3, 4) and lands at 5.
    w.evil.tamper = {};
    assert.match(ok(await send(w.evil.url, c)).stdout, /^stream_seq: 5\n/);
    assert.match(ok(await runCli(["verify-state", ...on(w.evil.url, c)])).stdout, /consistent: yes/);
  });
});

Deno.test("(e) a CHECKPOINT that does not extend the earlier one is rejected by resync and verify-state", async () => {
  await withEvilHub(async (w) => {
    const c = await w.client("c");
    await sendMany(w.evil.url, c, 4);
    w.evil.tamper.checkpointLatest = async (l) => encodeCheckpoint(await w.evil.honestCheckpoint(l, 4));
    ok(await runCli(["resync", ...on(w.evil.url, c)]));
    await sendMany(w.evil.url, c, 4);
    const before = (await stateText(c))!;
    assert.equal(entry(before)!.checkpoint?.upto_seq, 4);
    assert.equal(entry(before)!.last_stream_seq, 8);

    // A forged log of 10 leaves: the honest leaves with leaf 2 replaced, then two more. Its roots at 8 and 10
    // do not extend the CHECKPOINT at 4 (nor the client's view).
    const leaves = (await honestItems(w.hub.url, 8)).map((i) => i.receipt.leafHash);
    const te = (s: string) => new TextEncoder().encode(s);
    leaves[1] = H(te("forged 2"));
    leaves.push(H(te("forged 9")), H(te("forged 10")));
    const acc = new MmrAccumulator();
    const store = new MemoryHashStore();
    const roots = leaves.map((l) => {
      const a = acc.append(l);
      store.append(a.newNodes);
      return a.root;
    });

    // Same upto_seq as the client's view: its own root refutes it.
    w.evil.tamper.checkpointLatest = (l) => encodeCheckpoint(w.evil.signCheckpoint(l, 8, roots[7]!));
    rejected(
      await runCli(["resync", ...on(w.evil.url, c)]),
      "E.SEQ",
      /CHECKPOINT upto_seq 8 is inconsistent with the replayed log/,
    );
    const vs = await runCli(["verify-state", ...on(w.evil.url, c)]);
    rejected(vs, "E.SEQ", /CHECKPOINT upto_seq 8 is inconsistent with the client's view/);
    assert.match(vs.stdout, /consistent: no\n/);
    await assertUnchanged(c, before);

    // Beyond the hub's log, served with consistency proofs of the forged log: none reaches the client's root, and
    // the hub cannot serve the items its CHECKPOINT claims.
    w.evil.tamper.checkpointLatest = (l) => encodeCheckpoint(w.evil.signCheckpoint(l, 10, roots[9]!));
    w.evil.tamper.consistency = async (m, n) =>
      n === 10 ? encodeConsistencyProof(await consistencyProof(store, m, n)) : undefined;
    rejected(
      await runCli(["verify-state", ...on(w.evil.url, c)]),
      "E.SEQ",
      /CHECKPOINT upto_seq 10 is inconsistent with the client's view/,
    );
    rejected(
      await runCli(["resync", ...on(w.evil.url, c)]),
      "E.SEQ",
      /only up to stream_seq 8, short of 10/,
      /withheld/,
    );
    // A client replaying from scratch is not fooled either.
    rejected(
      await runCli(["resync", ...on(w.evil.url, c), "--from-scratch"]),
      "E.SEQ",
      /short of 10/,
    );
    await assertUnchanged(c, before);
  });
});

Deno.test("(f) a stream with a gap (1, 2, 4) is rejected; the stored view stays at the verified prefix", async () => {
  await withEvilHub(async (w) => {
    const c = await w.client("c");
    await sendMany(w.evil.url, c, 2);
    // A reader verifies 1..2 while the hub is honest.
    const r = await w.client("reader");
    ok(await runCli(["stream", ...on(w.evil.url, r), "--with-proof"]));
    const rs = await stateText(r);
    assert.equal(entry(rs)!.last_stream_seq, 2);
    await sendMany(w.evil.url, c, 3);
    const before = (await stateText(c))!;
    w.evil.tamper.stream = (items) => items.filter((i) => ![3, 6].includes(i.receipt.streamSeq));
    w.evil.pageLimit = 2;

    rejected(
      await runCli(["stream", ...on(w.evil.url, r), "--from", "3", "--with-proof"]),
      "E.SEQ",
      /sent stream_seq 4 where 3 was due/,
      /skipped/,
    );
    await assertUnchanged(r, rs);
    rejected(await runCli(["resync", ...on(w.evil.url, r)]), "E.SEQ", /stream_seq 4 where 3 was due/);
    await assertUnchanged(r, rs);
    rejected(await runCli(["stream", ...on(w.evil.url, c), "--with-proof"]), "E.SEQ", /4 where 3 was due/);
    await assertUnchanged(c, before);

    // send: catching up over 6 and 7 (written by another client), the hub leaves 6 out.
    const o = await w.client("o");
    await sendMany(w.hub.url, o, 2);
    rejected(await send(w.evil.url, c), "E.SEQ", /stream_seq 7 where 6 was due/);
    await assertOnlyClientSeqAdvanced(c, before);
  });
});

Deno.test("(g) reordered and repeated stream items are rejected", async () => {
  await withEvilHub(async (w) => {
    const c = await w.client("c");
    await sendMany(w.evil.url, c, 4);
    const before = (await stateText(c))!;
    const swap = (a: number, b: number) => (items: ProxyItem[]) =>
      items.map((it) => {
        const s = it.receipt.streamSeq;
        return s === a
          ? items.find((x) => x.receipt.streamSeq === b) ?? it
          : s === b
          ? items.find((x) => x.receipt.streamSeq === a) ?? it
          : it;
      });
    w.evil.tamper.stream = swap(2, 3);
    const r = await w.client("reader");
    rejected(
      await runCli(["stream", ...on(w.evil.url, r), "--with-proof"]),
      "E.SEQ",
      /sent stream_seq 3 where 2 was due/,
      /reordered/,
    );
    assert.equal(entry(await stateText(r)), undefined);
    rejected(await runCli(["resync", ...on(w.evil.url, r)]), "E.SEQ", /stream_seq 3 where 2 was due/);
    rejected(await runCli(["stream", ...on(w.evil.url, c), "--with-proof"]), "E.SEQ", /reordered/);
    await assertUnchanged(c, before);

    // A repeated (replayed) item: 1, 2, 2, 3, 4.
    w.evil.tamper.stream = (items) => items.flatMap((it) => it.receipt.streamSeq === 2 ? [it, it] : [it]);
    rejected(
      await runCli(["stream", ...on(w.evil.url, r), "--with-proof"]),
      "E.SEQ",
      /sent stream_seq 2 where 3 was due/,
      /repeated/,
    );
    rejected(await runCli(["resync", ...on(w.evil.url, r)]), "E.SEQ", /stream_seq 2 where 3 was due/);
    assert.equal(entry(await stateText(r)), undefined);

    // send: catching up over 5 and 6, the hub serves 6 before 5.
    await sendMany(w.hub.url, await w.client("o"), 2);
    w.evil.tamper.stream = swap(5, 6);
    rejected(await send(w.evil.url, c), "E.SEQ", /stream_seq 6 where 5 was due/);
    await assertOnlyClientSeqAdvanced(c, before);
  });
});

Deno.test("(h) MSG bytes that do not match the RECEIPT's leaf are rejected", async () => {
  await withEvilHub(async (w) => {
    const c = await w.client("c");
    await sendMany(w.evil.url, c, 3);
    const before = (await stateText(c))!;
    const [i1] = await honestItems(w.hub.url, 1);
    const editMsg =
      (f: (m: ReturnType<typeof decodeMsg>) => ReturnType<typeof decodeMsg>) => (it: ProxyItem) => ({
        ...it,
        msgBytes: encodeMsg(f(decodeMsg(it.msgBytes))),
      });
    const streamC = () => runCli(["stream", ...on(w.evil.url, c), "--with-proof"]);

    // Another (validly signed) MSG under item 2's RECEIPT.
    rewriteAt(w, { 2: (it) => ({ ...it, msgBytes: i1!.msgBytes }) });
    rejected(await streamC(), "E.SIG", /RECEIPT\.leaf_hash does not match the MSG \(I2\)/);
    const r = await w.client("reader");
    rejected(await runCli(["resync", ...on(w.evil.url, r)]), "E.SIG", /leaf_hash does not match the MSG/);
    assert.equal(entry(await stateText(r)), undefined);
    // Item 2's ciphertext altered, its ct_hash kept.
    rewriteAt(w, {
      2: editMsg((m) => {
        const ct = m.ciphertext.slice();
        ct[0]! ^= 1;
        return { ...m, ciphertext: ct };
      }),
    });
    rejected(await streamC(), "E.SIG", /ct_hash does not match H\(ciphertext\) \(I1\)/);
    // Item 2's prev_ack altered: the leaf hash does not cover it, MSG.sig does.
    rewriteAt(w, { 2: editMsg((m) => ({ ...m, prevAck: m.prevAck + 1 })) });
    rejected(await streamC(), "E.SIG", /MSG\.sig does not verify/);
    await assertUnchanged(c, before);

    // send: catching up over item 4 (another client's), the hub alters its MSG.
    ok(await send(w.hub.url, await w.client("o")));
    rewriteAt(w, { 4: (it) => ({ ...it, msgBytes: i1!.msgBytes }) });
    rejected(await send(w.evil.url, c), "E.SIG", /leaf_hash does not match the MSG/);
    await assertOnlyClientSeqAdvanced(c, before);
  });
});

Deno.test("(e) a CHECKPOINT ahead of the items the hub serves is stored only once they are verified", async () => {
  await withEvilHub(async (w) => {
    const c = await w.client("c");
    await sendMany(w.evil.url, c, 4);
    await sendMany(w.hub.url, await w.client("o"), 2);
    w.evil.tamper.checkpointLatest = async (l) => encodeCheckpoint(await w.evil.honestCheckpoint(l, 6));
    // The hub withholds 5 and 6 but signs a CHECKPOINT over them.
    w.evil.tamper.stream = (items) => items.filter((i) => i.receipt.streamSeq <= 4);
    const before = await stateText(c);
    rejected(
      await runCli(["resync", ...on(w.evil.url, c)]),
      "E.SEQ",
      /only up to stream_seq 4, short of 6/,
      /withheld/,
    );
    await assertUnchanged(c, before);
    // An honest race: the CHECKPOINT was cut after the replay's last page; the items are then fetched.
    let pages = 0;
    w.evil.tamper.stream = (items) => pages++ === 0 ? items.filter((i) => i.receipt.streamSeq <= 4) : items;
    const r = ok(await runCli(["resync", ...on(w.evil.url, c), "--json"]));
    assert.equal(r.json().last_stream_seq, 6);
    assert.equal(r.json().replayed, 2);
    const e = entry(await stateText(c))!;
    assert.equal(e.checkpoint?.upto_seq, 6);
    assert.equal(e.last_stream_seq, 6);
  });
});
