/**
 * `veen connect` (spec 001 spec-5 §7): the connect application as one command, reporting each phase.
 *
 * 1. hub: fold `disc.hubs.v1` on the discovery hub (`--hub`), take the live hubs matching `--tag`, preferring
 *    `--region`, and connect to the first one's endpoint pinning its advertised hub_pk (a hub presenting another
 *    key is E.SIG; the pin is recorded in the client's state.json).
 * 2. service: fold `disc.overlays.v1` for the overlay (`--overlay NAME@VERSION`, default the one whose schemas hold
 *    rpc.v1) and `disc.services.v1` for a live service of that overlay offering `--method` (and `--service`, a name
 *    prefix); its first stream_id is the RPC stream.
 * 3. authorize: when the service's auth_policy.mode is cap_token, POST `--cap FILE` to the chosen hub's
 *    /authorize and use the auth_ref; otherwise nothing to do.
 * 4. call: send the rpc.v1 request sealed to `--to CARD` (the service's card) on the chosen hub and wait for the
 *    verified reply.
 * A failing phase exits 4 (or its transport exit) with `connect phase NAME:` in the detail and the phases so far.
 */
import { bytesEqual, decodeCapToken, encodeCapToken, toHex, VeenError } from "../../core/mod.ts";
import { discQuery, type DiscResult, RPC_SCHEMA } from "../../overlays/mod.ts";
import { CommandError, Flags, parseHex32, usageError } from "../../cmd/mod.ts";
import { jsonToCbor, parseJsonFlag } from "../body.ts";
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
import { readInputFile } from "../files.ts";
import { pinnedSession } from "../overlay_io.ts";
import { foldDiscovery } from "./disc.ts";
import { DEFAULT_RPC_TIMEOUT_MS, printReply, rpcRoundTrip } from "./rpc.ts";

/** Flags that answer `hub` and `hub-key` with the selected hub, everything else as given. */
class SelectedHubFlags extends Flags {
  readonly #base: Flags;
  readonly #over: Record<string, string>;
  constructor(base: Flags, over: Record<string, string>) {
    super(new Map(), [...base.positionals]);
    this.#base = base;
    this.#over = over;
  }
  override bool(n: string): boolean {
    return n in this.#over || this.#base.bool(n);
  }
  override str(n: string): string | undefined {
    return this.#over[n] ?? this.#base.str(n);
  }
  override list(n: string): string[] {
    return this.#base.list(n);
  }
  override pair(n: string): [string, string] | undefined {
    return this.#base.pair(n);
  }
}

function endpointOf(r: DiscResult): string | undefined {
  for (const e of r.body.endpoints as Map<string, string>[]) {
    if (e.get("kind") === "http" || e.get("kind") === "https") return e.get("url");
  }
  return undefined;
}

export const connect: Command = {
  path: ["connect"],
  summary: "find a hub and an RPC service, pin the hub key, authorize and call it (spec-5 §7)",
  usage:
    "veen connect --hub DISCOVERY_HUB --client DIR --method M [--args JSON] [--service NAME_PREFIX] [--overlay NAME@VERSION] [--region R] [--tag T]... [--cap FILE] [--to CARD] [--timeout-ms N]",
  flags: [
    HUB_FLAG,
    CLIENT_FLAG,
    { name: "method", metavar: "M", required: true, help: "RPC method to call" },
    { name: "args", metavar: "JSON", help: "arguments as JSON (default null)" },
    { name: "service", metavar: "PREFIX", help: "service name prefix" },
    {
      name: "overlay",
      metavar: "NAME@VERSION",
      help: "overlay the service must use (default: the rpc.v1 overlay)",
    },
    { name: "region", metavar: "R", help: "preferred hub region" },
    { name: "tag", metavar: "T", multiple: true, help: "hub must carry one of these tags" },
    { name: "cap", metavar: "FILE", help: "cap_token to authorize when the service asks for cap_token" },
    {
      ...TO_FLAG,
      help: "the service's identity card (the RPC request is sealed to it); default: this client",
    },
    { name: "poll-ms", metavar: "N", help: "polling interval while waiting for the reply (default 100)" },
    REFOLD_FLAG,
    HUB_KEY_FLAG,
    PASSPHRASE_FLAG,
    ...POW_FLAGS,
  ],
  async run(ctx) {
    const dir = clientDir(ctx);
    const keys = await loadKeys(ctx, dir);
    const method = ctx.flags.req("method");
    const args = jsonToCbor(parseJsonFlag(ctx.flags.str("args") ?? "null", "--args"), "--args");
    const capPath = ctx.flags.str("cap");
    const phases: Record<string, unknown>[] = [];
    const report = (phase: string, json: Record<string, unknown>, line: string) => {
      phases.push({ phase, ...json });
      ctx.out.debug(`phase ${phase}: ${line}`);
      if (!ctx.out.mode.json) ctx.out.item({}, [`phase ${phase}: ${line}`]);
    };
    let phase = "hub";
    try {
      const disc = await pinnedSession(ctx, dir);
      const now = nowSec(ctx);
      // Phase 1: hub selection.
      const tags = ctx.flags.list("tag");
      const region = ctx.flags.str("region");
      const hubs = discQuery(
        "hub",
        (await foldDiscovery(ctx, dir, keys, disc, "hub")).state,
        tags.length > 0 ? { tags_any: tags } : {},
        now,
      )
        .results.filter((h) => endpointOf(h) !== undefined)
        .sort((a, b) => Number(b.body.region === region) - Number(a.body.region === region));
      const hub = hubs[0];
      if (hub === undefined) throw new VeenError("E.NOT_FOUND", "No live hub advertisement matches");
      const url = endpointOf(hub)!;
      const hubPk = toHex(hub.body.hub_pk as Uint8Array);
      const hubCtx: CommandContext = {
        ...ctx,
        flags: new SelectedHubFlags(ctx.flags, { hub: url, "hub-key": hubPk }),
      };
      const session = await pinnedSession(hubCtx, dir);
      report(
        "hub",
        { hub_id: hub.id, hub_pk: hubPk, url, region: hub.body.region, candidates: hubs.length },
        `${url} hub_id ${hub.id.slice(0, 16)} (region "${hub.body.region}"), hub_pk pinned`,
      );

      // Phase 2: overlay and service selection.
      phase = "service";
      const want = ctx.flags.str("overlay");
      const overlays = discQuery(
        "overlay",
        (await foldDiscovery(ctx, dir, keys, disc, "overlay")).state,
        want === undefined ? { schema: RPC_SCHEMA } : {},
        now,
      ).results
        .filter((o) => want === undefined || `${o.body.name}@${o.body.version}` === want);
      const overlay = overlays[0];
      if (overlay === undefined) {
        throw new VeenError("E.NOT_FOUND", `No live overlay ${want ?? "with schema rpc.v1"}`);
      }
      const prefix = ctx.flags.str("service");
      const services = discQuery("service", (await foldDiscovery(ctx, dir, keys, disc, "service")).state, {
        overlay_id: overlay.body.overlay_id as Uint8Array,
        method,
        ...(prefix === undefined ? {} : { name_prefix: prefix }),
      }, now).results.filter((s) => (s.body.stream_ids as Uint8Array[]).length > 0);
      const service = services[0];
      if (service === undefined) {
        throw new VeenError(
          "E.NOT_FOUND",
          `No live service of overlay ${overlay.body.name} offers method "${method}"`,
        );
      }
      const stream = toHex((service.body.stream_ids as Uint8Array[])[0]!);
      const mode = (service.body.auth_policy as Map<string, unknown> | undefined)?.get("mode") ?? "none";
      report(
        "service",
        {
          overlay_id: overlay.id,
          service_id: service.id,
          name: service.body.name,
          stream_id: stream,
          auth_mode: mode,
        },
        `service "${service.body.name}" ${
          service.id.slice(0, 16)
        } on overlay ${overlay.body.name}@${overlay.body.version}, stream_id ${stream.slice(0, 16)}`,
      );

      // Phase 3: capability.
      phase = "authorize";
      let authRef: Uint8Array | undefined;
      if (mode === "cap_token") {
        if (capPath === undefined) throw usageError("The service asks for a cap_token: pass --cap FILE");
        const cap = encodeCapToken(decodeCapToken(await readInputFile(capPath, "cap_token")));
        const a = await session.http.authorize(cap);
        authRef = a.authRef;
        report(
          "authorize",
          { auth_ref: toHex(a.authRef), expires_at: a.expiresAt },
          `auth_ref ${toHex(a.authRef).slice(0, 16)} until ${a.expiresAt}`,
        );
      } else report("authorize", { skipped: true }, `auth_policy ${mode}: nothing to authorize`);

      // Phase 4: bind and call.
      phase = "call";
      const server = await recipientOf(ctx, keys);
      const timeoutMs = ctx.flags.bool("timeout-ms") ? ctx.timeoutMs : DEFAULT_RPC_TIMEOUT_MS;
      const { reply, json } = await rpcRoundTrip(hubCtx, dir, keys, server, {
        stream,
        method,
        args,
        timeoutMs,
        pollMs: ctx.flags.int("poll-ms", { min: 1 }) ?? 100,
        ...(authRef === undefined ? {} : { authRef }),
      });
      report(
        "call",
        { ok: reply.ok, request_seq: json.request_seq },
        reply.ok ? "reply ok" : `reply ${reply.error.code}`,
      );
      if (!bytesEqual(session.hubPk, parseHex32(hubPk, "hub_pk"))) {
        throw new VeenError("E.SIG", "Hub key changed during connect");
      }
      return printReply(ctx, reply, { ...json, phases });
    } catch (e) {
      if (e instanceof VeenError) {
        throw new CommandError(
          e.code === "E.UNAVAILABLE" ? "transport" : "check",
          `connect phase ${phase}: ${e.detail}`,
          {
            code: e.code,
            cause: e,
            report: { json: { phase, phases } },
          },
        );
      }
      throw e;
    }
  },
};
