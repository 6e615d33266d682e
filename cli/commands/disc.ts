/**
 * `veen disc advertise-hub|advertise-overlay|advertise-service|retire|query` (spec 001 spec-5 §4-6; overlay
 * decisions "Products, query and discovery"; docs/discovery.md). Advertisements and retirements are ordinary sealed
 * MSGs on the discovery streams (`stream_id = H(utf8("disc.hubs.v1"))`, ...), sealed to the writer or to `--to
 * CARD` (the directory's readers). `query` folds the stream of its kind with the verified cursor
 * (cli/overlay_cursor.ts, resumed from DIR/overlays/) and filters at `--at` (default now): retired and expired
 * entries (RECEIPT hub_ts + ttl_sec) are not returned, and at most 100 results are.
 */
import { streamIdFor, toHex, VeenError } from "../../core/mod.ts";
import { HubHttp } from "../http_client.ts";
import {
  type BodyRecord,
  DISC,
  type DiscFilter,
  discFold,
  type DiscKind,
  discQuery,
  type DiscState,
  discStreamName,
  overlayIdOf,
  serviceIdOf,
} from "../../overlays/mod.ts";
import { parseHex32, usageError } from "../../cmd/mod.ts";
import {
  CLIENT_FLAG,
  clientDir,
  type Command,
  type CommandContext,
  HUB_FLAG,
  HUB_KEY_FLAG,
  loadKeys,
  nowSec,
  PASSPHRASE_FLAG,
  POW_FLAGS,
  recipientOf,
  REFOLD_FLAG,
  TO_FLAG,
} from "../context.ts";
import type { HubSession } from "../hub_session.ts";
import { streamTarget } from "../hub_session.ts";
import { type ClientKeys, decryptionSecrets } from "../keystore.ts";
import { OverlayCursor } from "../overlay_cursor.ts";
import { pinnedSession } from "../overlay_io.ts";
import { sendAndSave } from "../sender.ts";
import { parseSchema } from "./send.ts";

const COMMON = [HUB_FLAG, CLIENT_FLAG, HUB_KEY_FLAG, PASSPHRASE_FLAG];
const TTL_FLAG = {
  name: "ttl-sec",
  metavar: "N",
  help: "lifetime of the advertisement from its RECEIPT hub_ts (default 86400)",
};
const TAG_FLAG = { name: "tag", metavar: "TAG", multiple: true, help: "tag (repeatable)" };
const WRITE_FLAGS = [{
  ...TO_FLAG,
  help: "seal to this identity card (the directory's readers) instead of yourself",
}, ...POW_FLAGS];

function kindOf(s: string): DiscKind {
  if (s === "hub" || s === "overlay" || s === "service") return s;
  throw usageError(`--kind must be hub, overlay or service, not "${s}"`);
}

/** Appends one discovery record and prints where it went. */
async function publish(
  ctx: CommandContext,
  kind: DiscKind,
  retire: boolean,
  body: BodyRecord,
): Promise<number> {
  const dir = clientDir(ctx);
  const keys = await loadKeys(ctx, dir);
  const codec = retire ? DISC[kind].retire : DISC[kind].advertise;
  const bodyBytes = codec.encode(body);
  const { res } = await sendAndSave(ctx, dir, keys, discStreamName(kind), {
    recipientPk: (await recipientOf(ctx, keys)).hpkePk,
    hdr: { schema: codec.schemaId },
    bodyBytes,
  });
  const id = toHex(body[DISC[kind].idField] as Uint8Array);
  const hubTs = res.receipt.hubTs;
  const ttl = body.ttl_sec as number | undefined;
  ctx.out.result({
    kind,
    [DISC[kind].idField]: id,
    schema: codec.name,
    stream: DISC[kind].stream,
    stream_seq: res.receipt.streamSeq,
    msg_id: toHex(res.msgId),
    hub_ts: hubTs,
    ...(ttl === undefined ? {} : { expires_at: hubTs + ttl }),
  }, [
    `${codec.name} ${id}`,
    `stream_seq: ${res.receipt.streamSeq}`,
    ...(ttl === undefined ? [] : [`expires_at: ${hubTs + ttl}`]),
  ]);
  return 0;
}

const ttlOf = (ctx: CommandContext) => ctx.flags.int("ttl-sec", { min: 1 }) ?? 86400;

export const discAdvertiseHub: Command = {
  path: ["disc", "advertise-hub"],
  summary: "advertise a hub (disc.hub.advertise.v1; hub_id, hub_pk, profile_id from its /info)",
  usage:
    "veen disc advertise-hub --hub H --client DIR [--advertise URL] [--endpoint KIND=URL]... [--region R] [--tag T]... [--overlay-id HEX32]... [--version V] [--ttl-sec N] [--to CARD]",
  flags: [
    ...COMMON,
    { name: "advertise", metavar: "URL", help: "the hub to advertise (default: --hub)" },
    {
      name: "endpoint",
      metavar: "KIND=URL",
      multiple: true,
      help: "endpoint (default: http=the advertised URL)",
    },
    { name: "region", metavar: "R", help: 'operator-chosen region (default "")' },
    TAG_FLAG,
    { name: "overlay-id", metavar: "HEX32", multiple: true, help: "overlay this hub participates in" },
    {
      name: "version",
      metavar: "V",
      help: "hub software version (default: the advertised hub's /info version)",
    },
    TTL_FLAG,
    ...WRITE_FLAGS,
  ],
  async run(ctx) {
    const dir = clientDir(ctx);
    const session = await pinnedSession(ctx, dir);
    const adUrl = ctx.flags.str("advertise");
    const info = adUrl === undefined ? session.info : await new HubHttp(adUrl, ctx.timeoutMs).info();
    const url = adUrl ?? session.address.url;
    const endpoints = ctx.flags.list("endpoint").map((e) => {
      const i = e.indexOf("=");
      if (i <= 0 || i === e.length - 1) throw usageError(`--endpoint must be KIND=URL, not "${e}"`);
      return new Map([["kind", e.slice(0, i)], ["url", e.slice(i + 1)]]);
    });
    const version = ctx.flags.str("version") ?? String(info.raw.version ?? "unknown");
    return await publish(ctx, "hub", false, {
      hub_id: info.hubId,
      hub_pk: info.hubPk,
      profile_id: info.profileId,
      region: ctx.flags.str("region") ?? "",
      tags: ctx.flags.list("tag"),
      endpoints: endpoints.length > 0
        ? endpoints
        : [new Map([["kind", url.startsWith("https:") ? "https" : "http"], ["url", url]])],
      overlays: ctx.flags.list("overlay-id").map((h) => parseHex32(h, "--overlay-id")),
      ttl_sec: ttlOf(ctx),
      version,
    });
  },
};

export const discAdvertiseOverlay: Command = {
  path: ["disc", "advertise-overlay"],
  summary:
    'advertise an overlay (disc.overlay.advertise.v1; overlay_id = Ht("disc/overlay", name || version))',
  usage:
    "veen disc advertise-overlay --hub H --client DIR --name N --version V [--schema NAME|HEX32]... [--docs-url U] [--tag T]... [--ttl-sec N] [--to CARD]",
  flags: [
    ...COMMON,
    { name: "name", metavar: "N", required: true, help: "overlay name, e.g. rpc" },
    { name: "version", metavar: "V", required: true, help: "overlay version, e.g. v1" },
    {
      name: "schema",
      metavar: "NAME|HEX32",
      multiple: true,
      help: "schema used by the overlay (name or id)",
    },
    { name: "docs-url", metavar: "URL", help: "documentation URL" },
    TAG_FLAG,
    TTL_FLAG,
    ...WRITE_FLAGS,
  ],
  async run(ctx) {
    const name = ctx.flags.req("name");
    const version = ctx.flags.req("version");
    const docs = ctx.flags.str("docs-url");
    return await publish(ctx, "overlay", false, {
      overlay_id: overlayIdOf(name, version),
      name,
      version,
      schemas: ctx.flags.list("schema").map((s) => parseSchema(s)),
      ...(docs === undefined ? {} : { docs_url: docs }),
      tags: ctx.flags.list("tag"),
      ttl_sec: ttlOf(ctx),
    });
  },
};

/** `--overlay-id HEX32` or `--overlay NAME@VERSION`. */
function overlayFlag(ctx: CommandContext, required: boolean): Uint8Array | undefined {
  const id = ctx.flags.str("overlay-id");
  const nv = ctx.flags.str("overlay");
  if (id !== undefined && nv !== undefined) throw usageError("Give --overlay-id or --overlay, not both");
  if (id !== undefined) return parseHex32(id, "--overlay-id");
  if (nv !== undefined) {
    const i = nv.lastIndexOf("@");
    if (i <= 0 || i === nv.length - 1) throw usageError(`--overlay must be NAME@VERSION, not "${nv}"`);
    return overlayIdOf(nv.slice(0, i), nv.slice(i + 1));
  }
  if (required) throw usageError("Missing --overlay-id or --overlay NAME@VERSION");
  return undefined;
}

const OVERLAY_FLAGS = [
  { name: "overlay-id", metavar: "HEX32", help: "overlay id" },
  { name: "overlay", metavar: "NAME@VERSION", help: "overlay by name and version (its derived id)" },
];

export const discAdvertiseService: Command = {
  path: ["disc", "advertise-service"],
  summary:
    'advertise a service (disc.service.advertise.v1; service_id = Ht("disc/service", name || overlay_id))',
  usage:
    "veen disc advertise-service --hub H --client DIR --name N (--overlay NAME@VERSION | --overlay-id HEX32) [--method M]... [--service-stream NAME]... [--region R]... [--required-cap C]... [--auth-mode MODE] [--org O] [--contact C] [--tag T]... [--ttl-sec N] [--to CARD]",
  flags: [
    ...COMMON,
    { name: "name", metavar: "N", required: true, help: "service name" },
    ...OVERLAY_FLAGS,
    { name: "method", metavar: "M", multiple: true, help: "RPC method offered" },
    {
      name: "service-stream",
      metavar: "NAME",
      multiple: true,
      help: "stream the service reads/writes (name or 64-hex stream_id)",
    },
    { name: "region", metavar: "R", multiple: true, help: "preferred region" },
    { name: "required-cap", metavar: "C", multiple: true, help: "logical capability name" },
    { name: "auth-mode", metavar: "MODE", help: "auth_policy.mode: cap_token, mtls, none or other" },
    { name: "org", metavar: "O", help: "operator.org" },
    { name: "contact", metavar: "C", help: "operator.contact" },
    TAG_FLAG,
    TTL_FLAG,
    ...WRITE_FLAGS,
  ],
  async run(ctx) {
    const name = ctx.flags.req("name");
    const overlayId = overlayFlag(ctx, true)!;
    const mode = ctx.flags.str("auth-mode");
    const org = ctx.flags.str("org");
    const contact = ctx.flags.str("contact");
    const operator = new Map<string, string>();
    if (org !== undefined) operator.set("org", org);
    if (contact !== undefined) operator.set("contact", contact);
    return await publish(ctx, "service", false, {
      service_id: serviceIdOf(name, overlayId),
      name,
      overlay_id: overlayId,
      methods: ctx.flags.list("method"),
      stream_ids: ctx.flags.list("service-stream").map((s) => streamIdFor(s)),
      regions: ctx.flags.list("region"),
      required_caps: ctx.flags.list("required-cap"),
      ...(mode === undefined ? {} : { auth_policy: new Map([["mode", mode]]) }),
      ...(operator.size === 0 ? {} : { operator }),
      tags: ctx.flags.list("tag"),
      ttl_sec: ttlOf(ctx),
    });
  },
};

export const discRetire: Command = {
  path: ["disc", "retire"],
  summary: "retire an advertised hub, overlay or service (only its publisher's retire counts)",
  usage:
    "veen disc retire --hub H --client DIR --kind hub|overlay|service --id HEX32 [--reason TEXT] [--to CARD]",
  flags: [
    ...COMMON,
    { name: "kind", metavar: "KIND", required: true, help: "hub, overlay or service" },
    { name: "id", metavar: "HEX32", required: true, help: "hub_id, overlay_id or service_id" },
    { name: "reason", metavar: "TEXT", help: "why" },
    ...WRITE_FLAGS,
  ],
  async run(ctx) {
    const kind = kindOf(ctx.flags.req("kind"));
    const reason = ctx.flags.str("reason");
    return await publish(ctx, kind, true, {
      [DISC[kind].idField]: parseHex32(ctx.flags.req("id"), "--id"),
      ...(reason === undefined ? {} : { reason }),
    });
  },
};

/** Folds the discovery stream of `kind` (verified, resumed from the summary); an absent stream is empty. */
export async function foldDiscovery(
  ctx: CommandContext,
  dir: string,
  keys: ClientKeys,
  session: HubSession,
  kind: DiscKind,
): Promise<{ state: DiscState; stats: Record<string, unknown> }> {
  const cursor = await OverlayCursor.open({
    session,
    target: streamTarget(session, discStreamName(kind)),
    dir,
    secrets: decryptionSecrets(keys),
    fold: discFold(kind),
    refold: ctx.flags.bool("refold"),
    warn: (m) => ctx.out.warn(m),
  });
  try {
    const counts = await cursor.catchUp();
    return { state: cursor.state, stats: { ...cursor.stats(), ...counts } };
  } catch (e) {
    if (e instanceof VeenError && e.code === "E.NOT_FOUND" && cursor.view.size === 0) {
      return { state: cursor.state, stats: cursor.stats() };
    }
    throw e;
  }
}

/** The filter flags of `disc query` and `connect`, per kind. */
export function discFilterOf(ctx: CommandContext, kind: DiscKind): DiscFilter {
  const f: DiscFilter = {};
  const tags = ctx.flags.list("tag");
  if (tags.length > 0) f.tags_any = tags;
  const region = ctx.flags.str("region");
  const prefix = ctx.flags.str("name-prefix");
  const method = ctx.flags.str("method");
  const schema = ctx.flags.str("schema");
  const overlay = overlayFlag(ctx, false);
  const refuse = (flag: string) => {
    throw usageError(`--${flag} does not filter ${kind} queries`);
  };
  if (region !== undefined) kind === "overlay" ? refuse("region") : (f.region = region);
  if (overlay !== undefined) kind === "overlay" ? refuse("overlay-id") : (f.overlay_id = overlay);
  if (prefix !== undefined) kind === "hub" ? refuse("name-prefix") : (f.name_prefix = prefix);
  if (method !== undefined) kind !== "service" ? refuse("method") : (f.method = method);
  if (schema !== undefined) kind !== "overlay" ? refuse("schema") : (f.schema = parseSchema(schema));
  return f;
}

export const discQueryCommand: Command = {
  path: ["disc", "query"],
  summary: "fold a discovery stream and list the live descriptors matching the filter (at most 100)",
  usage:
    "veen disc query --hub H --client DIR --kind hub|overlay|service [--region R] [--tag T]... [--overlay-id HEX32 | --overlay NAME@VERSION] [--name-prefix P] [--method M] [--schema S] [--limit N] [--offset N] [--at UNIX_SEC] [--refold]",
  flags: [
    ...COMMON,
    { name: "kind", metavar: "KIND", required: true, help: "hub, overlay or service" },
    { name: "region", metavar: "R", help: "region (hub: exact; service: among its regions)" },
    { ...TAG_FLAG, help: "match any of these tags (repeatable)" },
    ...OVERLAY_FLAGS,
    { name: "name-prefix", metavar: "P", help: "name starts with P (overlay, service)" },
    { name: "method", metavar: "M", help: "services exposing this method" },
    { name: "schema", metavar: "NAME|HEX32", help: "overlays that include this schema" },
    { name: "limit", metavar: "N", help: "at most N results (capped at 100)" },
    { name: "offset", metavar: "N", help: "skip the first N results" },
    { name: "at", metavar: "UNIX_SEC", help: "evaluate expiry at this time (default now)" },
    REFOLD_FLAG,
  ],
  async run(ctx) {
    const kind = kindOf(ctx.flags.req("kind"));
    const filter = discFilterOf(ctx, kind);
    const dir = clientDir(ctx);
    const keys = await loadKeys(ctx, dir);
    const session = await pinnedSession(ctx, dir);
    const { state, stats } = await foldDiscovery(ctx, dir, keys, session, kind);
    const at = ctx.flags.int("at") ?? nowSec(ctx);
    const limit = ctx.flags.int("limit");
    const offset = ctx.flags.int("offset");
    const { results, more } = discQuery(kind, state, filter, at, {
      ...(limit === undefined ? {} : { limit }),
      ...(offset === undefined ? {} : { offset }),
    });
    const codec = DISC[kind].advertise;
    const json = results.map((r) => ({
      ...codec.toJson(r.body),
      stream_seq: r.seq,
      hub_ts: r.hubTs,
      expires_at: r.expiresAt,
      publisher: r.publisher,
    }));
    ctx.out.result({ kind, at, results: json, more, fold: stats }, [
      ...results.map((r) =>
        `${r.id} ${
          String(r.body.name ?? r.body.region ?? "")
        } (stream_seq ${r.seq}, expires_at ${r.expiresAt})`
      ),
      `${results.length} result(s)${more ? ", more" : ""}`,
    ]);
    return 0;
  },
};

export const DISC_COMMANDS: readonly Command[] = [
  discAdvertiseHub,
  discAdvertiseOverlay,
  discAdvertiseService,
  discRetire,
  discQueryCommand,
];
