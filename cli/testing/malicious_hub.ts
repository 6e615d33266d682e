/**
 * A malicious hub for client tests: an HTTP server on 127.0.0.1 (port 0) that proxies every route to an upstream
 * hub (normally the real hub of `real_hub.ts`) and lies when told to. It holds the hub's signing seed, as a
 * dishonest hub operator does, so its lies can carry valid hub signatures. With no switch set it is an honest proxy.
 *
 * - `upstream` may be changed at any time, e.g. to a second hub started with the same key (`startForkHub`): the
 *   client then sees a forked history under the pinned key;
 * - `mirrors`: every POST /submit is also sent there, so a fork shares the client's own MSGs and client_seq;
 * - `pageLimit`: serve /stream in pages of at most this many items (honest: `limit` is only an upper bound);
 * - `tamper.*`: rewrite the answers of /info, /healthz, /submit, /stream, /receipt, /proof, /consistency and
 *   /checkpoint_latest;
 * - `signReceipt`, `signCheckpoint`, `honestCheckpoint`: sign as the hub (or as any key).
 */
import {
  type CborValue,
  type Checkpoint,
  concat,
  decodeCbor,
  decodeCborSeq,
  decodeMmrProof,
  decodeReceipt,
  encodeCbor,
  encodeErrorBody,
  encodeMmrProof,
  encodeReceipt,
  expectArray,
  expectBytes,
  expectIntMap,
  expectUint,
  fromHex,
  type MmrProof,
  type Receipt,
  signCheckpoint,
  signingKeyFromSeed,
  signReceipt,
  type UnsignedCheckpoint,
  type UnsignedReceipt,
  VeenError,
} from "../../core/mod.ts";
import { HubHttp, type StreamItem, streamItemFromCbor } from "../http_client.ts";
import { type RealHub, startRealHub } from "./real_hub.ts";

/** A /stream item as the proxy re-encodes it: from `receipt`, `msgBytes` and `proof` (`receiptBytes`, `msg` ignored). */
export type ProxyItem = StreamItem;

/** Answer rewriters; each gets the upstream's (honest) answer. */
export interface Tamper {
  info?: (info: Record<string, unknown>) => Record<string, unknown>;
  healthz?: (health: Record<string, unknown>) => Record<string, unknown>;
  /** `earlier`: the RECEIPT bytes of every earlier successful /submit through this proxy, oldest first. */
  submit?: (a: { msgBytes: Uint8Array; receipt: Receipt; earlier: readonly Uint8Array[] }) => Uint8Array;
  stream?: (items: ProxyItem[], q: { label: Uint8Array; from: number }) => ProxyItem[] | Promise<ProxyItem[]>;
  receipt?: (r: Receipt, seq: number) => Receipt;
  proof?: (
    a: { proof: MmrProof; size: number; root: Uint8Array },
    seq: number,
  ) => { proof: MmrProof; size: number; root: Uint8Array };
  /** Bytes of a consistency proof to serve instead, or undefined to forward. */
  consistency?: (from: number, to: number) => Uint8Array | undefined | Promise<Uint8Array | undefined>;
  /** CHECKPOINT bytes to serve, null for "none" (E.NOT_FOUND), undefined to forward. */
  checkpointLatest?: (
    label: Uint8Array,
  ) => Uint8Array | null | undefined | Promise<Uint8Array | null | undefined>;
}

export interface MaliciousHub {
  url: string;
  hubPk: Uint8Array;
  upstream: string;
  mirrors: string[];
  pageLimit: number | undefined;
  tamper: Tamper;
  /** Signs a RECEIPT as the hub (or under `secret`). */
  signReceipt(r: UnsignedReceipt, secret?: Uint8Array): Receipt;
  /** Signs a CHECKPOINT as the hub (label_prev = label_curr = `label`, epoch 0). */
  signCheckpoint(label: Uint8Array, uptoSeq: number, mmrRoot: Uint8Array, secret?: Uint8Array): Checkpoint;
  /** An honest CHECKPOINT at `uptoSeq`: the root of the upstream's signed RECEIPT at that seq, signed again. */
  honestCheckpoint(label: Uint8Array, uptoSeq: number): Promise<Checkpoint>;
  close(): Promise<void>;
}

/** The 32-byte signing seed in a hub data directory's `hub_key` file (CBOR `{1: ver, 2: seed, 3: pk}`). */
export async function hubSeedOf(dataDir: string): Promise<Uint8Array> {
  const bytes = await Deno.readFile(`${dataDir}/hub_key`);
  const m = expectIntMap(decodeCbor(bytes, "hub_key"), [1, 2, 3], [1, 2, 3], "hub_key");
  return expectBytes(m.get(2), 32, "hub key seed");
}

/** Starts a second real hub in `dataDir` holding the same key as the hub in `ofDataDir` (a fork-capable twin). */
export async function startForkHub(dataDir: string, ofDataDir: string): Promise<RealHub> {
  await Deno.mkdir(dataDir, { recursive: true });
  await Deno.copyFile(`${ofDataDir}/hub_key`, `${dataDir}/hub_key`);
  return await startRealHub(dataDir);
}

function answer(bytes: Uint8Array, status = 200, type = "application/cbor"): Response {
  return new Response(bytes as BodyInit, { status, headers: { "content-type": type } });
}

function encodeItem(it: ProxyItem): Uint8Array {
  const a: CborValue[] = [decodeCbor(encodeReceipt(it.receipt)), decodeCbor(it.msgBytes)];
  if (it.proof !== undefined) a.push(decodeCbor(encodeMmrProof(it.proof)));
  return encodeCbor(a);
}

export function startMaliciousHub(
  opts: { upstream: string; hubSeed: Uint8Array },
): Promise<MaliciousHub> {
  const key = signingKeyFromSeed(opts.hubSeed);
  const earlier: Uint8Array[] = [];

  const forward = async (
    base: string,
    req: Request,
    u: URL,
    body: Uint8Array | undefined,
  ): Promise<{ status: number; type: string; bytes: Uint8Array; retryAfter: string | null }> => {
    const init: RequestInit = { method: req.method };
    if (body !== undefined) {
      init.body = body as BodyInit;
      init.headers = { "content-type": req.headers.get("content-type") ?? "application/octet-stream" };
    }
    const res = await fetch(`${base}${u.pathname}${u.search}`, init);
    return {
      status: res.status,
      type: res.headers.get("content-type") ?? "",
      bytes: new Uint8Array(await res.arrayBuffer()),
      retryAfter: res.headers.get("retry-after"),
    };
  };

  const hub: MaliciousHub = {
    url: "",
    hubPk: key.public,
    upstream: opts.upstream,
    mirrors: [],
    pageLimit: undefined,
    tamper: {},
    signReceipt: (r, secret = key.secret) => signReceipt(r, secret),
    signCheckpoint: (label, uptoSeq, mmrRoot, secret = key.secret) => {
      const c: UnsignedCheckpoint = {
        ver: 1,
        labelPrev: label,
        labelCurr: label,
        uptoSeq,
        mmrRoot,
        epoch: 0,
      };
      return signCheckpoint(c, secret);
    },
    honestCheckpoint: async (label, uptoSeq) => {
      const { receipt } = await new HubHttp(hub.upstream).receipt(label, uptoSeq);
      return hub.signCheckpoint(label, uptoSeq, receipt.mmrRoot);
    },
    close: async () => {
      await server.shutdown();
    },
  };

  const route = async (req: Request): Promise<Response> => {
    const u = new URL(req.url);
    const p = u.pathname;
    const t = hub.tamper;
    const body = req.method === "POST" ? new Uint8Array(await req.arrayBuffer()) : undefined;
    const label = () => fromHex(u.searchParams.get("label") ?? "", 32);
    const seq = () => Number(u.searchParams.get("seq"));

    if (req.method === "GET" && p === "/checkpoint_latest" && t.checkpointLatest !== undefined) {
      const c = await t.checkpointLatest(label());
      if (c === null) {
        return answer(encodeErrorBody(new VeenError("E.NOT_FOUND", "no checkpoint")), 404);
      }
      if (c !== undefined) return answer(c);
    }
    if (req.method === "GET" && p === "/consistency" && t.consistency !== undefined) {
      const c = await t.consistency(Number(u.searchParams.get("from")), Number(u.searchParams.get("to")));
      if (c !== undefined) return answer(c);
    }
    if (req.method === "GET" && p === "/stream" && hub.pageLimit !== undefined) {
      const asked = Number(u.searchParams.get("limit") ?? hub.pageLimit);
      u.searchParams.set("limit", String(Math.min(asked, hub.pageLimit)));
    }

    const up = await forward(hub.upstream, req, u, body);
    if (req.method === "POST" && p === "/submit") {
      for (const m of hub.mirrors) await forward(m, req, u, body);
    }
    if (up.status !== 200) {
      const h: Record<string, string> = { "content-type": up.type };
      if (up.retryAfter !== null) h["retry-after"] = up.retryAfter;
      return new Response(up.bytes as BodyInit, { status: up.status, headers: h });
    }

    const json = p === "/info" ? t.info : p === "/healthz" ? t.healthz : undefined;
    if (req.method === "GET" && json !== undefined) {
      return Response.json(json(JSON.parse(new TextDecoder().decode(up.bytes)) as Record<string, unknown>));
    }
    if (req.method === "POST" && p === "/submit") {
      const receipt = decodeReceipt(up.bytes);
      const out = t.submit === undefined
        ? up.bytes
        : t.submit({ msgBytes: body!, receipt, earlier: [...earlier] });
      earlier.push(up.bytes);
      return answer(out);
    }
    if (req.method === "GET" && p === "/stream" && t.stream !== undefined) {
      const items = decodeCborSeq(up.bytes, "/stream page").map(streamItemFromCbor);
      const from = Number(u.searchParams.get("from") ?? "1");
      const out = await t.stream(items, { label: label(), from });
      return answer(concat(...out.map(encodeItem)), 200, "application/cbor-seq");
    }
    if (req.method === "GET" && p === "/receipt" && t.receipt !== undefined) {
      return answer(encodeReceipt(t.receipt(decodeReceipt(up.bytes), seq())));
    }
    if (req.method === "GET" && p === "/proof" && t.proof !== undefined) {
      const a = expectArray(decodeCbor(up.bytes, "/proof answer"), 3, "/proof answer");
      const got = {
        proof: decodeMmrProof(encodeCbor(a[0]!)),
        size: expectUint(a[1], "size"),
        root: expectBytes(a[2], 32, "root"),
      };
      const x = t.proof(got, seq());
      return answer(encodeCbor([decodeCbor(encodeMmrProof(x.proof)), x.size, x.root]));
    }
    return new Response(up.bytes as BodyInit, { status: 200, headers: { "content-type": up.type } });
  };

  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    try {
      return await route(req);
    } catch (e) {
      const v = e instanceof VeenError ? e : new VeenError("E.UNAVAILABLE", `proxy: ${String(e)}`);
      return answer(encodeErrorBody(v), v.httpStatus);
    }
  });
  hub.url = `http://127.0.0.1:${(server.addr as Deno.NetAddr).port}`;
  return Promise.resolve(hub);
}
