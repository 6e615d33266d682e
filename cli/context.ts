/**
 * Small helpers shared by client commands (client directory, passphrase, hub connection) and their common flags.
 * The command shape itself (`Command`, `CommandContext`) is the framework's (cmd/).
 */
import { type CommandContext, type FlagSpec, usageError } from "../cmd/mod.ts";
import { checkPrekey, readIdentityCard } from "./identity_card.ts";
import { type ClientKeys, passphraseFrom, readKeystore } from "./keystore.ts";
import { type ClientState, type LabelState, labelStateFor, readState } from "./client_state.ts";
export type { Command, CommandContext } from "../cmd/mod.ts";
import { connectHub, type HubSession, type StreamTarget, streamTarget } from "./hub_session.ts";
import { PowPolicy } from "./pow_client.ts";

/**
 * The proof-of-work flags of every send-like command (CLI-GOALS-2 §5.3; cli/pow_client.ts). Without them a hub
 * that requires proof of work still gets a solved cookie: the CLI fetches and solves a challenge per submit.
 */
export const POW_FLAGS: readonly FlagSpec[] = [
  { name: "pow-challenge", metavar: "HEX32", help: "send this hub challenge as the Veen-PoW cookie" },
  { name: "pow-nonce", metavar: "N", help: "the nonce solving --pow-challenge (solved here when omitted)" },
  {
    name: "pow-difficulty",
    metavar: "D",
    help: "solve at least this difficulty (default: the hub's pow_difficulty from /info)",
  },
];

/** Flags shared by commands that use a client directory. */
export const CLIENT_FLAG: FlagSpec = {
  name: "client",
  metavar: "DIR",
  help: "client directory (default: $VEEN_CLIENT)",
};
export const PASSPHRASE_FLAG: FlagSpec = {
  name: "passphrase-env",
  metavar: "VAR",
  help: "environment variable holding the keystore passphrase (default: $VEEN_PASSPHRASE)",
};
export const HUB_FLAG: FlagSpec = {
  name: "hub",
  metavar: "URL|DIR",
  help: "hub URL, hub data directory or file:// URI (default: $VEEN_HUB)",
};
/** `--data-dir DIR` of the hub inspection commands: the data dir of a hub running on this machine (= `--hub DIR`). */
export const HUB_DATA_DIR_FLAG: FlagSpec = {
  name: "data-dir",
  metavar: "DIR",
  help: "data directory of a hub running here (same as --hub DIR)",
};
export const HUB_KEY_FLAG: FlagSpec = {
  name: "hub-key",
  metavar: "HEX32",
  help: "expected hub public key (pins it)",
};
export const TO_FLAG: FlagSpec = {
  name: "to",
  metavar: "CARD",
  help: "seal to this identity card (file or client dir) instead of yourself",
};
/** Flag of the overlay readers (crdt reads, rpc serve). */
export const REFOLD_FLAG: FlagSpec = {
  name: "refold",
  arity: 0,
  help: "ignore the stored summary and fold from stream_seq 1",
};
export const STREAM_FLAG: FlagSpec = {
  name: "stream",
  metavar: "NAME",
  required: true,
  help: "stream name (or 64-hex stream_id)",
};

/** `--client DIR` or `$VEEN_CLIENT`. */
export function clientDir(ctx: CommandContext): string {
  const d = ctx.flags.str("client") ?? ctx.io.env("VEEN_CLIENT");
  if (d === undefined || d === "") throw usageError("Missing required flag --client (or set VEEN_CLIENT)");
  return d;
}

/** Loads the client's keys with the passphrase from `--passphrase-env` or `$VEEN_PASSPHRASE`. */
export async function loadKeys(ctx: CommandContext, dir: string): Promise<ClientKeys> {
  const pass = passphraseFrom(ctx.flags.str("passphrase-env"), ctx.io.env);
  return (await readKeystore(dir, pass)).keys;
}

/** The HPKE key a payload is sealed to and the client_id holding it: `--to CARD` (checked), else the client. */
export async function recipientOf(
  ctx: CommandContext,
  keys: ClientKeys,
): Promise<{ hpkePk: Uint8Array; clientId: Uint8Array }> {
  const to = ctx.flags.str("to");
  if (to === undefined) return { hpkePk: keys.prekey.public, clientId: keys.client.public };
  const card = await readIdentityCard(to);
  checkPrekey(card, nowSec(ctx));
  return { hpkePk: card.hpkePk, clientId: card.clientId };
}

/** Unix seconds now. */
export function nowSec(ctx: CommandContext): number {
  return Math.floor(ctx.io.now() / 1000);
}

/** Connects to the hub named by `--hub` (or `--data-dir`, or $VEEN_HUB), checking `--hub-key` and, with `state`, the stored pin. */
export function connectFromFlags(ctx: CommandContext, state?: ClientState): Promise<HubSession> {
  const dataDir = ctx.flags.str("data-dir");
  if (dataDir !== undefined && ctx.flags.bool("hub")) throw usageError("Give --hub or --data-dir, not both");
  return connectHub({
    hub: ctx.flags.str("hub") ?? dataDir,
    env: ctx.io.env,
    timeoutMs: ctx.timeoutMs,
    hubKey: ctx.flags.str("hub-key"),
    profileId: ctx.flags.str("profile-id"),
    pow: PowPolicy.fromFlags(ctx.flags),
    ...(state === undefined ? {} : { state }),
  });
}

/** `connectFromFlags`, checking the pin stored in `--client`'s state.json when `--client` is given (not saved). */
export async function connectWithClientPin(ctx: CommandContext): Promise<HubSession> {
  const dir = ctx.flags.str("client");
  return await connectFromFlags(ctx, dir === undefined ? undefined : await readState(dir));
}

/** One label of the client's state on the hub of `--hub`. */
export interface OpenLabel {
  state: ClientState;
  session: HubSession;
  target: StreamTarget;
  ls: LabelState;
}

/**
 * Reads `dir`'s state.json, connects to `--hub` (pin checked and recorded in that state) and returns the entry of
 * `stream` for `clientId`, created when missing. A caller that saves the state holds the state lock.
 */
export async function openLabel(
  ctx: CommandContext,
  dir: string,
  stream: string,
  clientId: Uint8Array,
): Promise<OpenLabel> {
  const state = await readState(dir);
  const session = await connectFromFlags(ctx, state);
  const target = streamTarget(session, stream);
  return { state, session, target, ls: labelStateFor(state, session.hubId, target, clientId, nowSec(ctx)) };
}

/** True when `--hub` or $VEEN_HUB names a hub. */
export function hubGiven(ctx: CommandContext): boolean {
  return ctx.flags.bool("hub") || ctx.io.env("VEEN_HUB") !== undefined;
}
