/**
 * HTTP client for the hub routes of docs/protocol.md. Every request runs under `--timeout-ms`.
 *
 * Failure mapping (cmd/errors.ts): a network failure or timeout is a transport error (exit 2); a non-2xx answer
 * with a valid CBOR error body becomes that VeenError (exit 4); a non-2xx answer without one, or a 2xx answer
 * that does not decode as the object asked for, is a malformed-response error (exit 3).
 */
import {
  type BatchAnswer,
  type Checkpoint,
  checkpointFromCbor,
  concat,
  type ConsistencyProof,
  decodeBatchResponse,
  decodeConsistencyProof,
  decodeErrorBody,
  decodeMmrProof,
  decodeMsg,
  decodeProfile,
  decodeReceipt,
  fromHex,
  hubIdFor,
  type MmrProof,
  type Msg,
  POW_HEADER,
  type Profile,
  type Receipt,
  receiptFromCbor,
  toHex,
  VeenError,
} from "../core/mod.ts";
import {
  type CborValue,
  decodeCbor,
  decodeCborSeq,
  encodeCbor,
  expectArray,
  expectBytes,
  expectUint,
} from "../core/mod.ts";
import { CommandError, malformedError, transportError } from "../cmd/mod.ts";
import { type PowChallenge, PowPolicy } from "./pow_client.ts";

export const DEFAULT_TIMEOUT_MS = 10_000;
const CBOR_SEQ = "application/cbor-seq";

/**
 * Most bytes read from one hub answer: a hub (or anything at its address) cannot make the CLI buffer more. A
 * /stream page is bounded by the hub's stream_page_bytes (at most 32 MiB) plus one item; an attachment by its
 * max_attachment_bytes; every other answer is small.
 */
const RESPONSE_MAX_BYTES = 4 * 1024 * 1024;
const STREAM_PAGE_RESPONSE_MAX_BYTES = 64 * 1024 * 1024;
const ATTACHMENT_RESPONSE_MAX_BYTES = 64 * 1024 * 1024;

/** `GET /info`. */
export interface HubInfo {
  hubPk: Uint8Array;
  hubId: Uint8Array;
  profileId: Uint8Array;
  version: string;
  admission: boolean;
  routingKey: Uint8Array;
  /** The whole /info object (role, uptime_sec, data_dir, ... when the hub reports them). */
  raw: Record<string, unknown>;
}

/** `GET /kex-policy` (docs/protocol.md "KEX1+"): each bound null when the hub leaves it unset. */
export interface KexPolicy {
  max_client_id_lifetime_sec: number | null;
  max_msgs_per_client_id_per_label: number | null;
  default_cap_ttl_sec: number | null;
  max_cap_ttl_sec: number | null;
  revocation_stream: string | null;
  rotation_window_sec: number | null;
}

const KEX_POLICY_UINTS = [
  "max_client_id_lifetime_sec",
  "max_msgs_per_client_id_per_label",
  "default_cap_ttl_sec",
  "max_cap_ttl_sec",
  "rotation_window_sec",
] as const;

/** One `/stream` item with its exact wire bytes. */
export interface StreamItem {
  receipt: Receipt;
  receiptBytes: Uint8Array;
  msg: Msg;
  msgBytes: Uint8Array;
  proof?: MmrProof;
}

type FetchFn = (input: string, init: RequestInit) => Promise<Response>;

/** Decodes a hub answer; any decoding failure is a malformed-response error naming `what`. */
export function decodeAnswer<T>(what: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof VeenError) throw malformedError(`Hub answered with a malformed ${what}: ${e.detail}`, e);
    throw malformedError(
      `Hub answered with a malformed ${what}: ${e instanceof Error ? e.message : String(e)}`,
      e,
    );
  }
}

/** The UTF-8 JSON of an answer. */
function parseJson(bytes: Uint8Array): unknown {
  return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
}

/** The UTF-8 JSON of an answer, which must be an object. */
function jsonObject(bytes: Uint8Array): Record<string, unknown> {
  const o = parseJson(bytes);
  if (typeof o !== "object" || o === null || Array.isArray(o)) throw new Error("not a JSON object");
  return o as Record<string, unknown>;
}

/** The CBOR of an answer, which must be a map. */
function cborMap(bytes: Uint8Array, what: string): Map<number | string, CborValue> {
  const v = decodeCbor(bytes, what);
  if (!(v instanceof Map)) throw new Error("not a map");
  return v;
}

function hexField(o: Record<string, unknown>, k: string, len: number | undefined): Uint8Array {
  const v = o[k];
  if (typeof v !== "string") throw new Error(`field ${k} is missing`);
  return fromHex(v, len, k);
}

export class HubHttp {
  readonly baseUrl: string;
  readonly timeoutMs: number;
  readonly #fetch: FetchFn;
  /** Which Veen-PoW cookie `submit` sends (cli/pow_client.ts); connectHub sets the hub's difficulty. */
  pow: PowPolicy = new PowPolicy();

  constructor(baseUrl: string, timeoutMs = DEFAULT_TIMEOUT_MS, fetchFn: FetchFn = fetch) {
    this.baseUrl = baseUrl.replace(/\/+$/, "");
    this.timeoutMs = timeoutMs;
    this.#fetch = fetchFn;
  }

  /** Sends one request and returns the body of a 2xx answer; maps every failure as described above. */
  async request(
    method: "GET" | "POST",
    path: string,
    query: Record<string, string | number | undefined> = {},
    body?: { bytes: Uint8Array; type: string; headers?: Record<string, string> },
    okStatuses: readonly number[] = [],
    maxBytes = RESPONSE_MAX_BYTES,
  ): Promise<{ bytes: Uint8Array; type: string; status: number }> {
    const qs = Object.entries(query)
      .filter((e): e is [string, string | number] => e[1] !== undefined)
      .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
      .join("&");
    const url = `${this.baseUrl}${path}${qs === "" ? "" : "?" + qs}`;
    const init: RequestInit = { method, signal: AbortSignal.timeout(this.timeoutMs) };
    if (body !== undefined) {
      init.body = body.bytes as BodyInit;
      init.headers = { ...body.headers, "content-type": body.type };
    }
    let status: number;
    let type: string;
    let bytes: Uint8Array;
    let retryAfter: string | null;
    try {
      const res = await this.#fetch(url, init);
      status = res.status;
      type = res.headers.get("content-type") ?? "";
      retryAfter = res.headers.get("retry-after");
      bytes = await readAnswer(res, maxBytes, `${method} ${path}`);
    } catch (e) {
      if (e instanceof CommandError) throw e;
      const name = e instanceof Error ? e.name : "";
      if (name === "TimeoutError" || name === "AbortError") {
        throw transportError(
          `Hub at ${this.baseUrl} did not answer ${method} ${path} within ${this.timeoutMs} ms`,
          e,
        );
      }
      throw transportError(
        `Cannot reach hub at ${this.baseUrl}: ${e instanceof Error ? e.message : String(e)}`,
        e,
      );
    }
    if ((status >= 200 && status < 300) || okStatuses.includes(status)) return { bytes, type, status };
    const err = decodeErrorBody(bytes);
    if (err === undefined) {
      throw malformedError(`Hub answered ${method} ${path} with HTTP ${status} and no valid error body`);
    }
    if (err.retryAfter === undefined && retryAfter !== null && /^[0-9]+$/.test(retryAfter)) {
      throw new VeenError(err.code, err.detail, { retryAfter: Number(retryAfter) });
    }
    throw err;
  }

  /** `GET /info`: hub key, hub id (checked against the key), profile id, admission flag and routing key. */
  async info(): Promise<HubInfo> {
    const { bytes } = await this.request("GET", "/info");
    return decodeAnswer("/info JSON", () => {
      const r = jsonObject(bytes);
      const info: HubInfo = {
        hubPk: hexField(r, "hub_pk", 32),
        hubId: hexField(r, "hub_id", 32),
        profileId: hexField(r, "profile_id", 32),
        version: typeof r.version === "string" ? r.version : "",
        admission: r.admission === true,
        routingKey: typeof r.routing_key_hex === "string"
          ? fromHex(r.routing_key_hex, undefined, "routing_key_hex")
          : new Uint8Array(0),
        raw: r,
      };
      if (toHex(hubIdFor(info.hubPk)) !== toHex(info.hubId)) {
        throw new Error('hub_id is not Ht("veen/hub-id", hub_pk)');
      }
      return info;
    });
  }

  /** `GET /profile`. */
  async profile(): Promise<Profile> {
    const { bytes } = await this.request("GET", "/profile");
    return decodeAnswer("profile", () => decodeProfile(bytes));
  }

  /**
   * `POST /submit` → the RECEIPT and its exact bytes. The `Veen-PoW` header is the policy's (`pow`); a refusal for
   * proof of work is retried once with a freshly solved challenge (the hub refused at stage 0, before the MSG).
   */
  async submit(msgBytes: Uint8Array): Promise<{ receipt: Receipt; bytes: Uint8Array }> {
    const once = async (cookie: string | undefined) => {
      const { bytes } = await this.request("POST", "/submit", {}, {
        bytes: msgBytes,
        type: "application/cbor",
        ...(cookie === undefined ? {} : { headers: { [POW_HEADER]: cookie } }),
      });
      return { receipt: decodeAnswer("RECEIPT", () => decodeReceipt(bytes)), bytes };
    };
    try {
      return await once(await this.pow.first(this));
    } catch (e) {
      const again = await this.pow.retry(this, e);
      if (again === undefined) throw e;
      return await once(again);
    }
  }

  /**
   * `POST /submit_batch` (docs/protocol.md): one answer per MSG, in order, each its RECEIPT (with its exact bytes)
   * or the hub's refusal of that MSG. A refusal of the whole request throws as any other answer does; an answer
   * that does not hold exactly one item per MSG is a malformed-response error.
   */
  async submitBatch(msgs: readonly Uint8Array[]): Promise<BatchAnswer[]> {
    const { bytes } = await this.request("POST", "/submit_batch", {}, {
      bytes: concat(...msgs),
      type: CBOR_SEQ,
    });
    return decodeAnswer("/submit_batch answer", () => decodeBatchResponse(bytes, msgs.length));
  }

  /** `GET /pow/challenge[?difficulty=D]` (docs/protocol.md "Proof of work"). */
  async powChallenge(difficulty?: number): Promise<PowChallenge> {
    const { bytes } = await this.request("GET", "/pow/challenge", { difficulty: difficulty || undefined });
    return decodeAnswer("/pow/challenge JSON", () => {
      const o = jsonObject(bytes);
      const d = o.difficulty;
      const exp = o.expires_at;
      if (typeof d !== "number" || !Number.isInteger(d) || d < 0 || d > 255) {
        throw new Error("difficulty is not a uint8");
      }
      if (typeof exp !== "number" || !Number.isSafeInteger(exp) || exp < 0) {
        throw new Error("expires_at is not a uint");
      }
      return { challenge: hexField(o, "challenge", 32), difficulty: d, expiresAt: exp };
    });
  }

  /** `GET /admission` (`{stages: [...]}`) or `GET /admission/log` (`{events: [...]}`): the JSON object as sent. */
  async admissionJson(
    path: "/admission" | "/admission/log",
    query: Record<string, string | number | undefined> = {},
  ) {
    const { bytes } = await this.request("GET", path, query);
    return decodeAnswer(`${path} JSON`, () => jsonObject(bytes));
  }

  /** One `GET /stream` page: items at or after `from` (an empty list means none). */
  async streamPage(
    label: Uint8Array,
    from: number,
    opts: { to?: number; withProof?: boolean; limit?: number } = {},
  ): Promise<StreamItem[]> {
    const { bytes } = await this.request(
      "GET",
      "/stream",
      {
        label: toHex(label),
        from,
        to: opts.to,
        with_proof: opts.withProof ? 1 : undefined,
        limit: opts.limit,
      },
      undefined,
      [],
      STREAM_PAGE_RESPONSE_MAX_BYTES,
    );
    return decodeAnswer("/stream page", () => decodeCborSeq(bytes, "/stream page").map(streamItemFromCbor));
  }

  /** `GET /receipt?label&seq`. */
  async receipt(label: Uint8Array, seq: number): Promise<{ receipt: Receipt; bytes: Uint8Array }> {
    const { bytes } = await this.request("GET", "/receipt", { label: toHex(label), seq });
    return { receipt: decodeAnswer("RECEIPT", () => decodeReceipt(bytes)), bytes };
  }

  /** `GET /proof?label&seq[&size]` → inclusion proof of `seq` in the MMR of `size` leaves, with the hub's size and root. */
  async proof(
    label: Uint8Array,
    seq: number,
    size?: number,
  ): Promise<{ proof: MmrProof; size: number; root: Uint8Array }> {
    const { bytes } = await this.request("GET", "/proof", { label: toHex(label), seq, size });
    return decodeAnswer("/proof answer", () => {
      const a = expectArray(decodeCbor(bytes, "/proof answer"), 3, "/proof answer");
      return {
        proof: decodeMmrProof(encodeCbor(a[0]!)),
        size: expectUint(a[1], "/proof size"),
        root: expectBytes(a[2], 32, "/proof mmr_root"),
      };
    });
  }

  /** `GET /consistency?label&from&to`. */
  async consistency(label: Uint8Array, from: number, to: number): Promise<ConsistencyProof> {
    const { bytes } = await this.request("GET", "/consistency", { label: toHex(label), from, to });
    return decodeAnswer("consistency proof", () => decodeConsistencyProof(bytes));
  }

  /** `GET /checkpoint_latest?label`; undefined when the hub has none (E.NOT_FOUND). */
  async checkpointLatest(
    label: Uint8Array,
  ): Promise<{ checkpoint: Checkpoint; bytes: Uint8Array } | undefined> {
    let bytes: Uint8Array;
    try {
      ({ bytes } = await this.request("GET", "/checkpoint_latest", { label: toHex(label) }));
    } catch (e) {
      if (e instanceof VeenError && e.code === "E.NOT_FOUND") return undefined;
      throw e;
    }
    return {
      checkpoint: decodeAnswer("CHECKPOINT", () => checkpointFromCbor(decodeCbor(bytes, "CHECKPOINT"))),
      bytes,
    };
  }

  /**
   * `POST /checkpoint/now` with a signed checkpoint request → the CHECKPOINTs' bytes (request order) and the export
   * checkpoint's bytes, as sent (the caller checks them).
   */
  async checkpointNow(
    request: Uint8Array,
  ): Promise<{ checkpoints: Uint8Array[]; exportCheckpoint: Uint8Array }> {
    const { bytes } = await this.request("POST", "/checkpoint/now", {}, {
      bytes: request,
      type: "application/cbor",
    });
    return decodeAnswer("/checkpoint/now answer", () => {
      const a = expectArray(decodeCbor(bytes, "/checkpoint/now answer"), 2, "/checkpoint/now answer");
      if (!Array.isArray(a[0])) throw new Error("checkpoints is not an array");
      return {
        checkpoints: a[0].map((c, i) => expectBytes(c, undefined, `checkpoints[${i}]`)),
        exportCheckpoint: expectBytes(a[1], undefined, "export checkpoint"),
      };
    });
  }

  /** `POST /authorize` → `{auth_ref, expires_at}`. */
  async authorize(capBytes: Uint8Array): Promise<{ authRef: Uint8Array; expiresAt: number }> {
    const { bytes } = await this.request("POST", "/authorize", {}, {
      bytes: capBytes,
      type: "application/cbor",
    });
    return decodeAnswer("/authorize answer", () => {
      const v = cborMap(bytes, "/authorize answer");
      return {
        authRef: expectBytes(v.get("auth_ref"), 32, "auth_ref"),
        expiresAt: expectUint(v.get("expires_at"), "expires_at"),
      };
    });
  }

  /** `GET /authorize?auth_ref=HEX` (hub view of an admission record, CLI-GOALS-2 `cap status`). */
  async authStatus(authRef: Uint8Array): Promise<Map<string | number, CborValue>> {
    const { bytes } = await this.request("GET", "/authorize", { auth_ref: toHex(authRef) });
    return decodeAnswer("/authorize status", () => cborMap(bytes, "/authorize status"));
  }

  /**
   * `POST /attachments` → coid (checked by the caller against its own H(ciphertext)). `authRef` (the capability the
   * MSG will carry) goes in the `veen-auth-ref` header: a hub with admission requires it and charges the upload to it.
   */
  async putAttachment(ciphertext: Uint8Array, authRef?: Uint8Array): Promise<Uint8Array> {
    const { bytes } = await this.request("POST", "/attachments", {}, {
      bytes: ciphertext,
      type: "application/octet-stream",
      ...(authRef === undefined ? {} : { headers: { "veen-auth-ref": toHex(authRef) } }),
    });
    return decodeAnswer(
      "/attachments answer",
      () => expectBytes(cborMap(bytes, "/attachments answer").get("coid"), 32, "coid"),
    );
  }

  /** `GET /attachments/<coid>`. */
  async getAttachment(coid: Uint8Array): Promise<Uint8Array> {
    const path = `/attachments/${toHex(coid)}`;
    return (await this.request("GET", path, {}, undefined, [], ATTACHMENT_RESPONSE_MAX_BYTES)).bytes;
  }

  /** The hub's last_stream_seq for `label` from /healthz (0 when the hub answers E.NOT_FOUND for an unknown label). */
  async labelSize(label: Uint8Array): Promise<number> {
    try {
      return (await this.healthz(label)).lastStreamSeq;
    } catch (e) {
      if (e instanceof VeenError && e.code === "E.NOT_FOUND") return 0;
      throw e;
    }
  }

  /** `GET path` answered with a JSON object (the admin-plane and policy routes, docs/admin.md). */
  async json(
    path: string,
    query: Record<string, string | number | undefined> = {},
  ): Promise<Record<string, unknown>> {
    const { bytes } = await this.request("GET", path, query);
    return decodeAnswer(`${path} JSON`, () => jsonObject(bytes));
  }

  /** `GET /realm`: the signed realm descriptor's bytes (the caller checks them against the pinned hub key). */
  async realm(): Promise<Uint8Array> {
    return (await this.request("GET", "/realm")).bytes;
  }

  /** `GET /kex-policy`: the KEX1+ bounds (uint or null each) and the revocation stream id (hex or null). */
  async kexPolicy(): Promise<KexPolicy> {
    const { bytes } = await this.request("GET", "/kex-policy");
    return decodeAnswer("/kex-policy JSON", () => {
      const o = jsonObject(bytes);
      const uint = (k: string): number | null => {
        const v = o[k] ?? null;
        if (v !== null && !(typeof v === "number" && Number.isSafeInteger(v) && v >= 0)) {
          throw new Error(`${k} is neither a uint nor null`);
        }
        return v as number | null;
      };
      const [lifetime, msgs, defTtl, maxTtl, window] = KEX_POLICY_UINTS.map(uint);
      const rs = o.revocation_stream ?? null;
      if (rs !== null && !(typeof rs === "string" && /^[0-9a-f]{64}$/.test(rs))) {
        throw new Error("revocation_stream is not 64 hex digits");
      }
      return {
        max_client_id_lifetime_sec: lifetime!,
        max_msgs_per_client_id_per_label: msgs!,
        default_cap_ttl_sec: defTtl!,
        max_cap_ttl_sec: maxTtl!,
        revocation_stream: rs,
        rotation_window_sec: window!,
      };
    });
  }

  /** `GET /cap?auth_ref=HEX`: the stored CBOR(cap_token) of an authorized cap (E.NOT_FOUND otherwise). */
  async capToken(authRef: Uint8Array): Promise<Uint8Array> {
    return (await this.request("GET", "/cap", { auth_ref: toHex(authRef) })).bytes;
  }

  /** `GET /admin/grant?auth_ref=HEX`: the CBOR body of the access grant whose auth_ref it is (E.NOT_FOUND otherwise). */
  async grantBody(authRef: Uint8Array): Promise<Uint8Array> {
    return (await this.request("GET", "/admin/grant", { auth_ref: toHex(authRef) })).bytes;
  }

  /** `GET /metrics` (Prometheus text). */
  async metrics(): Promise<string> {
    return new TextDecoder().decode((await this.request("GET", "/metrics")).bytes);
  }

  /** `GET /healthz[?label]` as the hub sent it (200, or 503 while not ready). */
  async healthzRaw(label?: Uint8Array): Promise<{ status: number; health: Record<string, unknown> }> {
    const q = { label: label === undefined ? undefined : toHex(label) };
    const { bytes, status } = await this.request("GET", "/healthz", q, undefined, [503]);
    return decodeAnswer("/healthz JSON", () => ({ status, health: jsonObject(bytes) }));
  }

  /** `GET /healthz[?label]` → the hub's last_stream_seq for the label (unsigned; callers fetch the signed RECEIPT). */
  async healthz(
    label?: Uint8Array,
  ): Promise<{ lastStreamSeq: number; lastMmrRoot: string; profileId: string; peaksCount: number }> {
    const { bytes } = await this.request("GET", "/healthz", {
      label: label === undefined ? undefined : toHex(label),
    });
    return decodeAnswer("/healthz JSON", () => {
      const o = parseJson(bytes) as Record<string, unknown>;
      const n = o.last_stream_seq;
      if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 0) {
        throw new Error("last_stream_seq is not a uint");
      }
      return {
        lastStreamSeq: n,
        lastMmrRoot: typeof o.last_mmr_root === "string" ? o.last_mmr_root : "",
        profileId: typeof o.profile_id === "string" ? o.profile_id : "",
        peaksCount: typeof o.peaks_count === "number" ? o.peaks_count : 0,
      };
    });
  }
}

/** An answer's body, read through its stream: more than `max` bytes (declared or sent) is a malformed answer. */
async function readAnswer(res: Response, max: number, what: string): Promise<Uint8Array> {
  const tooBig = () => malformedError(`Hub answered ${what} with more than ${max} bytes`);
  const declared = res.headers.get("content-length");
  if (declared !== null && Number(declared) > max) {
    await res.body?.cancel();
    throw tooBig();
  }
  if (res.body === null) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let n = 0;
  for await (const chunk of res.body) {
    n += chunk.length;
    if (n > max) throw tooBig(); // leaving the loop cancels the stream
    chunks.push(chunk);
  }
  return chunks.length === 1 ? chunks[0]! : concat(...chunks);
}

/** Decodes one `/stream` item `[RECEIPT, MSG]` or `[RECEIPT, MSG, mmr_proof]`, keeping the exact bytes. */
export function streamItemFromCbor(v: CborValue): StreamItem {
  const a = expectArray(v, [2, 3], "/stream item");
  const receiptBytes = encodeCbor(a[0]!);
  const msgBytes = encodeCbor(a[1]!);
  const item: StreamItem = {
    receipt: receiptFromCbor(a[0]!),
    receiptBytes,
    msg: decodeMsg(msgBytes),
    msgBytes,
  };
  if (a.length === 3) item.proof = decodeMmrProof(encodeCbor(a[2]!));
  return item;
}
