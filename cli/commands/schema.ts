/**
 * The schema registry (META0+, spec 002 §7; CLI-GOALS-2 §7; overlay decisions "LCLASS0 and META0+"):
 * - `schema register`: publishes `veen.meta.schema.v1` on the realm's stream_schema_meta as the admin client
 *   (schema_id defaults to core `schemaIdFor(name)`, the one table `schema-id` uses; ts now) and prints the
 *   descriptor the hub registered;
 * - `schema show`: one descriptor; an unknown schema_id is E.PROFILE (exit 4). With `--client --stream` it adds
 *   used_count and used_labels;
 * - `schema list`: the descriptors, filtered by name prefix and owner;
 * - `schema usage`: counted by the client over the streams it names and can read — the hub never sees payload
 *   schemas. Every item is checked (hub_sig, MSG.sig, leaf binding) and opened with the client's keys; items it
 *   cannot open are counted apart. Schemas nobody registered are reported as `unknown`.
 */
import { schemaIdFor, toHex, VeenError } from "../../core/mod.ts";
import { parseHex32, parseUint, usageError } from "../../cmd/mod.ts";
import { META_SCHEMA } from "../../overlays/mod.ts";
import {
  ADMIN_CAP_FLAG,
  ADMIN_FLAG,
  adminDir,
  checkRealmFlag,
  publishAdminRecord,
  REALM_FLAG,
  realmDescriptor,
} from "../admin.ts";
import { checkItem } from "../client_view.ts";
import {
  CLIENT_FLAG,
  clientDir,
  type Command,
  type CommandContext,
  connectFromFlags,
  HUB_FLAG,
  HUB_KEY_FLAG,
  loadKeys,
  nowSec,
  PASSPHRASE_FLAG,
} from "../context.ts";
import { parseSubject } from "./cap.ts";
import { openForClient } from "../decrypt.ts";
import { type HubSession, itemContext, streamTarget } from "../hub_session.ts";
import { decryptionSecrets } from "../keystore.ts";
import { pinnedSession } from "../overlay_io.ts";
import { fetchItems } from "../view_sync.ts";

const SCHEMA_ID_FLAG = { name: "schema-id", metavar: "HEX32", help: "the schema id" };
const USAGE_FLAGS = [
  { name: "stream", metavar: "NAME", multiple: true, help: "a stream to count over (repeatable)" },
  { name: "since", metavar: "UNIX_SEC", help: "only items whose RECEIPT hub_ts >= since" },
  { name: "limit", metavar: "N", help: "read at most the last N items of each stream" },
];

/** The registered descriptor of `id`, or undefined when the hub has none. */
async function lookup(session: HubSession, id: string): Promise<Record<string, unknown> | undefined> {
  try {
    const { ok: _, ...d } = await session.http.json("/admin/schema", { schema_id: id });
    return d;
  } catch (e) {
    if (e instanceof VeenError && e.code === "E.NOT_FOUND") return undefined;
    throw e;
  }
}

function descriptorLines(d: Record<string, unknown>): string[] {
  return [
    `schema_id: ${d.schema_id}`,
    `name: ${d.name}`,
    `version: ${d.version}`,
    `doc_url: ${d.doc_url ?? "none"}`,
    `owner: ${d.owner ?? "none"}`,
    `ts: ${d.ts}`,
  ];
}

export interface SchemaUsage {
  count: number;
  labels: Set<string>;
}

/** What `schema usage` found: per schema_id hex its count and labels; items read and items not opened. */
export interface UsageScan {
  bySchema: Map<string, SchemaUsage>;
  items: number;
  notDecryptable: number;
}

/**
 * Counts payload schemas over `--stream` streams as client `--client`: each stream's items (the last `--limit`),
 * checked and opened with the client's keys, those with hub_ts >= `--since`.
 */
export async function scanUsage(ctx: CommandContext, session: HubSession): Promise<UsageScan> {
  const streams = ctx.flags.list("stream");
  if (streams.length === 0) throw usageError("Give at least one --stream to count over");
  const keys = await loadKeys(ctx, clientDir(ctx));
  const secrets = decryptionSecrets(keys);
  const since = ctx.flags.str("since") === undefined ? 0 : parseUint(ctx.flags.req("since"), "--since");
  const limit = ctx.flags.int("limit", { min: 1 });
  const scan: UsageScan = { bySchema: new Map(), items: 0, notDecryptable: 0 };
  for (const name of streams) {
    const target = streamTarget(session, name);
    const size = await session.http.labelSize(target.label);
    const from = limit === undefined ? 1 : Math.max(1, size - limit + 1);
    const ictx = itemContext(session, target.label);
    for await (const item of fetchItems(session.http, target.label, from, { to: size })) {
      checkItem(item.receipt, item.msg, ictx);
      if (item.receipt.hubTs < since) continue;
      scan.items++;
      const opened = await openForClient(item.msg, session.profile, secrets);
      if (!opened.ok) {
        scan.notDecryptable++;
        continue;
      }
      const id = toHex(opened.payload.hdr.schema);
      const u = scan.bySchema.get(id) ?? { count: 0, labels: new Set<string>() };
      u.count++;
      u.labels.add(toHex(target.label));
      scan.bySchema.set(id, u);
    }
  }
  return scan;
}

export const schemaRegister: Command = {
  path: ["schema", "register"],
  summary: "register a schema descriptor (veen.meta.schema.v1)",
  usage:
    "veen schema register --hub H [--realm R] --name TEXT --version TEXT [--doc-url TEXT] [--owner HEX32|CARD] " +
    "[--schema-id HEX32] --admin DIR [--cap FILE]",
  flags: [
    HUB_FLAG,
    REALM_FLAG,
    { name: "name", metavar: "TEXT", required: true, help: "schema name, e.g. wallet.transfer.v1" },
    { name: "version", metavar: "TEXT", required: true, help: "schema version, e.g. v1" },
    { name: "doc-url", metavar: "TEXT", help: "documentation URL or identifier" },
    {
      name: "owner",
      metavar: "HEX32|CARD",
      help:
        "controlling principal: a public key, or an identity card file or client directory (its client_id)",
    },
    { ...SCHEMA_ID_FLAG, help: "the schema id (default: schema-id NAME, the one table)" },
    ADMIN_FLAG,
    ADMIN_CAP_FLAG,
    HUB_KEY_FLAG,
    PASSPHRASE_FLAG,
  ],
  async run(ctx) {
    const name = ctx.flags.req("name");
    const idFlag = ctx.flags.str("schema-id");
    const schemaId = idFlag === undefined ? schemaIdFor(name) : parseHex32(idFlag, "--schema-id");
    const ownerFlag = ctx.flags.str("owner");
    const body = {
      schema_id: schemaId,
      name,
      version: ctx.flags.req("version"),
      doc_url: ctx.flags.str("doc-url"),
      owner: ownerFlag === undefined ? undefined : await parseSubject(ownerFlag),
      ts: nowSec(ctx),
    };
    const { res, session } = await publishAdminRecord(ctx, adminDir(ctx), "schema_meta", META_SCHEMA, body);
    const d = await lookup(session, toHex(schemaId));
    if (d === undefined) {
      throw new VeenError(
        "E.UNAVAILABLE",
        `Hub receipted the record but does not list schema ${toHex(schemaId)}`,
      );
    }
    ctx.out.result({ ...d, msg_id: toHex(res.msgId) }, descriptorLines(d));
    return 0;
  },
};

export const schemaShow: Command = {
  path: ["schema", "show"],
  summary: "show a registered schema descriptor (unknown: E.PROFILE, exit 4)",
  usage: "veen schema show --hub H --schema-id HEX32 [--client DIR --stream NAME...]",
  flags: [
    HUB_FLAG,
    { ...SCHEMA_ID_FLAG, required: true },
    CLIENT_FLAG,
    ...USAGE_FLAGS,
    HUB_KEY_FLAG,
    PASSPHRASE_FLAG,
  ],
  async run(ctx) {
    const id = toHex(parseHex32(ctx.flags.req("schema-id"), "--schema-id"));
    const withUsage = ctx.flags.list("stream").length > 0;
    const session = withUsage ? await pinnedSession(ctx, clientDir(ctx)) : await connectFromFlags(ctx);
    const d = await lookup(session, id);
    if (d === undefined) throw new VeenError("E.PROFILE", `Schema ${id} is not registered on this hub`);
    const json: Record<string, unknown> = { ...d };
    const lines = descriptorLines(d);
    if (withUsage) {
      const u = (await scanUsage(ctx, session)).bySchema.get(id);
      json.used_count = u?.count ?? 0;
      json.used_labels = [...(u?.labels ?? [])];
      lines.push(
        `used_count: ${json.used_count}`,
        `used_labels: ${(json.used_labels as string[]).join(", ")}`,
      );
    }
    ctx.out.result(json, lines);
    return 0;
  },
};

export const schemaList: Command = {
  path: ["schema", "list"],
  summary: "list registered schema descriptors",
  usage: "veen schema list --hub H [--realm R] [--name-prefix TEXT] [--owner HEX32]",
  flags: [
    HUB_FLAG,
    REALM_FLAG,
    { name: "name-prefix", metavar: "TEXT", help: "only names starting with TEXT" },
    { name: "owner", metavar: "HEX32", help: "only descriptors of this owner" },
    HUB_KEY_FLAG,
  ],
  async run(ctx) {
    const session = await connectFromFlags(ctx);
    if (ctx.flags.str("realm") !== undefined) checkRealmFlag(ctx, await realmDescriptor(session));
    const owner = ctx.flags.str("owner");
    const r = await session.http.json("/admin/schemas", {
      name_prefix: ctx.flags.str("name-prefix"),
      owner: owner === undefined ? undefined : toHex(parseHex32(owner, "--owner")),
    });
    const list = Array.isArray(r.schemas) ? r.schemas as Record<string, unknown>[] : [];
    ctx.out.result(
      { schemas: list },
      list.length === 0
        ? ["no schemas registered"]
        : list.map((d) => `${d.schema_id} ${d.name} ${d.version} owner=${d.owner ?? "none"} ts=${d.ts}`),
    );
    return 0;
  },
};

export const schemaUsage: Command = {
  path: ["schema", "usage"],
  summary: "count the payload schemas used on streams this client reads",
  usage:
    "veen schema usage --hub H --client DIR --stream NAME... [--schema-id HEX32] [--since UNIX] [--limit N]",
  details:
    `Counted by the client: the hub never sees payload schemas. Items the client cannot open are counted as
not_decryptable. Schemas not registered on the hub are reported with the name "unknown".`,
  flags: [
    HUB_FLAG,
    CLIENT_FLAG,
    ...USAGE_FLAGS,
    { ...SCHEMA_ID_FLAG, help: "only this schema" },
    HUB_KEY_FLAG,
    PASSPHRASE_FLAG,
  ],
  async run(ctx) {
    const only = ctx.flags.str("schema-id");
    const onlyHex = only === undefined ? undefined : toHex(parseHex32(only, "--schema-id"));
    const session = await pinnedSession(ctx, clientDir(ctx));
    const scan = await scanUsage(ctx, session);
    const ids = onlyHex === undefined ? [...scan.bySchema.keys()] : [onlyHex];
    const schemas: Record<string, unknown>[] = [];
    for (const id of ids) {
      const u = scan.bySchema.get(id);
      const d = await lookup(session, id);
      schemas.push({
        schema_id: id,
        name: d?.name ?? "unknown",
        count: u?.count ?? 0,
        labels: [...(u?.labels ?? [])],
      });
    }
    schemas.sort((a, b) => (b.count as number) - (a.count as number));
    ctx.out.result(
      { schemas, items: scan.items, not_decryptable: scan.notDecryptable },
      [
        ...schemas.map((s) =>
          `${s.schema_id} ${s.name} count=${s.count} labels=${(s.labels as string[]).length}`
        ),
        `items: ${scan.items} (not decryptable: ${scan.notDecryptable})`,
      ],
    );
    return 0;
  },
};

export const SCHEMA_COMMANDS: readonly Command[] = [schemaRegister, schemaShow, schemaList, schemaUsage];
