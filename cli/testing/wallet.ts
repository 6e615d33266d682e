/**
 * Wallet test fixtures: a real hub that trusts an institution client's id_sign key (so `/authorize` installs its
 * caps and `GET /cap` serves them), the institution's caps for a writer on wallet streams (001 §8), and a writer
 * that checks nothing (`sendRaw`) for the events a careful CLI never sends.
 */
import { type CborValue, fromHex, MmrAccumulator, realmIdFor, toHex } from "../../core/mod.ts";
import {
  encodeWalletBody,
  WALLET_BODIES,
  walletIdFor,
  type WalletKind,
  walletStreamId,
} from "../../overlays/mod.ts";
import { emptyState, labelStateFor } from "../client_state.ts";
import { connectHub, streamTarget } from "../hub_session.ts";
import { generateClientKeys, readKeystore } from "../keystore.ts";
import { sendMessage } from "../sender.ts";
import type { RealHub } from "./real_hub.ts";
import { startRealHub } from "./real_hub.ts";
import { newClient, runCli, tempDir } from "./run.ts";
import { ok } from "./with_real_hub.ts";

export interface Institution {
  /** Client directory whose id_sign key is the institution key. */
  dir: string;
  /** The institution key (hex). */
  pk: string;
}

/** A client directory `name` under `root` and its id_sign public key. */
export async function institutionClient(root: string, name = "inst"): Promise<Institution> {
  const dir = await newClient(root, name);
  const { keys } = await readKeystore(dir, undefined);
  return { dir, pk: toHex(keys.idSign.public) };
}

/** Runs `f` against a fresh real hub whose trusted_issuers hold a new institution's key. */
export async function withWalletHub(
  f: (hub: RealHub, root: string, inst: Institution) => Promise<void>,
  opts: Parameters<typeof startRealHub>[1] = {},
): Promise<void> {
  const t = await tempDir();
  try {
    const inst = await institutionClient(t.path);
    const hub = await startRealHub(`${t.path}/hub`, { ...opts, trustedIssuers: [inst.pk] });
    try {
      await f(hub, t.path, inst);
    } finally {
      await hub.close();
    }
  } finally {
    await t.cleanup();
  }
}

/** wallet_id (hex) of (realm `default`, ctx, currency). */
export function walletIdHex(ctxHex: string, currency: string): string {
  return toHex(walletIdFor(realmIdFor("default"), fromHex(ctxHex, 32), currency));
}

/** `veen wallet open BASE --realm REALM --ctx CTX --currency CUR` and any further arguments. */
export function openArgs(base: string[], ctxHex: string, currency: string, ...more: string[]): string[] {
  return ["wallet", "open", ...base, "--realm", "default", "--ctx", ctxHex, "--currency", currency, ...more];
}

/** `veen cap issue` by `inst` for `subjectDir` on the streams of `walletIds` (hex); returns the cap file. */
export async function walletCap(
  inst: Institution,
  subjectDir: string,
  walletIds: string[],
  out = `${subjectDir}/wallet.cap`,
): Promise<string> {
  const streams = walletIds.flatMap((w) => ["--stream", toHex(walletStreamId(fromHex(w, 32)))]);
  ok(
    await runCli([
      "cap",
      "issue",
      "--issuer",
      inst.dir,
      "--subject",
      subjectDir,
      ...streams,
      "--ttl",
      "86400",
      "--out",
      out,
    ]),
  );
  return out;
}

/** Sends one wallet body on `stream` as a new client that checks nothing (sealed to `sealTo`); returns its msg_id. */
export async function sendRaw(
  hubUrl: string,
  sealTo: Uint8Array,
  stream: string,
  kind: WalletKind,
  rec: Record<string, CborValue>,
  hdr: { parentId?: Uint8Array } = {},
  authRef?: Uint8Array,
  sender = generateClientKeys(1),
): Promise<Uint8Array> {
  const state = emptyState();
  const session = await connectHub({ hub: hubUrl, env: () => undefined, timeoutMs: 5000, state });
  const target = streamTarget(session, stream);
  const res = await sendMessage(
    session,
    target,
    sender,
    labelStateFor(state, session.hubId, target, sender.client.public, 1),
    new MmrAccumulator(),
    {
      recipientPk: sealTo,
      hdr: { schema: WALLET_BODIES[kind].schemaId, ...hdr },
      bodyBytes: encodeWalletBody(kind, rec),
      ...(authRef === undefined ? {} : { authRef }),
    },
  );
  return res.msgId;
}
