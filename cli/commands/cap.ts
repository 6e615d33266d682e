/**
 * Capability tokens (CLI-GOALS-1 §7, CLI-GOALS-2 §4.3):
 * - `cap issue`: a single-link cap_token signed by the issuer's id_sign key for a subject's client_id; without
 *   --ttl the ttl is the default_cap_ttl_sec of the hub named by --hub (GET /kex-policy, KEX1+ §4.2), and with --hub
 *   a ttl beyond its max_cap_ttl_sec is refused before anything is written (the hub's /authorize would refuse it);
 * - `cap authorize`: POST /authorize; prints auth_ref (checked against the local Ht("veen/cap", CBOR(token)));
 * - `cap status`: the local view of a token and, with --hub, the hub's view (GET /authorize?auth_ref=HEX);
 * - `cap fetch`: the stored token of an authorized cap (GET /cap?auth_ref=HEX), checked against its auth_ref.
 */
import { type CborValue, streamIdFor, toHex, VeenError } from "../../core/mod.ts";
import {
  authRef,
  type CapRate,
  type CapToken,
  decodeCapToken,
  encodeCapToken,
  issueCapToken,
  verifyCapChain,
} from "../../core/mod.ts";
import { malformedError, parseHex32, parseUint, usageError } from "../../cmd/mod.ts";
import { cborToJson } from "../body.ts";
import { readState, withStateLock, writeState } from "../client_state.ts";
import {
  CLIENT_FLAG,
  type Command,
  type CommandContext,
  connectFromFlags,
  HUB_FLAG,
  HUB_KEY_FLAG,
  hubGiven,
  loadKeys,
  nowSec,
  PASSPHRASE_FLAG,
} from "../context.ts";
import { readInputFile, writeOutputFile } from "../files.ts";
import { fetchCapToken } from "../cap_fetch.ts";
import { readIdentityCard } from "../identity_card.ts";

/** `--rate PER_SEC,BURST` (also the CORE-GOALS spelling `5/s,10`). */
export function parseRate(s: string): CapRate {
  const m = /^\s*([0-9]+)\s*(?:\/s)?\s*,\s*([0-9]+)\s*$/.exec(s);
  if (m === null) throw usageError(`--rate must be PER_SEC,BURST, got "${s}"`);
  return { perSec: parseUint(m[1]!, "--rate per_sec"), burst: parseUint(m[2]!, "--rate burst") };
}

/** `--subject`: 64 hex characters, or an identity card file or client directory (its client_id). */
export async function parseSubject(s: string): Promise<Uint8Array> {
  if (/^[0-9a-fA-F]{64}$/.test(s)) return parseHex32(s, "--subject");
  return (await readIdentityCard(s)).clientId;
}

async function readCap(ctx: CommandContext) {
  const bytes = await readInputFile(ctx.flags.req("cap"), "cap_token");
  const token = decodeCapToken(bytes);
  return { bytes, token, ref: authRef(token) };
}

/** A cap_token's JSON fields (auth_ref, keys, allowed streams, ttl, rate) and its first text lines. */
function describeToken(token: CapToken, ref: Uint8Array): { json: Record<string, unknown>; lines: string[] } {
  return {
    json: {
      auth_ref: toHex(ref),
      issuer_pk: toHex(token.issuerPk),
      subject_pk: toHex(token.subjectPk),
      stream_ids: token.allow.streamIds.map(toHex),
      ttl: token.allow.ttl,
      rate: token.allow.rate === undefined
        ? null
        : { per_sec: token.allow.rate.perSec, burst: token.allow.rate.burst },
    },
    lines: [
      `auth_ref: ${toHex(ref)}`,
      `issuer_pk: ${toHex(token.issuerPk)}`,
      `subject_pk: ${toHex(token.subjectPk)}`,
    ],
  };
}

export const capIssue: Command = {
  path: ["cap", "issue"],
  summary: "issue a cap_token",
  usage:
    "veen cap issue --issuer DIR --subject HEX32|CARD --stream NAME... (--ttl SECS | --hub H) [--rate PER_SEC,BURST] --out FILE",
  flags: [
    {
      name: "issuer",
      metavar: "DIR",
      required: true,
      help: "issuer client directory (signs with its id_sign key)",
    },
    {
      name: "subject",
      metavar: "HEX32|CARD",
      required: true,
      help: "subject client_id, identity card or client directory",
    },
    { name: "stream", metavar: "NAME", required: true, multiple: true, help: "allowed stream" },
    { name: "ttl", metavar: "SECS", help: "lifetime in seconds (default: the --hub's default_cap_ttl_sec)" },
    { ...HUB_FLAG, help: "hub whose KEX1+ policy gives the default ttl and bounds it" },
    HUB_KEY_FLAG,
    { name: "rate", metavar: "PER_SEC,BURST", help: "rate limit" },
    { name: "out", metavar: "FILE", required: true, help: "where to write CBOR(cap_token)" },
    PASSPHRASE_FLAG,
  ],
  async run(ctx) {
    const keys = await loadKeys(ctx, ctx.flags.req("issuer"));
    const subjectPk = await parseSubject(ctx.flags.req("subject"));
    const streams = ctx.flags.list("stream");
    const ttl = await issueTtl(ctx);
    const rateFlag = ctx.flags.str("rate");
    const token = issueCapToken({
      issuerSecret: keys.idSign.secret,
      issuerPk: keys.idSign.public,
      subjectPk,
      streamIds: streams.map(streamIdFor),
      ttl,
      ...(rateFlag === undefined ? {} : { rate: parseRate(rateFlag) }),
    });
    const out = ctx.flags.req("out");
    await writeOutputFile(out, encodeCapToken(token), "cap_token");
    const { json, lines } = describeToken(token, authRef(token));
    ctx.out.result({ ...json, out }, [...lines, `out: ${out}`]);
    return 0;
  },
};

/** The ttl of `cap issue`: --ttl, else the default_cap_ttl_sec of --hub; within --hub's max_cap_ttl_sec. */
async function issueTtl(ctx: CommandContext): Promise<number> {
  const flag = ctx.flags.str("ttl");
  if (flag === undefined && !ctx.flags.bool("hub")) {
    throw usageError("Give --ttl SECS, or --hub H for its default");
  }
  // A hub refuses a token whose issued_at + ttl is not a safe integer (E.CAP); so does issuing one.
  const max = Number.MAX_SAFE_INTEGER - nowSec(ctx);
  let ttl = flag === undefined ? undefined : parseUint(flag, "--ttl", { max });
  if (ctx.flags.bool("hub")) {
    const policy = await (await connectFromFlags(ctx)).http.kexPolicy();
    if (ttl === undefined) {
      if (policy.default_cap_ttl_sec === null) {
        throw usageError("The hub sets no default_cap_ttl_sec; give --ttl SECS");
      }
      ttl = Math.min(policy.default_cap_ttl_sec, max);
    }
    if (policy.max_cap_ttl_sec !== null && ttl > policy.max_cap_ttl_sec) {
      throw usageError(`--ttl ${ttl} exceeds the hub's max_cap_ttl_sec ${policy.max_cap_ttl_sec}`);
    }
  }
  return ttl!;
}

export const capAuthorize: Command = {
  path: ["cap", "authorize"],
  summary: "install a cap_token on a hub (POST /authorize)",
  usage: "veen cap authorize --hub H --cap FILE [--client DIR]",
  flags: [
    HUB_FLAG,
    { name: "cap", metavar: "FILE", required: true, help: "CBOR(cap_token)" },
    { ...CLIENT_FLAG, help: "client directory to remember auth_ref and expiry in (optional)" },
    HUB_KEY_FLAG,
  ],
  async run(ctx) {
    const { bytes, ref } = await readCap(ctx);
    const dir = ctx.flags.str("client");
    const work = async () => {
      const state = dir === undefined ? undefined : await readState(dir);
      const session = await connectFromFlags(ctx, state);
      const res = await session.http.authorize(bytes);
      if (toHex(res.authRef) !== toHex(ref)) {
        throw malformedError(
          `Hub answered auth_ref ${toHex(res.authRef)}, but the token's auth_ref is ${toHex(ref)}`,
        );
      }
      if (state !== undefined && dir !== undefined) {
        state.caps[toHex(ref)] = { hub_id: toHex(session.hubId), expires_at: res.expiresAt };
        await writeState(dir, state);
      }
      return res;
    };
    const res = dir === undefined ? await work() : await withStateLock(dir, work);
    ctx.out.result({ auth_ref: toHex(ref), expires_at: res.expiresAt }, [
      `auth_ref: ${toHex(ref)}`,
      `expires_at: ${res.expiresAt}`,
    ]);
    return 0;
  },
};

export const capStatus: Command = {
  path: ["cap", "status"],
  summary: "show a cap_token's local validity and the hub's view",
  usage: "veen cap status --cap FILE [--hub H] [--client DIR]",
  flags: [
    { name: "cap", metavar: "FILE", required: true, help: "CBOR(cap_token)" },
    HUB_FLAG,
    CLIENT_FLAG,
    HUB_KEY_FLAG,
  ],
  async run(ctx) {
    const { token, ref } = await readCap(ctx);
    let chain = "ok";
    try {
      verifyCapChain(token);
    } catch (e) {
      if (!(e instanceof VeenError)) throw e;
      chain = `FAILED (${e.detail})`;
    }
    const dir = ctx.flags.str("client") ?? ctx.io.env("VEEN_CLIENT");
    const cached = dir === undefined ? undefined : (await readState(dir)).caps[toHex(ref)];
    const within = cached === undefined ? "unknown" : nowSec(ctx) <= cached.expires_at;
    const described = describeToken(token, ref);
    const json: Record<string, unknown> = {
      ...described.json,
      chain_valid: chain === "ok",
      issued_at: "unknown",
      expires_at: cached?.expires_at ?? "unknown",
      locally_within_ttl: within,
    };
    const lines = [
      ...described.lines,
      `ttl: ${token.allow.ttl}`,
      `sig_chain: ${chain}`,
      `locally_within_ttl: ${within}`,
      `expires_at: ${cached?.expires_at ?? "unknown"}`,
    ];
    if (hubGiven(ctx)) {
      const session = await connectFromFlags(ctx);
      let view: Map<string | number, CborValue> | undefined;
      try {
        view = await session.http.authStatus(ref);
      } catch (e) {
        if (!(e instanceof VeenError && e.code === "E.NOT_FOUND")) throw e;
      }
      const get = (k: string) => view?.get(k);
      json.hub_known = view !== undefined && get("known") !== false;
      json.hub_currently_valid = get("currently_valid") === true;
      json.revoked = get("revoked") === true;
      json.revocation_kind = get("revocation_kind") ?? null;
      json.revocation_ts = get("revocation_ts") ?? null;
      json.reason = get("reason") ?? null;
      if (typeof get("expires_at") === "number") json.expires_at = get("expires_at");
      json.hub_view = view === undefined ? null : cborToJson(view);
      lines.push(
        `hub_known: ${json.hub_known}`,
        `hub_currently_valid: ${json.hub_currently_valid}`,
        `revoked: ${json.revoked}`,
        `revocation_kind: ${json.revocation_kind ?? "none"}`,
      );
      if (json.revoked === true) {
        lines.push(`revocation_ts: ${json.revocation_ts}`, `reason: ${json.reason ?? "none"}`);
      }
      if (typeof json.expires_at === "number") lines[6] = `expires_at: ${json.expires_at}`;
    }
    ctx.out.result(json, lines);
    return 0;
  },
};

export const capFetch: Command = {
  path: ["cap", "fetch"],
  summary: "fetch the stored cap_token of an authorized cap (GET /cap)",
  usage: "veen cap fetch --hub H --auth-ref HEX32 --out FILE",
  flags: [
    HUB_FLAG,
    { name: "auth-ref", metavar: "HEX32", required: true, help: "auth_ref of the authorized cap" },
    { name: "out", metavar: "FILE", required: true, help: "where to write CBOR(cap_token)" },
    HUB_KEY_FLAG,
  ],
  async run(ctx) {
    const ref = parseHex32(ctx.flags.req("auth-ref"), "--auth-ref");
    const session = await connectFromFlags(ctx);
    const { bytes, token } = await fetchCapToken(session.http, ref);
    const out = ctx.flags.req("out");
    await writeOutputFile(out, bytes, "cap_token");
    const { json, lines } = describeToken(token, ref);
    ctx.out.result({ ...json, out }, [...lines, `out: ${out}`]);
    return 0;
  },
};
