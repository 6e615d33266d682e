/**
 * CHECKPOINT commands (CLI-GOALS-1 §3.2, RESYNC0):
 * - `hub checkpoint --hub H --stream NAME [--out FILE]`: the latest CHECKPOINT of a stream's label, its hub_sig
 *   verified under the hub key (pinned in --client state when given) and, with --require-witnesses, its witness_sigs
 *   (cli/witness_requirement.ts), optionally written to FILE;
 * - `hub verify-rotation --checkpoint F --old-key K --new-key K`: offline, both keys' witness signatures must be
 *   present and valid (KEX0.1 rotation window). Exit 4 otherwise.
 */
import {
  type Checkpoint,
  decodeCheckpoint,
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
  connectWithClientPin,
  HUB_FLAG,
  HUB_KEY_FLAG,
  STREAM_FLAG,
} from "../context.ts";
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

export const hubCheckpoint: Command = {
  path: ["hub", "checkpoint"],
  summary: "fetch and verify a stream's latest CHECKPOINT",
  usage:
    "veen hub checkpoint --hub H --stream NAME [--out FILE] [--client DIR] [--witness-key HEX32... --require-witnesses K]",
  flags: [
    HUB_FLAG,
    STREAM_FLAG,
    { name: "out", metavar: "FILE", help: "write CBOR(CHECKPOINT) here" },
    CLIENT_FLAG,
    HUB_KEY_FLAG,
    ...WITNESS_FLAGS,
  ],
  async run(ctx) {
    const witnesses = witnessRequirement(ctx);
    const got = await latestCheckpoint(await connectWithClientPin(ctx), ctx.flags.req("stream"));
    const c = got.checkpoint;
    const trusted = checkWitnesses(c, witnesses);
    const out = ctx.flags.str("out");
    if (out !== undefined) await writeOutputFile(out, got.bytes, "CHECKPOINT");
    const json = {
      label: toHex(c.labelCurr),
      label_prev: toHex(c.labelPrev),
      upto_seq: c.uptoSeq,
      epoch: c.epoch,
      mmr_root: toHex(c.mmrRoot),
      witness_sigs: c.witnessSigs?.length ?? 0,
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
