/**
 * A small in-process hub for client tests, speaking the routes of docs/protocol.md with real core objects:
 * /submit, /stream, /receipt, /proof, /consistency, /checkpoint_latest, /authorize (POST and GET), /attachments,
 * /info, /profile, /healthz. Memory only; it checks what a client can get wrong (signature, ct_hash, client_seq,
 * prev_ack, admission) and can be told to misbehave (`tamper`) so that client checks can be exercised.
 * Not a hub implementation: no durability, no rate limits, no epochs.
 */
import {
  authRef,
  bytesEqual,
  type CborValue,
  type Checkpoint,
  concat,
  consistencyProof,
  ctHashMatches,
  decodeCapToken,
  decodeCbor,
  decodeMsg,
  DEFAULT_PROFILE,
  DEFAULT_PROFILE_ID,
  encodeCbor,
  encodeCheckpoint,
  encodeConsistencyProof,
  encodeErrorBody,
  encodeMmrProof,
  encodeProfile,
  encodeReceipt,
  fromHex,
  H,
  hubIdFor,
  inclusionProof,
  leafHash,
  MemoryHashStore,
  MmrAccumulator,
  type Receipt,
  signCheckpoint,
  signingKeyFromSeed,
  signReceipt,
  toHex,
  VeenError,
  verifyCapChain,
  verifyMsgSig,
} from "../../core/mod.ts";

export interface FakeHubOptions {
  /** Writes `<dataDir>/hub.state.json` like the real hub (removed on close). */
  dataDir?: string;
  /** Require an authorized auth_ref on every MSG. */
  admission?: boolean;
  /** 32-byte hub signing seed (random by default). */
  hubSeed?: Uint8Array;
  /** Sign a CHECKPOINT every this many appends per label. */
  checkpointEvery?: number;
  /** Most items per /stream page (default 256). */
  pageLimit?: number;
  routingKeyHex?: string;
  /** Misbehaviour for client tests. */
  tamper?: {
    /** Flip a bit of hub_sig in /submit answers. */
    submitSig?: boolean;
    /** Answer /submit with bytes that are not a RECEIPT. */
    submitGarbage?: boolean;
    /** Leave this stream_seq out of /stream pages. */
    skipSeq?: number;
  };
  /** Fixed hub_ts (default: wall clock seconds). */
  hubTs?: number;
}

interface LabelLog {
  acc: MmrAccumulator;
  store: MemoryHashStore;
  items: { receipt: Receipt; receiptBytes: Uint8Array; msgBytes: Uint8Array }[];
  clientSeqs: Map<string, number>;
  checkpoints: Checkpoint[];
}

export interface FakeHub {
  url: string;
  hubPk: Uint8Array;
  /** Appends a MSG as if submitted (bypassing HTTP), for setting up other writers. */
  submitBytes(msg: Uint8Array): Uint8Array;
  /** Signs a CHECKPOINT now for `label` at its current size. */
  checkpoint(label: Uint8Array): Checkpoint;
  close(): Promise<void>;
}

class HttpFail extends Error {
  constructor(readonly veen: VeenError) {
    super(veen.message);
  }
}

function fail(code: VeenError["code"], detail: string): never {
  throw new HttpFail(new VeenError(code, detail));
}

function cbor(bytes: Uint8Array, type = "application/cbor"): Response {
  return new Response(bytes as BodyInit, { status: 200, headers: { "content-type": type } });
}

export async function startFakeHub(opts: FakeHubOptions = {}): Promise<FakeHub> {
  const key = signingKeyFromSeed(opts.hubSeed ?? crypto.getRandomValues(new Uint8Array(32)));
  const logs = new Map<string, LabelLog>();
  const authorized = new Map<string, number>();
  const attachments = new Map<string, Uint8Array>();
  const pageLimit = opts.pageLimit ?? 256;
  const now = () => opts.hubTs ?? Math.floor(Date.now() / 1000);

  const logOf = (label: Uint8Array): LabelLog => {
    const k = toHex(label);
    let l = logs.get(k);
    if (l === undefined) {
      l = {
        acc: new MmrAccumulator(),
        store: new MemoryHashStore(),
        items: [],
        clientSeqs: new Map(),
        checkpoints: [],
      };
      logs.set(k, l);
    }
    return l;
  };

  const makeCheckpoint = (label: Uint8Array): Checkpoint => {
    const l = logOf(label);
    const root = l.acc.root();
    if (root === undefined) fail("E.NOT_FOUND", "empty label");
    const c = signCheckpoint({
      ver: 1,
      labelPrev: label,
      labelCurr: label,
      uptoSeq: l.acc.size,
      mmrRoot: root,
      epoch: l.checkpoints.length,
    }, key.secret);
    l.checkpoints.push(c);
    return c;
  };

  const submit = (bytes: Uint8Array): Uint8Array => {
    let m;
    try {
      m = decodeMsg(bytes);
    } catch (e) {
      throw new HttpFail(e as VeenError);
    }
    if (!bytesEqual(m.profileId, DEFAULT_PROFILE_ID)) fail("E.PROFILE", "unknown profile_id");
    if (!verifyMsgSig(m)) fail("E.SIG", "MSG.sig does not verify");
    if (!ctHashMatches(m)) fail("E.SIZE", "ct_hash mismatch");
    if (opts.admission) {
      if (m.authRef === null) fail("E.AUTH", "auth_ref required");
      const exp = authorized.get(toHex(m.authRef));
      if (exp === undefined) fail("E.AUTH", "unknown auth_ref");
      if (exp < now()) fail("E.CAP", "expired");
    }
    const l = logOf(m.label);
    const cid = toHex(m.clientId);
    const last = l.clientSeqs.get(cid) ?? 0;
    if (m.clientSeq !== last + 1) fail("E.SEQ", `client_seq ${m.clientSeq}, expected ${last + 1}`);
    if (m.prevAck > l.acc.size) fail("E.SEQ", "prev_ack ahead of the label");
    const leaf = leafHash(m);
    const app = l.acc.append(leaf);
    l.store.append(app.newNodes);
    l.clientSeqs.set(cid, m.clientSeq);
    const receipt = signReceipt({
      ver: 1,
      label: m.label,
      streamSeq: app.seq,
      leafHash: leaf,
      mmrRoot: app.root,
      hubTs: now(),
    }, key.secret);
    const receiptBytes = encodeReceipt(receipt);
    l.items.push({ receipt, receiptBytes, msgBytes: bytes });
    if (opts.checkpointEvery !== undefined && app.seq % opts.checkpointEvery === 0) makeCheckpoint(m.label);
    return receiptBytes;
  };

  const intParam = (u: URL, k: string, dflt?: number): number => {
    const v = u.searchParams.get(k);
    if (v === null) {
      if (dflt === undefined) fail("E.SIZE", `missing ${k}`);
      return dflt;
    }
    if (!/^[0-9]+$/.test(v)) fail("E.SIZE", `bad ${k}`);
    return Number(v);
  };
  const labelParam = (u: URL): Uint8Array => {
    const v = u.searchParams.get("label") ?? "";
    if (!/^[0-9a-f]{64}$/.test(v)) fail("E.SIZE", "bad label");
    return fromHex(v, 32);
  };

  const route = async (req: Request): Promise<Response> => {
    const u = new URL(req.url);
    const p = u.pathname;
    if (req.method === "GET" && p === "/info") {
      return Response.json({
        hub_pk: toHex(key.public),
        hub_id: toHex(hubIdFor(key.public)),
        profile_id: toHex(DEFAULT_PROFILE_ID),
        version: "fake",
        admission: opts.admission === true,
        routing_key_hex: opts.routingKeyHex ?? "",
      });
    }
    if (req.method === "GET" && p === "/profile") return cbor(encodeProfile(DEFAULT_PROFILE));
    if (req.method === "POST" && p === "/submit") {
      const r = submit(new Uint8Array(await req.arrayBuffer()));
      if (opts.tamper?.submitGarbage) return cbor(new Uint8Array([0xa0]));
      if (opts.tamper?.submitSig) {
        const t = r.slice();
        t[t.length - 1]! ^= 1;
        return cbor(t);
      }
      return cbor(r);
    }
    if (req.method === "GET" && p === "/stream") {
      const l = logOf(labelParam(u));
      const from = Math.max(1, intParam(u, "from", 1));
      const to = Math.min(intParam(u, "to", l.acc.size), l.acc.size);
      const limit = Math.min(intParam(u, "limit", pageLimit), pageLimit);
      const withProof = u.searchParams.get("with_proof") === "1";
      const parts: Uint8Array[] = [];
      for (let s = from; s <= to && parts.length < limit; s++) {
        if (s === opts.tamper?.skipSeq) continue;
        const it = l.items[s - 1]!;
        const item: CborValue[] = [decodeCbor(it.receiptBytes), decodeCbor(it.msgBytes)];
        if (withProof) item.push(decodeCbor(encodeMmrProof(await inclusionProof(l.store, s, s))));
        parts.push(encodeCbor(item));
      }
      const out = concat(...parts);
      return cbor(out, "application/cbor-seq");
    }
    if (req.method === "GET" && p === "/receipt") {
      const l = logOf(labelParam(u));
      const it = l.items[intParam(u, "seq") - 1];
      if (it === undefined) fail("E.NOT_FOUND", "no such seq");
      return cbor(it.receiptBytes);
    }
    if (req.method === "GET" && p === "/proof") {
      const l = logOf(labelParam(u));
      const seq = intParam(u, "seq");
      const size = intParam(u, "size", l.acc.size);
      if (seq < 1 || seq > size || size > l.acc.size) fail("E.NOT_FOUND", "no such leaf or size");
      const proof = await inclusionProof(l.store, seq, size);
      const root = l.items[size - 1]!.receipt.mmrRoot;
      return cbor(encodeCbor([decodeCbor(encodeMmrProof(proof)), size, root]));
    }
    if (req.method === "GET" && p === "/consistency") {
      const l = logOf(labelParam(u));
      const m = intParam(u, "from");
      const n = intParam(u, "to");
      if (m < 1 || m >= n || n > l.acc.size) fail("E.NOT_FOUND", "bad sizes");
      return cbor(encodeConsistencyProof(await consistencyProof(l.store, m, n)));
    }
    if (req.method === "GET" && p === "/checkpoint_latest") {
      const l = logOf(labelParam(u));
      const c = l.checkpoints[l.checkpoints.length - 1];
      if (c === undefined) fail("E.NOT_FOUND", "no checkpoint");
      return cbor(encodeCheckpoint(c));
    }
    if (req.method === "POST" && p === "/authorize") {
      let t;
      try {
        t = decodeCapToken(new Uint8Array(await req.arrayBuffer()));
        verifyCapChain(t);
      } catch (e) {
        throw new HttpFail(e as VeenError);
      }
      const ref = authRef(t);
      const exp = now() + t.allow.ttl;
      authorized.set(toHex(ref), exp);
      return cbor(encodeCbor(new Map<string, CborValue>([["auth_ref", ref], ["expires_at", exp]])));
    }
    if (req.method === "GET" && p === "/authorize") {
      const ref = u.searchParams.get("auth_ref") ?? "";
      const exp = authorized.get(ref);
      if (exp === undefined) fail("E.NOT_FOUND", "unknown auth_ref");
      return cbor(
        encodeCbor(
          new Map<string, CborValue>([
            ["known", true],
            ["currently_valid", exp >= now()],
            ["revoked", false],
            ["expires_at", exp],
          ]),
        ),
      );
    }
    if (req.method === "POST" && p === "/attachments") {
      const b = new Uint8Array(await req.arrayBuffer());
      const coid = H(b);
      attachments.set(toHex(coid), b);
      return cbor(encodeCbor(new Map<string, CborValue>([["coid", coid]])));
    }
    if (req.method === "GET" && p.startsWith("/attachments/")) {
      const b = attachments.get(p.slice("/attachments/".length));
      if (b === undefined) fail("E.NOT_FOUND", "no such attachment");
      return new Response(b as BodyInit, { headers: { "content-type": "application/octet-stream" } });
    }
    if (req.method === "GET" && p === "/metrics") {
      const total = [...logs.values()].reduce((n, l) => n + l.acc.size, 0);
      return new Response(
        `# TYPE veen_submit_ok_total counter\nveen_submit_ok_total ${total}\nveen_submit_err_total{code="E.SEQ"} 0\n` +
          `veen_verify_latency_ms_bucket{le="1"} ${total}\nveen_verify_latency_ms_sum ${
            total * 0.5
          }\nveen_verify_latency_ms_count ${total}\n`,
        { headers: { "content-type": "text/plain; version=0.0.4" } },
      );
    }
    if (req.method === "GET" && p === "/healthz") {
      const l = logOf(labelParam(u));
      return Response.json({
        ok: true,
        profile_id: toHex(DEFAULT_PROFILE_ID),
        peaks_count: l.acc.peaks().length,
        last_stream_seq: l.acc.size,
        last_mmr_root: toHex(l.acc.root() ?? new Uint8Array(32)),
      });
    }
    fail("E.NOT_FOUND", `no route ${req.method} ${p}`);
  };

  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    try {
      return await route(req);
    } catch (e) {
      const v = e instanceof HttpFail
        ? e.veen
        : e instanceof VeenError
        ? e
        : new VeenError("E.UNAVAILABLE", String(e));
      return new Response(encodeErrorBody(v) as BodyInit, {
        status: v.httpStatus,
        headers: { "content-type": "application/cbor" },
      });
    }
  });
  const port = (server.addr as Deno.NetAddr).port;
  const url = `http://127.0.0.1:${port}`;
  if (opts.dataDir !== undefined) {
    await Deno.mkdir(opts.dataDir, { recursive: true });
    await Deno.writeTextFile(
      `${opts.dataDir}/hub.state.json`,
      JSON.stringify({ listen: `127.0.0.1:${port}`, url, pid: Deno.pid }),
    );
  }
  return {
    url,
    hubPk: key.public,
    submitBytes: (b) => submit(b),
    checkpoint: (label) => makeCheckpoint(label),
    close: async () => {
      await server.shutdown();
      if (opts.dataDir !== undefined) await Deno.remove(`${opts.dataDir}/hub.state.json`).catch(() => {});
    },
  };
}
