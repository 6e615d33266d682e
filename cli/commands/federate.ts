/**
 * `veen federate mirror-plan` and `veen federate mirror-run` (CLI-GOALS-3 §7; spec-3 §10 federation.mirror.v1,
 * ANCHOR0.3; overlay decisions "FED1 / AUTH1", Mirroring): the flags around the copy loop of cli/stream_mirror.ts.
 * Every source item is verified as `veen stream --with-proof` does and one that fails is counted and never
 * mirrored (F1); items this client can open, in the asked range, are copied to the target label with parent_id =
 * the source msg_id and attested with one federation.mirror.v1 record each; a re-run copies nothing twice (F2); a
 * source label that is itself a mirror target is refused (E.AUTH) before anything is sent.
 */
import { toHex } from "../../core/mod.ts";
import { type FlagSpec, usageError } from "../../cmd/mod.ts";
import {
  CLIENT_FLAG,
  clientDir,
  type Command,
  type CommandContext,
  loadKeys,
  PASSPHRASE_FLAG,
  STREAM_FLAG,
} from "../context.ts";
import { readInputFile } from "../files.ts";
import {
  describeMirror,
  mirrorReport,
  type MirrorSpec,
  pendingCopies,
  planMirror,
  runMirror,
} from "../stream_mirror.ts";
import { readCapAuthRef } from "./send.ts";

const FLAGS: FlagSpec[] = [
  { name: "source-hub", metavar: "URL|DIR", required: true, help: "hub to mirror from" },
  { name: "target-hub", metavar: "URL|DIR", required: true, help: "hub to mirror to" },
  STREAM_FLAG,
  {
    name: "label-map-file",
    metavar: "FILE",
    help: 'JSON object {"SOURCE_STREAM": "TARGET_STREAM", ...} (default: the same stream name)',
  },
  { name: "from-stream-seq", metavar: "M", help: "first source stream_seq to mirror (default 1)" },
  { name: "to-stream-seq", metavar: "N", help: "last source stream_seq to mirror (default: the last)" },
  CLIENT_FLAG,
  PASSPHRASE_FLAG,
];

/** The target stream of `stream`: from `--label-map-file` when given, else the same name. */
async function targetStream(ctx: CommandContext, stream: string): Promise<string> {
  const file = ctx.flags.str("label-map-file");
  if (file === undefined) return stream;
  let map: unknown;
  try {
    map = JSON.parse(new TextDecoder().decode(await readInputFile(file, "label map")));
  } catch (e) {
    throw usageError(`Label map "${file}" is not JSON: ${e instanceof Error ? e.message : e}`);
  }
  const got = typeof map === "object" && map !== null && !Array.isArray(map)
    ? (map as Record<string, unknown>)[stream]
    : undefined;
  if (typeof got !== "string" || got === "") {
    throw usageError(`Label map "${file}" maps no target stream for "${stream}"`);
  }
  return got;
}

/** The mirror asked for by the flags. */
async function specOf(ctx: CommandContext): Promise<MirrorSpec> {
  const stream = ctx.flags.req("stream");
  const last = ctx.flags.int("to-stream-seq");
  return {
    sourceHub: ctx.flags.req("source-hub"),
    targetHub: ctx.flags.req("target-hub"),
    stream,
    targetStream: await targetStream(ctx, stream),
    first: ctx.flags.int("from-stream-seq", { min: 1 }) ?? 1,
    ...(last === undefined ? {} : { last }),
  };
}

export const federateMirrorPlan: Command = {
  path: ["federate", "mirror-plan"],
  summary: "show what mirror-run would copy from a source stream to a target hub",
  usage:
    "veen federate mirror-plan --source-hub URL --target-hub URL --stream NAME --client DIR [--label-map-file F] [--from-stream-seq M] [--to-stream-seq N]",
  flags: FLAGS,
  async run(ctx) {
    const dir = clientDir(ctx);
    const p = await planMirror(ctx, dir, await loadKeys(ctx, dir), await specOf(ctx));
    const todo = pendingCopies(p);
    return mirrorReport(ctx, p.failures, {
      ...describeMirror(p),
      target_last_stream_seq: await p.dst.http.labelSize(p.to.label),
      message_count: Math.max(0, p.last - p.first + 1),
      already_mirrored: p.candidates.length - todo.length,
      to_mirror: todo.length,
      to_attest: p.candidates.filter((c) => !p.index.attested.has(toHex(c.receipt.leafHash))).length,
      approx_bytes: todo.reduce((n, c) => n + c.size, 0),
    });
  },
};

export const federateMirrorRun: Command = {
  path: ["federate", "mirror-run"],
  summary: "copy a source stream's verified items to a target hub with parent_id = origin msg_id",
  usage:
    "veen federate mirror-run --source-hub URL --target-hub URL --stream NAME --client DIR [--label-map-file F] [--from-stream-seq M] [--to-stream-seq N] [--cap FILE]",
  flags: [...FLAGS, { name: "cap", metavar: "FILE", help: "cap_token admitted on the target hub" }],
  async run(ctx) {
    const capPath = ctx.flags.str("cap");
    const authRef = capPath === undefined ? undefined : await readCapAuthRef(capPath);
    const dir = clientDir(ctx);
    const keys = await loadKeys(ctx, dir);
    const { scan, counts } = await runMirror(ctx, dir, keys, await specOf(ctx), {
      ...(authRef === undefined ? {} : { authRef }),
    });
    return mirrorReport(ctx, scan.failures, {
      ...describeMirror(scan),
      ...counts,
      target_last_stream_seq: await scan.dst.http.labelSize(scan.to.label),
    });
  },
};

export const FEDERATE_COMMANDS: readonly Command[] = [federateMirrorPlan, federateMirrorRun];
