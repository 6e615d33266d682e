/**
 * `veen id bridge` (spec 001 ID §12.1, "ID v0.0.1 Bridge"): mirrors the identity streams of a principal (its
 * principal stream, and per `--realm` its ctx stream and, with `--handles`, the realm's handle namespace) and of
 * orgs (`--org-id`) from hub A to hub B with the copy loop of cli/stream_mirror.ts:
 * - every source item is read with proofs and verified as `stream --with-proof` does; one that fails is never
 *   copied and makes the command exit 4 after the others were copied;
 * - each copy preserves payload_hdr.schema and the body bytes, has parent_id = the original msg_id and is followed
 *   by a federation.mirror.v1 attestation; a re-run copies nothing twice (the target's parent_ids are read back);
 * - readers fold both hubs with `originDedup`, so a record and its copies count once and the folded identity state
 *   (`veen id status`) is the same on both hubs.
 * Copies are sealed to the bridging client, which must be able to open the source records (they are sealed to it).
 * A stream on B that received copies is a mirror target and is never bridged from (no loops).
 */
import { fromHex, toHex } from "../../core/mod.ts";
import { ctxIdFor, ctxStreamId, handleStreamId, orgStreamId, principalStreamId } from "../../overlays/mod.ts";
import { CLIENT_FLAG, clientDir, type Command, loadKeys, PASSPHRASE_FLAG } from "../context.ts";
import {
  type MirrorFailure,
  mirrorReport,
  type MirrorSpec,
  pendingCopies,
  planMirror,
  runMirror,
} from "../stream_mirror.ts";
import { PRINCIPAL_FLAG, principalOf, realmIdArg } from "./id_layer.ts";
import { readCapAuthRef } from "./send.ts";

export const idBridge: Command = {
  path: ["id", "bridge"],
  summary:
    "mirror a principal's and orgs' identity streams from hub A to hub B (parent_id = original msg_id)",
  usage:
    "veen id bridge --from-hub A --to-hub B --client DIR [--principal-pk HEX32] [--realm NAME|HEX32...] [--handles] [--org-id HEX32...] [--cap FILE] [--dry-run]",
  details:
    "Streams: stream_id_principal; per --realm stream_id_ctx (and stream_id_handle_ns with --handles); per --org-id " +
    "stream_id_org. Verified on A with proofs; copies keep schema and body bytes; re-runs copy nothing twice.",
  flags: [
    { name: "from-hub", required: true, metavar: "URL|DIR", help: "hub A (source)" },
    { name: "to-hub", required: true, metavar: "URL|DIR", help: "hub B (target)" },
    CLIENT_FLAG,
    PRINCIPAL_FLAG,
    {
      name: "realm",
      multiple: true,
      metavar: "NAME|HEX32",
      help: "bridge the principal's ctx stream in this realm",
    },
    { name: "handles", arity: 0, help: "also bridge the handle namespace of each --realm" },
    { name: "org-id", multiple: true, metavar: "HEX32", help: "bridge this org's stream (repeatable)" },
    { name: "cap", metavar: "FILE", help: "cap_token admitted on hub B" },
    { name: "dry-run", arity: 0, help: "only count what would be copied" },
    PASSPHRASE_FLAG,
  ],
  async run(ctx) {
    const { pk } = await principalOf(ctx);
    const dir = clientDir(ctx);
    const keys = await loadKeys(ctx, dir);
    const capPath = ctx.flags.str("cap");
    const authRef = capPath === undefined ? undefined : await readCapAuthRef(capPath);
    const streams: { kind: string; stream: string }[] = [
      { kind: "principal", stream: toHex(principalStreamId(pk)) },
    ];
    for (const r of ctx.flags.list("realm")) {
      const realmId = realmIdArg(r);
      streams.push({ kind: "ctx", stream: toHex(ctxStreamId(ctxIdFor(pk, realmId), realmId)) });
      if (ctx.flags.bool("handles")) {
        streams.push({ kind: "handles", stream: toHex(handleStreamId(realmId)) });
      }
    }
    for (const o of ctx.flags.list("org-id")) {
      streams.push({ kind: "org", stream: toHex(orgStreamId(fromHex(o, 32, "--org-id"))) });
    }
    const dry = ctx.flags.bool("dry-run");
    const failures: MirrorFailure[] = [];
    const rows = [];
    const totals = { mirrored_count: 0, already_mirrored: 0, to_mirror: 0 };
    for (const s of streams) {
      const spec: MirrorSpec = {
        sourceHub: ctx.flags.req("from-hub"),
        targetHub: ctx.flags.req("to-hub"),
        stream: s.stream,
      };
      const base = { kind: s.kind, stream: s.stream };
      if (dry) {
        const scan = await planMirror(ctx, dir, keys, spec);
        const todo = pendingCopies(scan).length;
        totals.to_mirror += todo;
        totals.already_mirrored += scan.candidates.length - todo;
        failures.push(...scan.failures);
        rows.push({
          ...base,
          source_last_stream_seq: scan.srcSize,
          to_mirror: todo,
          already_mirrored: scan.candidates.length - todo,
          not_decryptable: scan.notDecryptable,
          verification_failures: scan.failures.length,
        });
        continue;
      }
      const { scan, counts } = await runMirror(
        ctx,
        dir,
        keys,
        spec,
        authRef === undefined ? {} : { authRef },
      );
      totals.mirrored_count += counts.mirrored_count;
      totals.already_mirrored += counts.already_mirrored;
      failures.push(...scan.failures);
      rows.push({
        ...base,
        source_last_stream_seq: scan.srcSize,
        ...counts,
        not_decryptable: scan.notDecryptable,
        verification_failures: scan.failures.length,
      });
    }
    return mirrorReport(ctx, failures, {
      principal_pk: toHex(pk),
      dry_run: dry,
      ...(dry ? { to_mirror: totals.to_mirror } : { mirrored_count: totals.mirrored_count }),
      already_mirrored: totals.already_mirrored,
      streams: rows,
    });
  },
};
