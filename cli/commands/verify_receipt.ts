/**
 * `veen verify-receipt --receipt F [--msg F] [--stream NAME] [--hub-key HEX | --client DIR [--hub H]]`
 * (CORE-GOALS 1.1, CLI-GOALS-1 §5.1 postconditions). Offline and deterministic: checks hub_sig under `--hub-key`
 * or the key pinned in the client's state, the label of `--stream`, and with `--msg` the MSG checks (label,
 * profile, I1 ct_hash, MSG.sig) and I2 (leaf_hash); when the client's stored view ends at this stream_seq, also I3
 * (the stored root). Exit 0 only when every check passes, else 4 with the checks done so far.
 */
import {
  bytesEqual,
  decodeMsg,
  decodeReceipt,
  DEFAULT_PROFILE_ID,
  fromHex,
  labelFor,
  leafHash,
  type Receipt,
  streamIdFor,
  toHex,
  VeenError,
  verifyReceiptSig,
} from "../../core/mod.ts";
import { checkFailure, parseHex32, usageError } from "../../cmd/mod.ts";
import { type ClientState, readState } from "../client_state.ts";
import { checkMsg } from "../client_view.ts";
import { CLIENT_FLAG, type Command, type CommandContext, HUB_FLAG } from "../context.ts";
import { readInputFile } from "../files.ts";
import { hubAddressKey } from "../hub_address.ts";

interface KeySource {
  hubPk: Uint8Array;
  hubId?: string;
  source: string;
}

/** The hub key to check against: --hub-key, the pin for --hub, or the one hub in state that knows this label. */
function hubKeyFor(ctx: CommandContext, state: ClientState | undefined, r: Receipt): KeySource {
  const flag = ctx.flags.str("hub-key");
  if (flag !== undefined) return { hubPk: parseHex32(flag, "--hub-key"), source: "--hub-key" };
  if (state === undefined) throw usageError("Give --hub-key, or --client DIR with a pinned hub key");
  const hubFlag = ctx.flags.str("hub") ?? ctx.io.env("VEEN_HUB");
  if (hubFlag !== undefined) {
    const pin = state.pins[hubAddressKey(hubFlag)];
    if (pin === undefined) {
      throw usageError(`No hub key pinned for ${hubFlag} in the client state; give --hub-key`);
    }
    return { hubPk: fromHex(pin.hub_pk, 32), hubId: pin.hub_id, source: "pinned" };
  }
  const label = toHex(r.label);
  const hubs = Object.entries(state.hubs).filter(([, h]) => h.labels[label] !== undefined);
  const keys = [...new Set(hubs.map(([, h]) => h.hub_pk))];
  if (keys.length !== 1) {
    throw usageError(
      keys.length === 0
        ? "No pinned hub knows this label; give --hub-key or --hub"
        : "Several pinned hubs know this label; give --hub",
    );
  }
  return { hubPk: fromHex(keys[0]!, 32), hubId: hubs[0]![0], source: "pinned" };
}

export const verifyReceipt: Command = {
  path: ["verify-receipt"],
  summary: "verify a RECEIPT (and its MSG) offline",
  usage:
    "veen verify-receipt --receipt RECEIPT.cbor [--msg MSG.cbor] [--stream NAME] (--hub-key HEX32 | --client DIR [--hub H])",
  flags: [
    { name: "receipt", metavar: "FILE", required: true, help: "CBOR(RECEIPT)" },
    { name: "msg", metavar: "FILE", help: "CBOR(MSG) the receipt is for" },
    { name: "stream", metavar: "NAME", help: "stream the receipt should be for" },
    { name: "hub-key", metavar: "HEX32", help: "hub public key (else the key pinned in --client state)" },
    CLIENT_FLAG,
    { ...HUB_FLAG, help: "which pinned hub (no network access)" },
  ],
  async run(ctx) {
    const checks: [string, string][] = [];
    const report = () => ({
      lines: ["receipt: FAILED", ...checks.map(([k, v]) => `check ${k}: ${v}`)],
      json: { valid: false, checks: Object.fromEntries(checks) },
    });
    const step = (name: string, f: () => string) => {
      try {
        checks.push([name, f()]);
      } catch (e) {
        if (e instanceof VeenError) {
          checks.push([name, `FAILED (${e.code})`]);
          throw checkFailure(e, report());
        }
        throw e;
      }
    };
    const receiptBytes = await readInputFile(ctx.flags.req("receipt"), "receipt");
    const msgPath = ctx.flags.str("msg");
    const msgBytes = msgPath === undefined ? undefined : await readInputFile(msgPath, "MSG");
    const dir = ctx.flags.str("client") ?? ctx.io.env("VEEN_CLIENT");
    const state = dir === undefined ? undefined : await readState(dir);

    let r!: Receipt;
    step("decode", () => {
      r = decodeReceipt(receiptBytes);
      if (r.streamSeq < 1) throw new VeenError("E.SEQ", "RECEIPT.stream_seq must be at least 1 (I12)");
      return "ok (canonical CBOR, ver 1, field sizes, stream_seq >= 1)";
    });
    const key = hubKeyFor(ctx, state, r);
    step("hub_sig", () => {
      if (!verifyReceiptSig(r, key.hubPk)) {
        throw new VeenError("E.SIG", `hub_sig does not verify under ${toHex(key.hubPk)}`);
      }
      return `ok (${key.source} key ${toHex(key.hubPk)})`;
    });
    const stream = ctx.flags.str("stream");
    if (stream !== undefined) {
      step("label", () => {
        const rk = key.hubId === undefined ? "" : state?.hubs[key.hubId]?.routing_key_hex ?? "";
        const want = labelFor(streamIdFor(stream), fromHex(rk), 0);
        if (!bytesEqual(want, r.label)) {
          throw new VeenError("E.SIG", `RECEIPT label is not the label of stream ${stream}`);
        }
        return `ok (${stream})`;
      });
    }
    if (msgBytes !== undefined) {
      let m!: ReturnType<typeof decodeMsg>;
      step("msg", () => {
        m = decodeMsg(msgBytes);
        const profileId = key.hubId === undefined
          ? DEFAULT_PROFILE_ID
          : fromHex(state?.hubs[key.hubId]?.profile_id ?? toHex(DEFAULT_PROFILE_ID), 32);
        checkMsg(m, { label: r.label, profileId });
        return "ok (label, profile, ct_hash I1, MSG.sig)";
      });
      step("leaf_hash", () => {
        if (!bytesEqual(leafHash(m), r.leafHash)) {
          throw new VeenError("E.SIG", "RECEIPT leaf_hash is not the MSG's leaf hash (I2)");
        }
        return "ok (I2)";
      });
    }
    const ls = key.hubId === undefined ? undefined : state?.hubs[key.hubId]?.labels[toHex(r.label)];
    if (ls !== undefined && ls.last_stream_seq === r.streamSeq) {
      step("mmr_root", () => {
        if (ls.last_mmr_root !== toHex(r.mmrRoot)) {
          throw new VeenError(
            "E.SEQ",
            `RECEIPT mmr_root differs from the client's view at stream_seq ${r.streamSeq} (I3)`,
          );
        }
        return "ok (I3, matches the client's view)";
      });
    }
    ctx.out.result(
      {
        valid: true,
        stream_seq: r.streamSeq,
        label: toHex(r.label),
        leaf_hash: toHex(r.leafHash),
        mmr_root: toHex(r.mmrRoot),
        hub_ts: r.hubTs,
        checks: Object.fromEntries(checks),
      },
      [
        "receipt: ok",
        `stream_seq: ${r.streamSeq}`,
        `label: ${toHex(r.label)}`,
        `leaf_hash: ${toHex(r.leafHash)}`,
        `mmr_root: ${toHex(r.mmrRoot)}`,
        `hub_ts: ${r.hubTs}`,
        ...checks.map(([k, v]) => `check ${k}: ${v}`),
      ],
    );
    return 0;
  },
};
