/**
 * `veen id authenticate`: the §9.2 authentication path (spec 001 ID L547-570) as an application runs it for one
 * received MSG. The item at `--stream`/`--seq` is read and verified as `stream --with-proof` does; its auth_ref
 * names the cap_token, fetched from the hub (`GET /cap`, overlay decisions); the issuer's principal stream is
 * folded (verified, resumed from the client's summary) and `authenticateCtx` checks the chain, subject_pk =
 * MSG.client_id, the streams, the revocations and the device ACTIVE rule, and binds the session to
 * `ctx_id = Ht("id/ctx", principal_pk || realm_id)` (or to the org for `--org-pk`). ctx_id is computed here and
 * never sent. Time is the MSG's RECEIPT hub_ts: the hub's admission already held the cap's ttl then, so the cap
 * and the device's expiry are judged as of that moment, against the principal's current folded state.
 */
import { toHex, VeenError } from "../../core/mod.ts";
import { authenticateCtx, principalFold, principalStreamId } from "../../overlays/mod.ts";
import { usageError } from "../../cmd/mod.ts";
import { fetchCapToken } from "../cap_fetch.ts";
import { clientDir, type Command, STREAM_FLAG } from "../context.ts";
import { streamTarget } from "../hub_session.ts";
import { pinnedSession } from "../overlay_io.ts";
import { replayRange } from "../replay.ts";
import { COMMON, hex32, readIdFold, realmIdArg } from "./id_layer.ts";

export const idAuthenticate: Command = {
  path: ["id", "authenticate"],
  summary: "authenticate a received MSG as a ctx_id (§9.2): its cap, the issuer's principal stream, ACTIVE",
  usage:
    "veen id authenticate --hub H --client DIR --stream NAME --seq N --realm NAME|HEX32 [--app-stream NAME...] [--org-pk HEX32]",
  flags: [
    ...COMMON,
    STREAM_FLAG,
    { name: "seq", required: true, metavar: "N", help: "stream_seq of the MSG to authenticate" },
    { name: "realm", required: true, metavar: "NAME|HEX32", help: "the realm the session is bound in" },
    {
      name: "app-stream",
      multiple: true,
      metavar: "NAME",
      help: "a stream the session needs in allow.stream_ids (repeatable; default: --stream)",
    },
    { name: "org-pk", metavar: "HEX32", help: "accept a cap issued by this org key (binds to the org_id)" },
  ],
  async run(ctx) {
    const dir = clientDir(ctx);
    const stream = ctx.flags.req("stream");
    const seq = ctx.flags.int("seq")!;
    if (seq < 1) throw usageError("--seq must be at least 1");
    const realmId = realmIdArg(ctx.flags.req("realm"));
    const session = await pinnedSession(ctx, dir);
    const target = streamTarget(session, stream);
    let item;
    for await (const it of replayRange(session, target.label, { from: seq, to: seq, withProof: true })) {
      item = it;
    }
    if (item === undefined) throw new VeenError("E.NOT_FOUND", `No item at stream_seq ${seq} of ${stream}`);
    const ref = item.msg.authRef;
    if (ref === null) {
      throw new VeenError("E.CAP", `The MSG at stream_seq ${seq} carries no auth_ref (§9.2 needs a cap)`);
    }
    const { token } = await fetchCapToken(session.http, ref);
    const orgPk = hex32(ctx, "org-pk");
    const principal = orgPk !== undefined && toHex(orgPk) === toHex(token.issuerPk)
      ? undefined
      : (await readIdFold(ctx, principalFold(token.issuerPk), toHex(principalStreamId(token.issuerPk))))
        .state;
    const apps = ctx.flags.list("app-stream");
    const hubTs = item.receipt.hubTs;
    const s = authenticateCtx({
      token,
      devicePk: item.msg.clientId,
      realmId,
      streamIds: (apps.length > 0 ? apps : [stream]).map((n) => streamTarget(session, n).streamId),
      issuedAt: hubTs,
      now: hubTs,
      ...(principal === undefined ? {} : { principal }),
      ...(orgPk === undefined ? {} : { orgPk }),
    });
    ctx.out.result(
      { ...s, auth_ref: toHex(ref), stream_seq: seq, hub_ts: hubTs },
      Object.entries(s).map(([k, v]) => `${k}: ${v}`),
    );
    return 0;
  },
};
