/**
 * Revocations (KEX1+ §4.3, CLI-GOALS-2 §4.4-4.5; CORE-GOALS `revoke` as an alias):
 * - `cap revoke`: publishes a `veen.revocation.v1` record on the realm's stream_revocation as the admin client;
 *   the hub enforces it for every submit after its RECEIPT;
 * - `cap revocations`: the hub's revocation view (GET /admin/revocations), filtered by kind, since and activity.
 */
import { toHex } from "../../core/mod.ts";
import { parseHex32, parseUint, usageError } from "../../cmd/mod.ts";
import { REVOCATION, REVOCATION_KINDS, revocationActive } from "../../overlays/mod.ts";
import { ADMIN_CAP_FLAG, ADMIN_FLAG, adminDir, publishAdminRecord, REALM_FLAG } from "../admin.ts";
import {
  type Command,
  connectFromFlags,
  HUB_FLAG,
  HUB_KEY_FLAG,
  nowSec,
  PASSPHRASE_FLAG,
} from "../context.ts";

const KIND_FLAG = {
  name: "kind",
  metavar: "client-id|auth-ref|cap-token",
  help: "what the target names: a client_id, an auth_ref, or H(CBOR(cap_token))",
};

function parseKind(s: string | undefined): string | undefined {
  if (s !== undefined && !(REVOCATION_KINDS as readonly string[]).includes(s)) {
    throw usageError(`--kind must be one of ${REVOCATION_KINDS.join(", ")}, got "${s}"`);
  }
  return s;
}

export const capRevoke: Command = {
  path: ["cap", "revoke"],
  aliases: [["revoke"]],
  summary: "publish a revocation (veen.revocation.v1) the hub enforces at once",
  usage:
    "veen cap revoke --hub H --admin DIR --kind KIND --target HEX32 [--reason TEXT] [--ttl SEC] [--ts UNIX]",
  flags: [
    HUB_FLAG,
    ADMIN_FLAG,
    { ...KIND_FLAG, required: true },
    { name: "target", metavar: "HEX32", required: true, help: "client_id, auth_ref or H(CBOR(cap_token))" },
    { name: "reason", metavar: "TEXT", help: "why (stored in the record)" },
    { name: "ttl", metavar: "SEC", help: "revocation lasts [ts, ts+ttl); permanent without it" },
    { name: "ts", metavar: "UNIX_SEC", help: "revocation time (default: now)" },
    REALM_FLAG,
    ADMIN_CAP_FLAG,
    HUB_KEY_FLAG,
    PASSPHRASE_FLAG,
  ],
  async run(ctx) {
    const kind = parseKind(ctx.flags.req("kind"))!;
    const target = parseHex32(ctx.flags.req("target"), "--target");
    const reason = ctx.flags.str("reason");
    const ttlFlag = ctx.flags.str("ttl");
    const ttl = ttlFlag === undefined ? undefined : parseUint(ttlFlag, "--ttl");
    const tsFlag = ctx.flags.str("ts");
    const ts = tsFlag === undefined ? nowSec(ctx) : parseUint(tsFlag, "--ts");
    const body = { kind, target, reason, ts, ttl };
    const { res } = await publishAdminRecord(ctx, adminDir(ctx), "revocation", REVOCATION, body);
    const active = revocationActive({ ts, ...(ttl === undefined ? {} : { ttl }) }, nowSec(ctx));
    ctx.out.result(
      {
        kind,
        target: ctx.flags.req("target").toLowerCase(),
        ts,
        ttl: ttl ?? null,
        reason: reason ?? null,
        active_now: active,
        stream_seq: res.receipt.streamSeq,
        msg_id: toHex(res.msgId),
      },
      [
        `kind: ${kind}`,
        `target: ${ctx.flags.req("target").toLowerCase()}`,
        `ts: ${ts}`,
        `ttl: ${ttl ?? "none"}`,
        `active_now: ${active}`,
      ],
    );
    return 0;
  },
};

export const capRevocations: Command = {
  path: ["cap", "revocations"],
  summary: "list the hub's revocations (kind, target, ts, ttl, active_now, reason)",
  usage: "veen cap revocations --hub H [--kind KIND] [--since UNIX] [--active-only] [--limit N]",
  flags: [
    HUB_FLAG,
    KIND_FLAG,
    { name: "since", metavar: "UNIX_SEC", help: "only records with ts >= since" },
    { name: "active-only", arity: 0, help: "only revocations in force now (hub time)" },
    { name: "limit", metavar: "N", help: "at most N records (hub caps at 1000)" },
    HUB_KEY_FLAG,
  ],
  async run(ctx) {
    const kind = parseKind(ctx.flags.str("kind"));
    const session = await connectFromFlags(ctx);
    const r = await session.http.json("/admin/revocations", {
      kind,
      since: ctx.flags.str("since") === undefined ? undefined : parseUint(ctx.flags.req("since"), "--since"),
      active_only: ctx.flags.bool("active-only") ? 1 : undefined,
      limit: ctx.flags.str("limit") === undefined ? undefined : parseUint(ctx.flags.req("limit"), "--limit"),
    });
    const list = Array.isArray(r.revocations) ? r.revocations as Record<string, unknown>[] : [];
    ctx.out.result(
      { revocations: list },
      list.map((x) =>
        `${x.kind} ${x.target} ts=${x.ts} ttl=${x.ttl ?? "none"} active_now=${x.active_now} reason=${
          x.reason ?? "none"
        }`
      ),
    );
    return 0;
  },
};
