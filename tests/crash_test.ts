/**
 * Crash test: the hub runs as a real subprocess (`veen hub start --foreground`), several clients load it
 * concurrently (some one MSG per `/submit`, some with `/submit_batch` requests of 1-40 MSGs), and it is killed with
 * SIGKILL at seeded random moments, then restarted. After every restart each
 * RECEIPT a client received is served byte-identical by /receipt, its inclusion proof from /proof verifies against
 * the new root, and the clients continue (a message whose answer was lost is accepted or E.DUP on resubmit); fsck
 * passes on the killed data dir (crash leftovers are warnings) and on the finally stopped one.
 */
import assert from "node:assert/strict";
import {
  type BatchAnswer,
  bytesEqual,
  concat,
  decodeBatchResponse,
  decodeCbor,
  decodeErrorBody,
  decodeMmrProof,
  decodeReceipt,
  encodeCbor,
  encodeMsg,
  expectArray,
  expectBytes,
  expectUint,
  fromHex,
  toHex,
  verifyInclusion,
  verifyReceiptSig,
} from "../core/mod.ts";
import { fsck, readState, selfCommand, STATE_FILE } from "../hub/mod.ts";
import { Writer } from "./fixture.ts";
import { fileAppears, prng, within } from "./util.ts";

const KILLS = 4;
const CLIENTS = 6;
/** Clients from this index on send /submit_batch requests. */
const FIRST_BATCH_CLIENT = 4;
const LABELS = 3;
const SEED = 0x5eed;
const PER_PHASE_MAX = 400;

interface Got {
  label: string;
  seq: number;
  bytes: Uint8Array;
  leaf: Uint8Array;
}

interface HubProc {
  child: Deno.ChildProcess;
  url: string;
  hubPk: Uint8Array;
  stderr: Promise<string>;
}

async function drain(s: ReadableStream<Uint8Array>): Promise<string> {
  let tail = "";
  const dec = new TextDecoder();
  for await (const c of s) tail = (tail + dec.decode(c)).slice(-4000);
  return tail;
}

async function startHub(dir: string): Promise<HubProc> {
  await Deno.remove(`${dir}/${STATE_FILE}`).catch(() => {});
  const self = selfCommand();
  const child = new Deno.Command(self.cmd, {
    args: [...self.args, "hub", "start", "--foreground", "--data-dir", dir, "--listen", "127.0.0.1:0"],
    env: { VEEN_SEGMENT_BYTES: String(48 * 1024), VEEN_CHECKPOINT_EVERY: "50", VEEN_LOG_LEVEL: "warn" },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = drain(child.stderr);
  try {
    // The state file is written once the hub serves and is ready.
    await within(fileAppears(`${dir}/${STATE_FILE}`, child.status), 30_000, "the hub's state file");
    const st = await readState(dir);
    assert.equal(st?.pid, child.pid);
    const r = await fetch(`${st!.url}/readyz`);
    await r.body?.cancel();
    assert.equal(r.status, 200);
    return { child, url: st!.url, hubPk: fromHex(st!.hub_pk!, 32, "hub_pk"), stderr };
  } catch (e) {
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
    await child.status;
    throw new Error(`hub did not start (${e}):\n${await stderr}`);
  }
}

async function kill9(h: HubProc): Promise<void> {
  h.child.kill("SIGKILL");
  const st = await h.child.status;
  assert.equal(st.signal, "SIGKILL");
  await h.stderr;
}

/**
 * A client: one writer on one label, one request in flight (one MSG, or a batch of consecutive MSGs), remembering
 * the request whose answer was lost: after the restart it is sent again, and each of its MSGs must then be
 * accepted or E.DUP (durable before the kill).
 */
class Client {
  readonly w: Writer;
  readonly label: string;
  readonly batch: boolean;
  readonly sizes;
  pending: Uint8Array[] | undefined;
  accepted = 0;
  dups = 0;
  constructor(i: number) {
    this.w = new Writer(`crash/${i % LABELS}`, 40 + i);
    this.label = toHex(this.w.label);
    this.batch = i >= FIRST_BATCH_CLIENT;
    this.sizes = prng(SEED + i);
  }

  /** Submits until `stop()` or a transport error (the hub died); every receipt goes to `got`, then `onReceipt`. */
  async run(url: string, stop: () => boolean, got: Got[], max: number, onReceipt: () => void): Promise<void> {
    for (let n = 0; n < max && !stop(); n++) {
      const resubmit = this.pending !== undefined;
      const msgs = this.pending ??
        Array.from({ length: this.batch ? 1 + this.sizes.int(40) : 1 }, () => encodeMsg(this.w.msg()));
      this.pending = msgs;
      let status: number;
      let bytes: Uint8Array;
      try {
        const r = await fetch(`${url}/${this.batch ? "submit_batch" : "submit"}`, {
          method: "POST",
          body: concat(...msgs) as BodyInit,
          headers: { "content-type": this.batch ? "application/cbor-seq" : "application/cbor" },
        });
        status = r.status;
        bytes = new Uint8Array(await r.arrayBuffer());
      } catch {
        return; // killed: the answer is lost, `pending` is resubmitted after the restart
      }
      const answers: BatchAnswer[] = !this.batch
        ? [status === 200 ? { receipt: decodeReceipt(bytes), bytes } : { error: decodeErrorBody(bytes)! }]
        : status === 200
        ? decodeBatchResponse(bytes, msgs.length)
        : msgs.map(() => ({ error: decodeErrorBody(bytes)! }));
      for (const a of answers) {
        if (!("error" in a)) {
          got.push({ label: this.label, seq: a.receipt.streamSeq, bytes: a.bytes, leaf: a.receipt.leafHash });
          this.accepted++;
          onReceipt();
        } else if (a.error?.code === "E.DUP" && resubmit) {
          this.dups++; // it was durable before the kill; the receipt was lost with the connection
        } else {
          throw new Error(
            `client ${this.label.slice(0, 8)}: HTTP ${status} ${a.error?.code} ${a.error?.detail}`,
          );
        }
      }
      this.pending = undefined;
    }
  }
}

/** Every received RECEIPT is served byte-identical and its proof verifies against the current root. */
async function verifyAll(url: string, hubPk: Uint8Array, got: readonly Got[]): Promise<void> {
  const roots = new Map<string, { size: number; root: Uint8Array }>();
  let next = 0;
  const worker = async () => {
    while (next < got.length) {
      const g = got[next++]!;
      const q = `label=${g.label}&seq=${g.seq}`;
      const r = await fetch(`${url}/receipt?${q}`);
      const bytes = new Uint8Array(await r.arrayBuffer());
      assert.equal(r.status, 200, `receipt ${q}`);
      assert.ok(bytesEqual(bytes, g.bytes), `receipt ${q} is byte-identical`);
      const rc = decodeReceipt(bytes);
      assert.ok(verifyReceiptSig(rc, hubPk) && bytesEqual(rc.leafHash, g.leaf));
      const p = await fetch(`${url}/proof?${q}`);
      assert.equal(p.status, 200, `proof ${q}`);
      const [pv, sv, rv] = expectArray(decodeCbor(new Uint8Array(await p.arrayBuffer())), 3, "proof");
      const proof = decodeMmrProof(encodeCbor(pv!));
      const size = expectUint(sv, "size");
      const root = expectBytes(rv, 32, "root");
      assert.ok(bytesEqual(proof.leafHash, g.leaf), `proof leaf ${q}`);
      assert.ok(
        verifyInclusion(proof, root, { seq: g.seq, size }),
        `proof ${q} verifies against the new root`,
      );
      const prev = roots.get(g.label);
      if (prev === undefined) roots.set(g.label, { size, root });
      else assert.ok(prev.size === size && bytesEqual(prev.root, root), "one root per label");
    }
  };
  await Promise.all(Array.from({ length: 12 }, worker));
}

Deno.test({
  name:
    "crash: kill -9 under concurrent load loses no acknowledged receipt; proofs, clients and fsck continue",
  fn: async () => {
    const t0 = Date.now();
    const rnd = prng(SEED);
    const dir = await Deno.makeTempDir({ prefix: "veen-crash-" });
    const clients = Array.from({ length: CLIENTS }, (_, i) => new Client(i));
    const got: Got[] = [];
    let hubPk: Uint8Array | undefined;
    let crashLeftovers = 0;
    try {
      for (let phase = 0; phase <= KILLS; phase++) {
        const hub = await startHub(dir);
        if (hubPk === undefined) hubPk = hub.hubPk;
        assert.ok(bytesEqual(hub.hubPk, hubPk), "the hub key survives");
        await verifyAll(hub.url, hubPk, got);
        let stop = false;
        const before = got.length;
        // The kill (or the stop) comes once the clients hold a seeded random number of this phase's receipts,
        // while the others' requests are in flight.
        const target = before + (phase < KILLS ? 20 + rnd.int(300) : 100);
        let reached!: () => void;
        const atTarget = new Promise<void>((r) => (reached = r));
        const onReceipt = () => got.length >= target && reached();
        const loads = clients.map((c) => c.run(hub.url, () => stop, got, PER_PHASE_MAX, onReceipt));
        const ended = Promise.all(loads).then(() => {
          throw new Error(`phase ${phase}: the clients stopped at ${got.length} receipts, before ${target}`);
        });
        ended.catch(() => {}); // after the target it rejects by design (the clients end when the hub is gone)
        await within(Promise.race([atTarget, ended]), 30_000, `phase ${phase}: ${target} receipts`);
        if (phase < KILLS) {
          await kill9(hub);
          stop = true;
          await Promise.all(loads);
          assert.ok(got.length > before, `phase ${phase}: some receipts before the kill`);
          const rep = await fsck(dir);
          assert.ok(rep.ok, `fsck after kill ${phase}: ${JSON.stringify(rep.error)}`);
          crashLeftovers += rep.summary.unindexed_records + rep.warnings.length;
        } else {
          stop = true;
          await Promise.all(loads);
          assert.ok(clients.every((c) => c.pending === undefined), "every lost answer was resolved");
          await verifyAll(hub.url, hubPk, got);
          hub.child.kill("SIGTERM");
          const st = await hub.child.status;
          await hub.stderr;
          assert.equal(st.code, 0, "graceful stop");
        }
      }
      const rep = await fsck(dir);
      assert.ok(rep.ok, `fsck on the stopped data dir: ${JSON.stringify(rep.error)}`);
      assert.deepEqual(rep.warnings, []);
      assert.equal(rep.summary.unindexed_records, 0);
      // Every client's client_seq continued without a gap: accepted + resolved duplicates = messages made.
      for (const c of clients) assert.equal(c.accepted + c.dups, c.w.seq);
      assert.equal(rep.summary.entries, clients.reduce((n, c) => n + c.w.seq, 0));
      assert.ok(Date.now() - t0 < 60_000, `took ${Date.now() - t0} ms`);
      console.log(
        `crash test: ${KILLS} kills, ${got.length} receipts verified after each restart, ` +
          `${clients.reduce((n, c) => n + c.dups, 0)} lost answers were E.DUP on resubmit, ` +
          `${crashLeftovers} crash leftovers seen by fsck, ${Date.now() - t0} ms`,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
