/**
 * Checks over operation records that reach beyond one fold (spec-3 §4.3, §6.3, §10.4), each reading only the
 * records it checks from the stream's record index (cli/operation_reader.ts, every item already verified with its
 * proof):
 * - `audit publication`: the data.publication.v1 of a publication_id (and version; latest in stream order without
 *   one, P2) against a content root recomputed from files (overlays/content_root.ts); a second record for the same
 *   (publication_id, version) breaks P1 and is reported;
 * - `audit delegated`: every delegated.execution.v1 chain resolved through the hub's `GET /cap` and verified link
 *   by link (overlays/delegation_chain.ts); any failing link means the operation is not applied (D2);
 * - `federate mirror-check`: every federation.mirror.v1 record against the source hub's signed RECEIPT at
 *   (source_label, source_stream_seq): hub id, leaf hash and root must match.
 * Each exits 4 with its report when a check fails.
 */
import { type CapToken, decodeCapToken, toHex, VeenError } from "../../core/mod.ts";
import { checkFailure, parseHex32 } from "../../cmd/mod.ts";
import { type ChainCheck, checkDelegation, OPERATION_KEYS, operationId } from "../../overlays/mod.ts";
import { checkReceipt } from "../client_view.ts";
import {
  CLIENT_FLAG,
  type Command,
  type CommandContext,
  HUB_FLAG,
  HUB_KEY_FLAG,
  PASSPHRASE_FLAG,
  REFOLD_FLAG,
  STREAM_FLAG,
} from "../context.ts";
import { connectHub } from "../hub_session.ts";
import { contentRootOfFiles, readOperations } from "../operation_reader.ts";
import { foldJson } from "./crdt.ts";

const READ = [HUB_FLAG, CLIENT_FLAG, STREAM_FLAG];
const TAIL = [REFOLD_FLAG, HUB_KEY_FLAG, PASSPHRASE_FLAG];

/** Prints `json` and returns 0, or throws exit 4 with it as the report when `problem` is set. */
function verdict(
  ctx: CommandContext,
  json: Record<string, unknown>,
  lines: string[],
  problem: { code: "E.SIG" | "E.NOT_FOUND" | "E.CAP" | "E.PROFILE"; detail: string } | undefined,
): number {
  if (problem !== undefined) {
    throw checkFailure(new VeenError(problem.code, problem.detail), { lines, json: { ...json, ok: false } });
  }
  ctx.out.result({ ...json, ok: true }, lines);
  return 0;
}

export const publicationVerify: Command = {
  path: ["audit", "publication"],
  summary: "check content against its data publication (data.publication.v1): content root and uniqueness",
  usage:
    "veen audit publication --hub H --client DIR --stream NAME --publication-id HEX32 [--version TEXT] (--file PATH... | --content-root HEX32)",
  flags: [
    ...READ,
    { name: "publication-id", metavar: "HEX32", required: true, help: "publication_id" },
    { name: "version", metavar: "TEXT", help: "version (default: the latest in stream order)" },
    { name: "file", metavar: "PATH", multiple: true, help: "content files, in order" },
    { name: "content-root", metavar: "HEX32", help: "a content root computed elsewhere" },
    ...TAIL,
  ],
  async run(ctx) {
    const id = toHex(parseHex32(ctx.flags.req("publication-id"), "--publication-id"));
    const files = ctx.flags.list("file");
    const given = ctx.flags.str("content-root");
    const root = given !== undefined
      ? toHex(parseHex32(given, "--content-root"))
      : files.length > 0
      ? toHex(await contentRootOfFiles(files))
      : null;
    const { cursor, ops } = await readOperations(ctx);
    const version = ctx.flags.str("version") ??
      ((await ops.latest(OPERATION_KEYS.publication(id)))?.body.version as string | undefined);
    const same = version === undefined
      ? []
      : await ops.records(OPERATION_KEYS.publicationVersion(id, version));
    const pub = same[0];
    const json: Record<string, unknown> = {
      publication_id: id,
      version: version ?? null,
      stream_seq: pub?.seq ?? null,
      operation_id: pub === undefined ? null : toHex(operationId(pub.msgId)),
      content_root: pub === undefined ? null : toHex(pub.body.content_root as Uint8Array),
      computed_root: root,
      duplicates: same.slice(1).map((r) => r.seq),
      ...foldJson(cursor),
    };
    const lines = Object.entries(json).filter(([k]) => k !== "fold").map(([k, v]) => `${k}: ${v ?? "none"}`);
    if (pub === undefined) {
      return verdict(ctx, json, lines, { code: "E.NOT_FOUND", detail: `No data.publication.v1 for ${id}` });
    }
    if (same.length > 1) {
      return verdict(ctx, json, lines, {
        code: "E.PROFILE",
        detail: `${same.length} publications of ${id} version "${version}" (P1 allows one)`,
      });
    }
    if (root !== null && root !== json.content_root) {
      return verdict(ctx, json, lines, {
        code: "E.SIG",
        detail: "The content root does not match the publication",
      });
    }
    return verdict(ctx, json, lines, undefined);
  },
};

export const delegatedVerify: Command = {
  path: ["audit", "delegated"],
  summary: "verify every delegated execution's chain link by link (delegated.execution.v1)",
  usage: "veen audit delegated --hub H --client DIR --stream NAME [--operation-id HEX32]",
  flags: [...READ, { name: "operation-id", metavar: "HEX32", help: "check only this operation" }, ...TAIL],
  async run(ctx) {
    const only = ctx.flags.str("operation-id");
    if (only !== undefined) parseHex32(only, "--operation-id");
    const { cursor, ops } = await readOperations(ctx);
    const tokens = new Map<string, CapToken | undefined>();
    const results: (ChainCheck & { stream_seq: number; operation_id: string })[] = [];
    const records = await ops.records(
      only === undefined
        ? OPERATION_KEYS.schema("delegated.execution.v1")
        : OPERATION_KEYS.delegated(only.toLowerCase()),
    );
    for (const r of records) {
      const opId = toHex(operationId(r.msgId));
      for (const ref of r.body.delegation_chain as Uint8Array[]) {
        const k = toHex(ref);
        if (tokens.has(k)) continue;
        try {
          tokens.set(k, decodeCapToken(await cursor.session.http.capToken(ref)));
        } catch (e) {
          if (!(e instanceof VeenError)) throw e;
          tokens.set(k, undefined);
        }
      }
      results.push({
        stream_seq: r.seq,
        operation_id: opId,
        ...checkDelegation(r, (x) => tokens.get(toHex(x))),
      });
    }
    const failed = results.filter((x) => !x.applied);
    const lines = results.map((x) =>
      `${x.stream_seq} ${x.operation_id}: ${x.applied ? "applied" : `not applied (${x.reason})`}`
    );
    return verdict(
      ctx,
      { operations: results, not_applied: failed.length, ...foldJson(cursor) },
      lines,
      failed.length === 0 ? undefined : {
        code: "E.CAP",
        detail: `${failed.length} delegated execution(s) not applied; first: stream_seq ${
          failed[0]!.stream_seq
        }: ${failed[0]!.reason}`,
      },
    );
  },
};

export const federateMirrorCheck: Command = {
  path: ["federate", "mirror-check"],
  summary: "check every federation.mirror.v1 record of a stream against the source hub's RECEIPT",
  usage: "veen federate mirror-check --hub TARGET --source-hub SOURCE --client DIR --stream NAME",
  flags: [
    ...READ,
    { name: "source-hub", metavar: "URL|DIR", required: true, help: "the hub the records name as source" },
    ...TAIL,
  ],
  async run(ctx) {
    const { cursor, ops } = await readOperations(ctx);
    const src = await connectHub({
      hub: ctx.flags.req("source-hub"),
      env: ctx.io.env,
      timeoutMs: ctx.timeoutMs,
    });
    const checks: { stream_seq: number; source_stream_seq: number; ok: boolean; reason?: string }[] = [];
    for (const r of await ops.records(OPERATION_KEYS.schema("federation.mirror.v1"))) {
      const b = r.body;
      const label = b.source_label as Uint8Array;
      const seq = b.source_stream_seq as number;
      let reason: string | undefined;
      if (b.source_hub_identifier !== toHex(src.hubId)) {
        reason = "source_hub_identifier is not the source hub's id";
      } else {
        try {
          const { receipt } = await src.http.receipt(label, seq);
          checkReceipt(receipt, src.hubPk, label);
          if (receipt.streamSeq !== seq) reason = "the source answered another stream_seq";
          else if (toHex(receipt.leafHash) !== toHex(b.source_leaf_hash as Uint8Array)) {
            reason = "source_leaf_hash is not the RECEIPT's leaf_hash";
          } else if (toHex(receipt.mmrRoot) !== toHex(b.source_receipt_root as Uint8Array)) {
            reason = "source_receipt_root is not the RECEIPT's mmr_root";
          }
        } catch (e) {
          if (!(e instanceof VeenError)) throw e;
          reason = `no valid source RECEIPT (${e.code}: ${e.detail})`;
        }
      }
      checks.push({
        stream_seq: r.seq,
        source_stream_seq: seq,
        ok: reason === undefined,
        ...(reason ? { reason } : {}),
      });
    }
    const bad = checks.filter((c) => !c.ok);
    return verdict(
      ctx,
      { records: checks.length, mismatches: bad.length, checks, ...foldJson(cursor) },
      [
        `records: ${checks.length}`,
        `mismatches: ${bad.length}`,
        ...bad.map((c) => `${c.stream_seq}: ${c.reason}`),
      ],
      bad.length === 0 ? undefined : {
        code: "E.SIG",
        detail: `${bad.length} mirror record(s) do not match the source; first: stream_seq ${
          bad[0]!.stream_seq
        }: ${bad[0]!.reason}`,
      },
    );
  },
};

export const OPERATION_CHECK_COMMANDS: readonly Command[] = [
  publicationVerify,
  delegatedVerify,
  federateMirrorCheck,
];
