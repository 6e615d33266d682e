import assert from "node:assert/strict";
import {
  decodeMsg,
  DEFAULT_LIMITS,
  encodeCbor,
  encodeErrorBody,
  MmrAccumulator,
  splitCborSeq,
  toHex,
  VeenError,
} from "../core/mod.ts";
import { type BatchBody, BatchSender, type BatchSenderOptions } from "./batch_sender.ts";
import { emptyState, labelStateFor } from "./client_state.ts";
import { HubHttp } from "./http_client.ts";
import { connectHub, type HubSession, streamTarget } from "./hub_session.ts";
import { generateClientKeys } from "./keystore.ts";
import { fetchItems } from "./view_sync.ts";
import { type RealHub, startRealHub } from "./testing/real_hub.ts";
import { tempDir } from "./testing/run.ts";
import type { HubConfig } from "../hub/mod.ts";

type FetchFn = (input: string, init: RequestInit) => Promise<Response>;

/** Every MSG the sender put on the wire: client_seq → the distinct byte strings (hex) sent with it. */
class Wire {
  readonly sent = new Map<number, Set<string>>();
  batches = 0;
  record(body: Uint8Array): void {
    this.batches++;
    for (const item of splitCborSeq(body, 1 << 20)) {
      const seq = decodeMsg(item).clientSeq;
      const set = this.sent.get(seq) ?? new Set();
      set.add(toHex(item));
      this.sent.set(seq, set);
    }
  }
  /** client_seqs sent with more than one byte string. */
  reused(): number[] {
    return [...this.sent].filter(([, s]) => s.size > 1).map(([seq]) => seq);
  }
}

async function bodyOf(init: RequestInit): Promise<Uint8Array> {
  return new Uint8Array(await new Response(init.body).arrayBuffer());
}

async function withSender(
  config: Partial<HubConfig>,
  hook: (wire: Wire, n: number, forward: () => Promise<Response>) => Promise<Response>,
  f: (s: {
    hub: RealHub;
    session: HubSession;
    sender: (o?: Partial<BatchSenderOptions>) => BatchSender;
    ls: ReturnType<typeof labelStateFor>;
    wire: Wire;
  }) => Promise<void>,
): Promise<void> {
  const t = await tempDir();
  const hub = await startRealHub(`${t.path}/hub`, { config });
  try {
    const state = emptyState();
    const session = await connectHub({ hub: hub.url, env: () => undefined, timeoutMs: 10_000, state });
    const wire = new Wire();
    let n = 0;
    const fetchFn: FetchFn = async (input, init) => {
      if (!input.endsWith("/submit_batch")) return await fetch(input, init);
      const body = await bodyOf(init);
      wire.record(body);
      return await hook(wire, ++n, () => fetch(input, { ...init, body: body as BodyInit }));
    };
    session.http = new HubHttp(hub.url, 10_000, fetchFn);
    const target = streamTarget(session, "batch/unit");
    const keys = generateClientKeys(1);
    const ls = labelStateFor(state, session.hubId, target, keys.client.public, 1);
    const sender = (o: Partial<BatchSenderOptions> = {}) =>
      new BatchSender(session, target, keys, ls, new MmrAccumulator(), {
        recipientPk: keys.prekey.public,
        sleep: () => Promise.resolve(),
        ...o,
      });
    await f({ hub, session, sender, ls, wire });
  } finally {
    await hub.close();
    await t.cleanup();
  }
}

const bodies = (n: number, big: ReadonlySet<number> = new Set()): BatchBody[] =>
  Array.from({ length: n }, (_, i) => ({
    hdr: { schema: new Uint8Array(32) },
    body: encodeCbor(big.has(i) ? new Uint8Array(4096) : i),
  }));

/** The label's MSGs on the hub, in stream order, as [client_seq, body index] (the body is the index itself). */
async function onHub(session: HubSession): Promise<number[]> {
  const label = streamTarget(session, "batch/unit").label;
  const seqs: number[] = [];
  for await (const it of fetchItems(session.http, label, 1, { withProof: true })) seqs.push(it.msg.clientSeq);
  return seqs;
}

const pass = (_w: Wire, _n: number, forward: () => Promise<Response>) => forward();

Deno.test("batch sender: several batches in flight, every RECEIPT checked, state and view at the end", async () => {
  await withSender({}, pass, async ({ session, sender, ls, wire }) => {
    const s = sender({ batchItems: 16, inFlight: 3 });
    const seen: number[] = [];
    const sum = await s.send(bodies(100));
    assert.equal(sum.accepted, 100);
    assert.deepEqual(sum.refused, []);
    // 7 requests of 16, more only when one was overtaken by the next (E.SEQ) and sent again after a resync
    assert.ok(sum.resyncs === 0 ? sum.requests === 7 : sum.requests > 7, JSON.stringify(sum));
    assert.deepEqual([ls.client_seq, ls.prev_ack, ls.last_stream_seq, s.view.size], [100, 100, 100, 100]);
    assert.deepEqual(wire.reused(), []);
    seen.push(...await onHub(session));
    assert.deepEqual(seen, Array.from({ length: 100 }, (_, i) => i + 1));
  });
});

Deno.test("batch sender: a refused MSG is dropped and reported, the ones after it move down one seq", async () => {
  await withSender(
    { limits: { ...DEFAULT_LIMITS, maxMsgBytes: 2048 } },
    pass,
    async ({ session, sender, ls, wire }) => {
      const sum = await sender({ batchItems: 8, inFlight: 2 }).send(bodies(30, new Set([5])));
      assert.equal(sum.accepted, 29);
      assert.deepEqual(sum.refused.map((r) => [r.index, r.error.code]), [[5, "E.SIZE"]]);
      assert.ok(sum.resyncs >= 1 && sum.resigned >= 1);
      assert.equal(ls.client_seq, 29);
      assert.deepEqual(await onHub(session), Array.from({ length: 29 }, (_, i) => i + 1));
      // only the refused seq (and the ones refused E.SEQ after it) were signed again, never an accepted one
      for (const seq of wire.reused()) assert.ok(seq >= 6, `seq ${seq} signed twice`);
    },
  );
});

Deno.test("batch sender: a connection lost after the hub committed resyncs and sends nothing twice", async () => {
  const hook = async (_w: Wire, n: number, forward: () => Promise<Response>) => {
    const r = await forward();
    if (n === 2) {
      await r.arrayBuffer();
      throw new TypeError("error sending request: connection reset by peer");
    }
    return r;
  };
  await withSender({}, hook, async ({ session, sender, ls, wire }) => {
    const sum = await sender({ batchItems: 10, inFlight: 1 }).send(bodies(40));
    assert.deepEqual([sum.accepted, sum.resyncs, sum.resent], [40, 1, 0]);
    assert.equal(ls.client_seq, 40);
    assert.deepEqual(wire.reused(), []);
    assert.equal(wire.batches, 4, "the lost batch was found on the hub, not sent again");
    assert.deepEqual(await onHub(session), Array.from({ length: 40 }, (_, i) => i + 1));
  });
});

Deno.test("batch sender: a connection lost before the hub saw the batch resends the same bytes", async () => {
  const hook = async (_w: Wire, n: number, forward: () => Promise<Response>) => {
    if (n === 2) throw new TypeError("error sending request: connection refused");
    return await forward();
  };
  await withSender({}, hook, async ({ session, sender, wire }) => {
    const sum = await sender({ batchItems: 10, inFlight: 2 }).send(bodies(40));
    assert.equal(sum.accepted, 40);
    assert.ok(sum.resent >= 10, `resent ${sum.resent}`);
    assert.deepEqual(wire.reused(), [], "resent with the same bytes");
    assert.deepEqual(await onHub(session), Array.from({ length: 40 }, (_, i) => i + 1));
  });
});

Deno.test("batch sender: a batch overtaken by the next one (E.SEQ) and a busy hub (503) are sent again as is", async () => {
  let release!: () => void;
  const overtaken = new Promise<void>((r) => (release = r));
  const hook = async (_w: Wire, n: number, forward: () => Promise<Response>) => {
    if (n === 1) {
      await overtaken; // batch 1 reaches the hub after batch 2
      return await forward();
    }
    if (n === 2) {
      const r = await forward();
      release();
      return r;
    }
    if (n === 4) {
      return new Response(
        encodeErrorBody(new VeenError("E.UNAVAILABLE", "Busy", { retryAfter: 1 })) as BodyInit,
        {
          status: 503,
          headers: { "retry-after": "1" },
        },
      );
    }
    return await forward();
  };
  const slept: number[] = [];
  await withSender({}, hook, async ({ session, sender, wire }) => {
    const sum = await sender({
      batchItems: 10,
      inFlight: 2,
      sleep: (ms) => Promise.resolve(void slept.push(ms)),
    }).send(bodies(40));
    assert.equal(sum.accepted, 40);
    assert.ok(sum.resyncs >= 2);
    assert.ok(slept.includes(1000), `slept ${slept}`);
    assert.deepEqual(wire.reused(), []);
    assert.deepEqual(await onHub(session), Array.from({ length: 40 }, (_, i) => i + 1));
  });
});

Deno.test("batch sender: a RECEIPT that does not bind the MSG sent fails the send (E.SIG)", async () => {
  const hook = async (_w: Wire, _n: number, forward: () => Promise<Response>) => {
    const r = await forward();
    const b = new Uint8Array(await r.arrayBuffer());
    b[b.length - 3]! ^= 1; // inside the last RECEIPT's hub_sig
    return new Response(b, { status: r.status, headers: r.headers });
  };
  await withSender({}, hook, async ({ sender, ls }) => {
    await assert.rejects(
      () => sender({ batchItems: 5 }).send(bodies(5)),
      (e: VeenError) => e.code === "E.SIG",
    );
    assert.equal(ls.last_stream_seq, 0, "the view was not saved");
  });
});

Deno.test("batch sender: another writer's items between its own are fetched with proofs and verified", async () => {
  let other: (() => Promise<void>) | undefined;
  const hook = async (_w: Wire, n: number, forward: () => Promise<Response>) => {
    if (n % 2 === 0) await other?.(); // another client writes on the label before this request lands
    return await forward();
  };
  await withSender({}, hook, async ({ hub, sender, ls }) => {
    const { sendMessage } = await import("./sender.ts");
    const otherKeys = generateClientKeys(2);
    const st = emptyState();
    const session = await connectHub({ hub: hub.url, env: () => undefined, timeoutMs: 10_000, state: st });
    const target = streamTarget(session, "batch/unit");
    const otherLs = labelStateFor(st, session.hubId, target, otherKeys.client.public, 1);
    let otherView = new MmrAccumulator();
    other = async () => {
      otherView =
        (await sendMessage(session, streamTarget(session, "batch/unit"), otherKeys, otherLs, otherView, {
          recipientPk: otherKeys.prekey.public,
          hdr: { schema: new Uint8Array(32) },
          body: { other: true },
        })).view;
    };
    const s = sender({ batchItems: 8, inFlight: 1 });
    const sum = await s.send(bodies(40));
    assert.equal(sum.accepted, 40);
    assert.equal(otherLs.client_seq, 2);
    assert.deepEqual([s.view.size, ls.last_stream_seq, ls.client_seq], [42, 42, 40]);
  });
});
