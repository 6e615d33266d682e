/**
 * Hub key rotation (spec 004 KEX0.1). `veen hub rotate-key --data-dir DIR [--window-sec N]` runs offline (it holds
 * the data dir lock): the current key is first appended to `DIR/hub_key.previous` (CBOR `{1: 1, 2: [[seed, public,
 * rotated_at, window_sec], ...]}`, oldest first), then a new `DIR/hub_key` replaces the current one, each written
 * tmp + fdatasync + rename + directory fsync. No key is ever lost: a crash between the two writes leaves the old key
 * current and listed, and such an entry (equal to the current key) is ignored. During the window (rotated_at +
 * window_sec) every CHECKPOINT carries witness signatures of both the old and the new key, hub_sig being the new
 * key's; after it the old key signs nothing (it is retired). A rotation is refused while a window is open.
 */
import {
  bytesEqual,
  type CborValue,
  decodeCbor,
  encodeCbor,
  expectArray,
  expectBytes,
  expectIntMap,
  expectUint,
  type SigningKey,
  signingKeyFromSeed,
  toHex,
  type UnsignedCheckpoint,
  VeenError,
  witnessSign,
} from "../core/mod.ts";
import type { CommandContext } from "../cmd/mod.ts";
import { lockDataDir } from "./data_dir_lock.ts";
import { writeFileAtomic } from "./files.ts";
import { HUB_KEY_FILE, loadOrCreateHubKey, parseHubKey } from "./hub_key.ts";

export const PREVIOUS_KEYS_FILE = "hub_key.previous";
/** The default rotation window: one day. */
export const DEFAULT_ROTATION_WINDOW_SEC = 86_400;

export interface PreviousKey {
  key: SigningKey;
  /** Unix seconds of the rotation away from this key, and the window length. */
  rotatedAt: number;
  windowSec: number;
}

/** The keys this hub used before its current one, oldest first; [] when it never rotated. */
export async function readPreviousKeys(dataDir: string): Promise<PreviousKey[]> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(`${dataDir}/${PREVIOUS_KEYS_FILE}`);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw new VeenError("E.UNAVAILABLE", `Cannot read ${PREVIOUS_KEYS_FILE}: ${(e as Error).message}`);
  }
  const m = expectIntMap(decodeCbor(bytes, PREVIOUS_KEYS_FILE), [1, 2], [1, 2], PREVIOUS_KEYS_FILE);
  const list = m.get(2);
  if (m.get(1) !== 1 || !Array.isArray(list)) {
    throw new VeenError("E.SIZE", `${PREVIOUS_KEYS_FILE} must be {1: 1, 2: [keys]}`);
  }
  return list.map((v) => {
    const a = expectArray(v, 4, "previous hub key");
    const key = signingKeyFromSeed(expectBytes(a[0], 32, "previous hub key seed"));
    if (!bytesEqual(key.public, expectBytes(a[1], 32, "previous hub public key"))) {
      throw new VeenError("E.SIG", `${PREVIOUS_KEYS_FILE}: a public key does not match its seed`);
    }
    return { key, rotatedAt: expectUint(a[2], "rotated_at"), windowSec: expectUint(a[3], "window_sec") };
  });
}

/** The key rotated away from whose window is open at `nowSec` (never the current key itself). */
export function openRotation(
  prev: readonly PreviousKey[],
  current: SigningKey,
  nowSec: number,
): PreviousKey | undefined {
  const last = prev.filter((p) => !bytesEqual(p.key.public, current.public)).at(-1);
  return last !== undefined && nowSec < last.rotatedAt + last.windowSec ? last : undefined;
}

/** The witness signatures of a rotation window on a CHECKPOINT: old key, then new key. */
export function rotationSigs(c: UnsignedCheckpoint, old: SigningKey, current: SigningKey): Uint8Array[] {
  return [witnessSign(c, old.secret), witnessSign(c, current.secret)];
}

/**
 * Rotates the hub key of a stopped hub's data dir; returns the old and new public keys. With `next` (the bytes of a
 * `hub_key` file: spec 000 §11.4 `veen-hub-keys-next`) that key becomes current instead of a random one: on a dir
 * without a key it is installed as the first key (`old` undefined), a key equal to the current one changes nothing
 * (`current` equals `old`), and a previous key of this hub is refused (no rotation back).
 */
export async function rotateHubKey(
  dataDir: string,
  windowSec: number,
  nowSec: number,
  next?: Uint8Array,
): Promise<{ old: Uint8Array | undefined; current: Uint8Array }> {
  const nextKey = next === undefined ? undefined : parseHubKey(next, "key file");
  if (next !== undefined && nextKey === undefined) {
    throw new VeenError("E.SIG", "Key file is corrupt: public key does not match the secret");
  }
  const lock = await lockDataDir(dataDir);
  try {
    try {
      await Deno.stat(`${dataDir}/${HUB_KEY_FILE}`);
    } catch {
      if (next === undefined) {
        throw new VeenError("E.NOT_FOUND", `No ${HUB_KEY_FILE} in ${dataDir}: nothing to rotate`);
      }
      await writeFileAtomic(dataDir, HUB_KEY_FILE, next);
      return { old: undefined, current: nextKey!.public };
    }
    const { key: old } = await loadOrCreateHubKey(dataDir);
    if (nextKey !== undefined && bytesEqual(nextKey.public, old.public)) {
      return { old: old.public, current: old.public };
    }
    const prev = await readPreviousKeys(dataDir);
    if (nextKey !== undefined && prev.some((p) => bytesEqual(p.key.public, nextKey.public))) {
      throw new VeenError(
        "E.AUTH",
        `Key file holds ${
          toHex(nextKey.public).slice(0, 16)
        }, a previous key of this hub: refusing to rotate back`,
      );
    }
    const open = openRotation(prev, old, nowSec);
    if (open !== undefined) {
      throw new VeenError(
        "E.TIME",
        `The rotation window from key ${toHex(open.key.public).slice(0, 16)} is open until ${
          open.rotatedAt + open.windowSec
        }: rotate again after it`,
      );
    }
    const kept = prev.filter((p) => !bytesEqual(p.key.public, old.public));
    kept.push({ key: old, rotatedAt: nowSec, windowSec });
    const list: CborValue[] = kept.map((p) => [p.key.secret, p.key.public, p.rotatedAt, p.windowSec]);
    await writeFileAtomic(
      dataDir,
      PREVIOUS_KEYS_FILE,
      encodeCbor(new Map<number, CborValue>([[1, 1], [2, list]])),
    );
    const current = nextKey ?? signingKeyFromSeed(crypto.getRandomValues(new Uint8Array(32)));
    const file = new Map<number, CborValue>([[1, 1], [2, current.secret], [3, current.public]]);
    await writeFileAtomic(dataDir, HUB_KEY_FILE, next ?? encodeCbor(file));
    return { old: old.public, current: current.public };
  } finally {
    lock.release();
  }
}

/**
 * `veen hub rotate-key --data-dir DIR [--window-sec N] [--key-file FILE]`. The window is --window-sec, else the
 * hub's `rotation_window_sec` (VEEN_ROTATION_WINDOW_SEC), else one day.
 */
export async function rotateKeyCommand(ctx: CommandContext, dataDir: string): Promise<number> {
  const envWindow = ctx.io.env("VEEN_ROTATION_WINDOW_SEC");
  const windowSec = ctx.flags.int("window-sec", { min: 1 }) ??
    (envWindow !== undefined && /^[1-9][0-9]*$/.test(envWindow)
      ? Number(envWindow)
      : DEFAULT_ROTATION_WINDOW_SEC);
  const keyFile = ctx.flags.str("key-file");
  let next: Uint8Array | undefined;
  if (keyFile !== undefined) {
    try {
      next = await Deno.readFile(keyFile);
    } catch (e) {
      throw new VeenError("E.NOT_FOUND", `Cannot read key file ${keyFile}: ${(e as Error).message}`);
    }
  }
  const now = Math.floor(Date.now() / 1000);
  const r = await rotateHubKey(dataDir, windowSec, now, next);
  const rotated = r.old !== undefined && !bytesEqual(r.old, r.current);
  ctx.out.fields({
    old_hub_pk: r.old === undefined ? null : toHex(r.old),
    hub_pk: toHex(r.current),
    rotated,
    rotated_at: rotated ? now : null,
    window_until: rotated ? now + windowSec : null,
  });
  return 0;
}
