/** Shared fixtures for tests that run a real hub on a random loopback port. */
import {
  type CapToken,
  type CborValue,
  decodeCbor,
  decodeErrorBody,
  DEFAULT_PROFILE_ID,
  encodeCbor,
  encodeMsg,
  H,
  issueCapToken,
  labelFor,
  type Msg,
  type SigningKey,
  signingKeyFromSeed,
  signMsg,
  streamIdFor,
  VeenError,
} from "../core/mod.ts";
import {
  defaultConfig,
  type HubConfig,
  Logger,
  type RunningHub,
  selfCommand,
  startHub,
  type StartOptions,
} from "../hub/mod.ts";
import { framedCiphertext } from "../selftest/craft.ts";

export const quietLogger = (): Logger => new Logger("error", "hub", "standalone", () => {});

export type ConfigOverrides = Partial<Omit<HubConfig, "limits">> & { limits?: Partial<HubConfig["limits"]> };

export function testConfig(dataDir: string, o: ConfigOverrides = {}): HubConfig {
  const base = defaultConfig(dataDir);
  return { ...base, listen: "127.0.0.1:0", ...o, limits: { ...base.limits, ...o.limits } } as HubConfig;
}

/** Starts a hub on `dir` (VEEN_TEST_MEMORY_STORE=1 swaps in the in-memory store for quick runs). */
export async function startTestHub(
  dir: string,
  o: ConfigOverrides = {},
  extra: StartOptions = {},
): Promise<RunningHub> {
  const store = Deno.env.get("VEEN_TEST_MEMORY_STORE")
    ? new (await import("../hub/memory_store.ts")).MemoryStore()
    : undefined;
  return await startHub(testConfig(dir, o), { logger: quietLogger(), ...(store ? { store } : {}), ...extra });
}

/** Starts a hub on a temp dir; `fn` runs with it; the hub is closed and the dir removed afterwards. */
export async function withHub(
  o: ConfigOverrides,
  fn: (hub: RunningHub, dir: string) => Promise<void>,
  dir?: string,
): Promise<void> {
  const d = dir ?? await Deno.makeTempDir({ prefix: "veen-test-" });
  const hub = await startTestHub(d, o);
  try {
    await fn(hub, d);
  } finally {
    await hub.close();
    if (dir === undefined) await Deno.remove(d, { recursive: true });
  }
}

/** A writer on one label with its own key, producing signed MSGs with consecutive client_seq. */
export class Writer {
  readonly key: SigningKey;
  readonly label: Uint8Array;
  seq = 0;

  constructor(stream: string, seed = 1) {
    this.key = signingKeyFromSeed(new Uint8Array(32).fill(seed));
    this.label = labelFor(streamIdFor(stream));
  }

  msg(
    o: { clientSeq?: number; prevAck?: number; authRef?: Uint8Array | null; tag?: number; bodyLen?: number } =
      {},
  ): Msg {
    const clientSeq = o.clientSeq ?? ++this.seq;
    const ciphertext = framedCiphertext(o.tag ?? (clientSeq % 251), o.bodyLen ?? 32);
    return signMsg({
      ver: 1,
      profileId: DEFAULT_PROFILE_ID,
      label: this.label,
      clientId: this.key.public,
      clientSeq,
      prevAck: o.prevAck ?? 0,
      authRef: o.authRef ?? null,
      ctHash: H(ciphertext),
      ciphertext,
    }, this.key.secret);
  }
}

export interface HttpResult {
  status: number;
  body: Uint8Array;
  headers: Headers;
}

export async function http(url: string, init?: RequestInit): Promise<HttpResult> {
  const r = await fetch(url, init);
  return { status: r.status, body: new Uint8Array(await r.arrayBuffer()), headers: r.headers };
}

export function postCbor(base: string, path: string, body: Uint8Array): Promise<HttpResult> {
  return http(base + path, {
    method: "POST",
    body: body as BodyInit,
    headers: { "content-type": "application/cbor" },
  });
}

export function submit(base: string, m: Msg | Uint8Array): Promise<HttpResult> {
  return postCbor(base, "/submit", m instanceof Uint8Array ? m : encodeMsg(m));
}

/** The error code of a non-2xx answer (throws when the body is not an error body). */
export function errorCode(r: HttpResult): string {
  const e = decodeErrorBody(r.body);
  if (e === undefined) throw new Error(`status ${r.status} without an error body`);
  return e.code;
}

export function cbor(r: HttpResult): ReturnType<typeof decodeCbor> {
  if (r.status !== 200) throw new VeenError("E.UNAVAILABLE", `HTTP ${r.status}: ${errorCode(r)}`);
  return decodeCbor(r.body);
}

/** Runs `veen ARGS` as a subprocess (this checkout's entry point) and collects its exit code and output. */
export async function veen(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const self = selfCommand();
  const r = await new Deno.Command(self.cmd, {
    args: [...self.args, ...args],
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const dec = new TextDecoder();
  return { code: r.code, out: dec.decode(r.stdout), err: dec.decode(r.stderr) };
}

/** `root/name` holding `key` as its hub key, so that other hubs can be configured with it before it first starts. */
export async function dirWithHubKey(root: string, name: string, key: SigningKey): Promise<string> {
  const dir = `${root}/${name}`;
  await Deno.mkdir(dir, { recursive: true });
  const file = encodeCbor(new Map<number, CborValue>([[1, 1], [2, key.secret], [3, key.public]]));
  await Deno.writeFile(`${dir}/hub_key`, file, { mode: 0o600 });
  return dir;
}

/** A cap_token issued with the hub's own key (always trusted) for `subjectPk` on `stream`. */
export function hubCap(hub: RunningHub, subjectPk: Uint8Array, stream: string, ttl: number): CapToken {
  return issueCapToken({
    issuerSecret: hub.hubKey.secret,
    issuerPk: hub.hubKey.public,
    subjectPk,
    streamIds: [streamIdFor(stream)],
    ttl,
  });
}
