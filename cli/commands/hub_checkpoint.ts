/**
 * CHECKPOINT commands (CLI-GOALS-1 §3.2, RESYNC0, SDR0 §3.2.4):
 * - `hub checkpoint --hub H --stream NAME [--out FILE]`: the latest CHECKPOINT of a stream's label, its hub_sig
 *   verified under the hub key (pinned in --client state when given) and, with --require-witnesses, its witness_sigs
 *   (cli/witness_requirement.ts), optionally written to FILE;
 * - `hub checkpoint --now --stream NAME...`: an admin request (cli/checkpoint_now.ts) that makes the hub emit a
 *   CHECKPOINT per stream at once and an export checkpoint over them (`--export-out FILE`);
 * - `hub verify-rotation --checkpoint F --old-key K --new-key K`: offline, both keys' witness signatures must be
 *   present and valid (KEX0.1 rotation window). Exit 4 otherwise.
 */
import {
  type Checkpoint,
  decodeCheckpoint,
  exportCheckpointId,
  fromHex,
  hasWitness,
  toHex,
  VeenError,
  verifyCheckpointSig,
} from "../../core/mod.ts";
import { checkCheckpoint } from "../client_view.ts";
import {
  CLIENT_FLAG,
  type Command,
  type CommandContext,
  connectWithClientPin,
  HUB_FLAG,
  HUB_KEY_FLAG,
  loadKeys,
  nowSec,
  PASSPHRASE_FLAG,
  STREAM_FLAG,
} from "../context.ts";
import { checkpointsNow } from "../checkpoint_now.ts";
import { readCapAuthRef } from "./send.ts";
import { checkFailure, usageError } from "../../cmd/mod.ts";
import { readInputFile, writeOutputFile } from "../files.ts";
import { checkWitnesses, WITNESS_FLAGS, witnessRequirement } from "../witness_requirement.ts";
import { type HubSession, streamTarget } from "../hub_session.ts";

/** A key given as 64 hex characters or as a file holding them. */
async function keyArg(v: string, flag: string): Promise<Uint8Array> {
  let s = v.trim();
  if (!/^[0-9a-fA-F]{64}$/.test(s)) s = new TextDecoder().decode(await readInputFile(v, flag)).trim();
  if (!/^[0-9a-fA-F]{64}$/.test(s)) {
    throw usageError(`${flag} must be 64 hex characters or a file holding them`);
  }
  return fromHex(s, 32);
}

/** The latest CHECKPOINT of `stream`, its hub_sig and label checked; E.NOT_FOUND when the hub has none. */
export async function latestCheckpoint(
  s: HubSession,
  stream: string,
): Promise<{ checkpoint: Checkpoint; bytes: Uint8Array }> {
  const t = streamTarget(s, stream);
  const got = await s.http.checkpointLatest(t.label);
  if (got === undefined) {
    throw new VeenError("E.NOT_FOUND", `The hub has no CHECKPOINT for stream ${stream}`);
  }
  checkCheckpoint(got.checkpoint, s.hubPk, t.label);
  return got;
}

/** JSON of one CHECKPOINT as `hub checkpoint` prints it. */
function checkpointJson(c: Checkpoint) {
  return {
    label: toHex(c.labelCurr),
    label_prev: toHex(c.labelPrev),
    upto_seq: c.uptoSeq,
    epoch: c.epoch,
    mmr_root: toHex(c.mmrRoot),
    witness_sigs: c.witnessSigs?.length ?? 0,
  };
}

/** The client that signs a checkpoint request: `--admin`, else $VEEN_ADMIN, else `--client`. */
export function requestSignerDir(ctx: CommandContext): string {
  const d = ctx.flags.str("admin") ?? ctx.io.env("VEEN_ADMIN") ?? ctx.flags.str("client") ??
    ctx.io.env("VEEN_CLIENT");
  if (d === undefined || d === "") {
    throw usageError("Give --admin DIR (or set VEEN_ADMIN) to sign the checkpoint request");
  }
  return d;
}

/** `hub checkpoint --now`: CHECKPOINTs of every --stream now, and the export checkpoint over them. */
async function checkpointNowCommand(ctx: CommandContext, streams: string[]): Promise<number> {
  const dir = requestSignerDir(ctx);
  const keys = await loadKeys(ctx, dir);
  const s = await connectWithClientPin(ctx);
  const capPath = ctx.flags.str("cap");
  const ref = capPath === undefined ? undefined : await readCapAuthRef(capPath);
  const labels = streams.map((n) => streamTarget(s, n).label);
  const got = await checkpointsNow(s, keys, labels, nowSec(ctx), ref);
  const out = ctx.flags.str("out");
  if (out !== undefined) await writeOutputFile(out, got.checkpoints[0]!.bytes, "CHECKPOINT");
  const exportOut = ctx.flags.str("export-out");
  if (exportOut !== undefined) await writeOutputFile(exportOut, got.exportBytes, "export checkpoint");
  const list = got.checkpoints.map((c, i) => ({ stream: streams[i]!, ...checkpointJson(c.checkpoint) }));
  const exp = got.exportCheckpoint;
  const json = {
    ...list[0]!,
    hub_sig: "ok",
    checkpoints: list,
    export_checkpoint: {
      id: toHex(exportCheckpointId(exp)),
      hub_pk: toHex(exp.hubPk),
      profile_id: toHex(exp.profileId),
      time: exp.time,
      hex: toHex(got.exportBytes),
    },
  };
  const lines = list.flatMap((
    c,
  ) => [`stream: ${c.stream}`, `upto_seq: ${c.upto_seq}`, `mmr_root: ${c.mmr_root}`]);
  lines.push(
    `export_checkpoint: ${toHex(exportCheckpointId(exp))} (${list.length} stream(s), time ${exp.time})`,
  );
  ctx.out.result(json, lines);
  return 0;
}

export const hubCheckpoint: Command = {
  path: ["hub", "checkpoint"],
  summary: "fetch and verify a stream's latest CHECKPOINT, or (--now) make the hub emit one at once",
  usage:
    "veen hub checkpoint --hub H --stream NAME [--out FILE] [--client DIR] [--witness-key HEX32... --require-witnesses K]\n" +
    "veen hub checkpoint --hub H --stream NAME... --now [--admin DIR] [--cap FILE] [--export-out FILE] [--out FILE]",
  details:
    "With --now the request is signed by --admin (else $VEEN_ADMIN, else --client): a key in the hub's " +
    "admin_keys,\na client holding a cap rooted in one (--cap), or any key on an open hub. The hub writes a " +
    "CHECKPOINT of each\nstream's head at once and signs an export checkpoint listing (label, upto_seq, mmr_root) " +
    "with its key,\nprofile and time (docs/recorder.md).",
  flags: [
    HUB_FLAG,
    { ...STREAM_FLAG, multiple: true, help: "stream name (or 64-hex stream_id); several with --now" },
    { name: "out", metavar: "FILE", help: "write CBOR(CHECKPOINT) here (the first stream's with --now)" },
    CLIENT_FLAG,
    HUB_KEY_FLAG,
    ...WITNESS_FLAGS,
    { name: "now", arity: 0, help: "make the hub emit a CHECKPOINT now (an admin request)" },
    { name: "admin", metavar: "DIR", help: "with --now: the admin client that signs the request" },
    { name: "cap", metavar: "FILE", help: "with --now: the signer's cap_token, rooted in an admin key" },
    { name: "export-out", metavar: "FILE", help: "with --now: write CBOR(export checkpoint) here" },
    PASSPHRASE_FLAG,
  ],
  async run(ctx) {
    const streams = ctx.flags.list("stream");
    if (ctx.flags.bool("now")) return await checkpointNowCommand(ctx, streams);
    for (const f of ["admin", "cap", "export-out"]) {
      if (ctx.flags.str(f) !== undefined) throw usageError(`--${f} needs --now`);
    }
    if (streams.length !== 1) throw usageError("Give one --stream (several only with --now)");
    const witnesses = witnessRequirement(ctx);
    const got = await latestCheckpoint(await connectWithClientPin(ctx), streams[0]!);
    const c = got.checkpoint;
    const trusted = checkWitnesses(c, witnesses);
    const out = ctx.flags.str("out");
    if (out !== undefined) await writeOutputFile(out, got.bytes, "CHECKPOINT");
    const json = {
      ...checkpointJson(c),
      ...(witnesses === undefined ? {} : { trusted_witnesses: trusted }),
      hub_sig: "ok",
    };
    ctx.out.fields(json);
    return 0;
  },
};

export const hubVerifyRotation: Command = {
  path: ["hub", "verify-rotation"],
  summary: "check a CHECKPOINT carries valid witness signatures of the old and new hub keys",
  usage: "veen hub verify-rotation --checkpoint FILE --old-key HEX32|FILE --new-key HEX32|FILE",
  flags: [
    { name: "checkpoint", metavar: "FILE", required: true, help: "CBOR(CHECKPOINT)" },
    { name: "old-key", metavar: "HEX32|FILE", required: true, help: "old hub public key" },
    { name: "new-key", metavar: "HEX32|FILE", required: true, help: "new hub public key" },
  ],
  async run(ctx) {
    const c = decodeCheckpoint(await readInputFile(ctx.flags.req("checkpoint"), "CHECKPOINT"));
    const oldKey = await keyArg(ctx.flags.req("old-key"), "--old-key");
    const newKey = await keyArg(ctx.flags.req("new-key"), "--new-key");
    const oldOk = hasWitness(c, oldKey);
    const newOk = hasWitness(c, newKey);
    const signer = verifyCheckpointSig(c, newKey)
      ? "new"
      : verifyCheckpointSig(c, oldKey)
      ? "old"
      : "neither";
    const lines = [
      `upto_seq: ${c.uptoSeq}`,
      `epoch: ${c.epoch}`,
      `hub_sig: ${signer === "neither" ? "FAILED" : `ok (${signer} key)`}`,
      `old_key_witness: ${oldOk ? "ok" : "FAILED"}`,
      `new_key_witness: ${newOk ? "ok" : "FAILED"}`,
    ];
    const json = {
      upto_seq: c.uptoSeq,
      epoch: c.epoch,
      hub_sig_by: signer,
      old_key_witness: oldOk,
      new_key_witness: newOk,
    };
    if (!oldOk || !newOk || signer === "neither") {
      throw checkFailure(new VeenError("E.SIG", "The CHECKPOINT lacks a valid signature of both hub keys"), {
        lines: [...lines, "rotation: FAILED"],
        json: { ...json, valid: false },
      });
    }
    ctx.out.result({ ...json, valid: true }, [...lines, "rotation: ok"]);
    return 0;
  },
};
