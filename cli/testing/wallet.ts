/**
 * Wallet test fixtures: a real hub that trusts an institution client's id_sign key (so `/authorize` installs its
 * caps and `GET /cap` serves them) and the institution's caps for a writer on wallet streams (001 §8).
 */
import { fromHex, realmIdFor, toHex } from "../../core/mod.ts";
import { walletIdFor, walletStreamId } from "../../overlays/mod.ts";
import { readKeystore } from "../keystore.ts";
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
