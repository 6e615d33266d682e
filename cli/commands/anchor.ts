/**
 * `veen anchor publish` and `veen anchor verify` (CLI-GOALS-1 §12, CORE-GOALS 1.7 `verify-anchor` as an alias;
 * spec 004 §26 ANCHOR0) over the file backend (cli/anchor_file_backend.ts). The hub stays minimal: the client
 * fetches the label's CHECKPOINT, checks its hub_sig under the pinned hub key, and anchors its mmr_root.
 *
 * publish: the latest CHECKPOINT of `--stream` (or the file `--checkpoint F`, e.g. from `veen hub checkpoint
 * --out F`) → backend.publish(mmr_root, epoch, ts, nonce) → anchor_ref, stored with the CHECKPOINT bytes in
 * `<backend dir>/bindings/`.
 * verify: the CHECKPOINT's hub_sig under `--hub-key` or the key of `--hub`, and backend.verify(mmr_root,
 * anchor_ref) with `--anchor-ref` or the ref recorded for that root. Any failure is exit 4 (E.SIG, E.NOT_FOUND).
 */
import {
  type Checkpoint,
  decodeCheckpoint,
  defaultRandom,
  fromHex,
  toHex,
  VeenError,
  verifyCheckpointSig,
} from "../../core/mod.ts";
import { ANCHOR_NONCE_MAX, ANCHOR_REF_LEN, parseAnchorRef } from "../../overlays/mod.ts";
import { checkFailure, type FlagSpec, parseHex32, usageError } from "../../cmd/mod.ts";
import { checkCheckpoint } from "../client_view.ts";
import {
  CLIENT_FLAG,
  type Command,
  type CommandContext,
  connectWithClientPin,
  HUB_FLAG,
  HUB_KEY_FLAG,
  nowSec,
} from "../context.ts";
import { readInputFile, writeOutputFile } from "../files.ts";
import { type HubSession, streamTarget } from "../hub_session.ts";
import { FileAnchorBackend } from "../anchor_file_backend.ts";
import { latestCheckpoint } from "./hub_checkpoint.ts";

const BACKEND_DIR_FLAG: FlagSpec = {
  name: "backend-dir",
  metavar: "DIR",
  help: "file anchor backend directory (default: $VEEN_ANCHOR_DIR)",
};
const OPTIONAL_STREAM: FlagSpec = { name: "stream", metavar: "NAME", help: "stream name (checks the label)" };

function backendOf(ctx: CommandContext): FileAnchorBackend {
  const d = ctx.flags.str("backend-dir") ?? ctx.io.env("VEEN_ANCHOR_DIR");
  if (d === undefined || d === "") {
    throw usageError("Missing required flag --backend-dir (or set VEEN_ANCHOR_DIR)");
  }
  return new FileAnchorBackend(d);
}

function hexArg(s: string, flag: string, len: number | [number, number]): Uint8Array {
  const [min, max] = typeof len === "number" ? [len, len] : len;
  if (!/^([0-9a-fA-F]{2})*$/.test(s) || s.length / 2 < min || s.length / 2 > max) {
    throw usageError(`${flag} must be ${min === max ? min : `${min}..${max}`} bytes of hex`);
  }
  return fromHex(s.toLowerCase());
}

/** The hub key to check a CHECKPOINT file under: `--hub-key` alone, else the key of `--hub` / $VEEN_HUB. */
async function hubKeyOf(ctx: CommandContext): Promise<{ hubPk: Uint8Array; s?: HubSession }> {
  const key = ctx.flags.str("hub-key");
  if (key !== undefined && ctx.flags.str("hub") === undefined) {
    return { hubPk: parseHex32(key, "--hub-key") };
  }
  if (ctx.flags.str("hub") === undefined && (ctx.io.env("VEEN_HUB") ?? "") === "") {
    throw usageError("Give --hub-key or --hub (or set VEEN_HUB) to check the CHECKPOINT signature");
  }
  const s = await connectWithClientPin(ctx);
  return { hubPk: s.hubPk, s };
}

function describe(c: Checkpoint): Record<string, string | number> {
  return { label: toHex(c.labelCurr), upto_seq: c.uptoSeq, epoch: c.epoch, mmr_root: toHex(c.mmrRoot) };
}

export const anchorPublish: Command = {
  path: ["anchor", "publish"],
  summary: "anchor a stream's latest CHECKPOINT mmr_root in the file backend; print anchor_ref",
  usage:
    "veen anchor publish --hub H --stream NAME --backend-dir DIR [--checkpoint F] [--out F] [--epoch E] [--ts T] [--nonce HEX] [--skip-anchored]",
  flags: [
    HUB_FLAG,
    OPTIONAL_STREAM,
    BACKEND_DIR_FLAG,
    {
      name: "checkpoint",
      metavar: "FILE",
      help: "anchor this CBOR(CHECKPOINT) instead of fetching the latest",
    },
    { name: "out", metavar: "FILE", help: "also write the anchored CHECKPOINT here" },
    { name: "epoch", metavar: "E", help: "epoch to record (default: the CHECKPOINT's)" },
    { name: "ts", metavar: "T", help: "timestamp to record, Unix seconds (default: now)" },
    {
      name: "nonce",
      metavar: "HEX",
      help: `nonce, up to ${ANCHOR_NONCE_MAX} bytes (default: 32 random bytes)`,
    },
    {
      name: "skip-anchored",
      arity: 0,
      help: "publish nothing when the backend already binds this mmr_root (for a timer: ANCHOR0.2 cadence)",
    },
    CLIENT_FLAG,
    HUB_KEY_FLAG,
  ],
  async run(ctx) {
    const backend = backendOf(ctx);
    const file = ctx.flags.str("checkpoint");
    const stream = ctx.flags.str("stream");
    let bytes: Uint8Array;
    let c: Checkpoint;
    if (file === undefined) {
      if (stream === undefined) {
        throw usageError("Missing required flag --stream (or give --checkpoint FILE)");
      }
      ({ bytes, checkpoint: c } = await latestCheckpoint(await connectWithClientPin(ctx), stream));
    } else {
      bytes = await readInputFile(file, "CHECKPOINT");
      c = decodeCheckpoint(bytes);
      const { hubPk, s } = await hubKeyOf(ctx);
      if (stream !== undefined && s !== undefined) checkCheckpoint(c, hubPk, streamTarget(s, stream).label);
      else if (!verifyCheckpointSig(c, hubPk)) {
        throw new VeenError("E.SIG", "CHECKPOINT hub_sig does not verify under the hub key");
      }
    }
    if (ctx.flags.bool("skip-anchored")) {
      const known = await backend.refForRoot(c.mmrRoot);
      if (known !== undefined && await backend.verify(c.mmrRoot, known)) {
        const json = {
          anchor_ref: toHex(known),
          position: parseAnchorRef(known).pos,
          ...describe(c),
          already_anchored: true,
        };
        ctx.out.fields(json);
        return 0;
      }
    }
    const epoch = ctx.flags.int("epoch") ?? c.epoch;
    const ts = ctx.flags.int("ts") ?? nowSec(ctx);
    const nonceHex = ctx.flags.str("nonce");
    const nonce = nonceHex === undefined
      ? defaultRandom(32)
      : hexArg(nonceHex, "--nonce", [0, ANCHOR_NONCE_MAX]);
    const ref = await backend.publish(c.mmrRoot, epoch, ts, nonce);
    const binding = await backend.storeBinding(ref, bytes, c.mmrRoot);
    const out = ctx.flags.str("out");
    if (out !== undefined) await writeOutputFile(out, bytes, "CHECKPOINT");
    const json = {
      anchor_ref: toHex(ref),
      position: parseAnchorRef(ref).pos,
      ...describe(c),
      anchored_epoch: epoch,
      ts,
      nonce: toHex(nonce),
      binding,
      already_anchored: false,
    };
    ctx.out.fields(json);
    return 0;
  },
};

/** ANCHOR0.2: the anchor_ref the hub stored with a CHECKPOINT of the label (`GET /anchor?label=`). */
async function hubAnchorOf(
  s: HubSession,
  stream: string,
): Promise<{ checkpoint: Checkpoint; anchorRef: Uint8Array }> {
  const o = await s.http.json("/anchor", { label: toHex(streamTarget(s, stream).label) });
  const hex = (k: string) => {
    const v = o[k];
    if (typeof v !== "string" || !/^([0-9a-f]{2})+$/.test(v)) {
      throw new VeenError("E.SIZE", `GET /anchor field "${k}" is not hex`);
    }
    return fromHex(v);
  };
  return { checkpoint: decodeCheckpoint(hex("checkpoint")), anchorRef: hex("anchor_ref") };
}

export const anchorVerify: Command = {
  path: ["anchor", "verify"],
  aliases: [["verify-anchor"]],
  summary: "check a CHECKPOINT's hub_sig and that the anchor backend binds its mmr_root",
  usage: "veen anchor verify (--checkpoint F | --stream S) --backend-dir DIR [--anchor-ref HEX] " +
    "(--hub-key HEX | --hub H)",
  flags: [
    {
      name: "checkpoint",
      metavar: "FILE",
      help: "CBOR(CHECKPOINT) (default: the one the hub anchored for --stream, GET /anchor)",
    },
    BACKEND_DIR_FLAG,
    {
      name: "anchor-ref",
      metavar: "HEX",
      help: "anchor_ref to check (default: the one recorded for the CHECKPOINT's mmr_root)",
    },
    HUB_KEY_FLAG,
    HUB_FLAG,
    OPTIONAL_STREAM,
    CLIENT_FLAG,
  ],
  async run(ctx) {
    const backend = backendOf(ctx);
    const file = ctx.flags.str("checkpoint");
    const stream = ctx.flags.str("stream");
    if (file === undefined && stream === undefined) {
      throw usageError("Missing required flag --checkpoint (or give --stream to check the hub's anchor)");
    }
    const refHex = ctx.flags.str("anchor-ref");
    let given = refHex === undefined ? undefined : hexArg(refHex, "--anchor-ref", ANCHOR_REF_LEN);
    const { hubPk, s } = await hubKeyOf(ctx);
    let c: Checkpoint;
    if (file !== undefined) c = decodeCheckpoint(await readInputFile(file, "CHECKPOINT"));
    else {
      if (s === undefined) {
        throw usageError("Give --hub (or set VEEN_HUB) to check the hub's anchor of --stream");
      }
      const hubAnchor = await hubAnchorOf(s, stream!);
      c = hubAnchor.checkpoint;
      given ??= hubAnchor.anchorRef;
    }
    let sigOk = verifyCheckpointSig(c, hubPk);
    if (sigOk && stream !== undefined && s !== undefined) {
      sigOk = toHex(c.labelCurr) === toHex(streamTarget(s, stream).label);
    }
    const ref = given ?? await backend.refForRoot(c.mmrRoot);
    const anchorOk = ref !== undefined && await backend.verify(c.mmrRoot, ref);
    const anchor = ref === undefined ? "missing" : anchorOk ? "ok" : "FAILED";
    const json = {
      ...describe(c),
      hub_sig: sigOk ? "ok" : "FAILED",
      anchor_ref: ref === undefined ? null : toHex(ref),
      anchor,
    };
    const lines = Object.entries(json).map(([k, v]) => `${k}: ${v ?? "none"}`);
    const fail = (code: "E.SIG" | "E.NOT_FOUND", detail: string) =>
      checkFailure(new VeenError(code, detail), {
        lines: [...lines, "valid: no"],
        json: { ...json, valid: false },
      });
    if (!sigOk) {
      throw fail("E.SIG", "CHECKPOINT hub_sig does not verify under the hub key (or names another label)");
    }
    if (ref === undefined) throw fail("E.NOT_FOUND", `No anchor recorded for mmr_root ${toHex(c.mmrRoot)}`);
    if (!anchorOk) throw fail("E.SIG", "The anchor log does not bind this mmr_root to the anchor_ref");
    ctx.out.result({ ...json, valid: true }, [...lines, "valid: yes"]);
    return 0;
  },
};
