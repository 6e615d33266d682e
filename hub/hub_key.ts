/**
 * The hub's Ed25519 key (`DIR/hub_key`, mode 0600): created on first start, never regenerated. The file is CBOR
 * `{1: ver=1, 2: secret seed (32), 3: public key (32)}`; loading checks that the public key matches the seed.
 */
import {
  bytesEqual,
  decodeCbor,
  encodeCbor,
  expectBytes,
  expectIntMap,
  type SigningKey,
  signingKeyFromSeed,
  VeenError,
} from "../core/mod.ts";
import { checkNoUnfinishedRestore, type DataDirLock, lockDataDir } from "./data_dir_lock.ts";
import { syncDir } from "./files.ts";

export const HUB_KEY_FILE = "hub_key";

/**
 * Decodes `hub_key` bytes; undefined when the version is not 1 or the public key does not match the seed. Malformed
 * bytes throw, naming `what`.
 */
export function parseHubKey(bytes: Uint8Array, what: string): SigningKey | undefined {
  const m = expectIntMap(decodeCbor(bytes, what), [1, 2, 3], [1, 2, 3], what);
  const key = signingKeyFromSeed(expectBytes(m.get(2), 32, "hub key seed"));
  if (m.get(1) !== 1 || !bytesEqual(key.public, expectBytes(m.get(3), 32, "hub public key"))) {
    return undefined;
  }
  return key;
}

export async function loadOrCreateHubKey(dataDir: string): Promise<{ key: SigningKey; created: boolean }> {
  const path = `${dataDir}/${HUB_KEY_FILE}`;
  let bytes: Uint8Array | undefined;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) {
      throw new VeenError("E.UNAVAILABLE", `Cannot read hub key ${path}: ${(e as Error).message}`);
    }
  }
  if (bytes !== undefined) {
    const key = parseHubKey(bytes, `hub key ${path}`);
    if (key === undefined) {
      throw new VeenError("E.SIG", `Hub key ${path} is corrupt: public key does not match the secret`);
    }
    return { key, created: false };
  }
  const key = signingKeyFromSeed(crypto.getRandomValues(new Uint8Array(32)));
  const tmp = `${path}.tmp`;
  const f = await Deno.open(tmp, { write: true, createNew: true, mode: 0o600 });
  try {
    await f.write(
      encodeCbor(new Map<number, Uint8Array | number>([[1, 1], [2, key.secret], [3, key.public]])),
    );
    await f.sync();
  } finally {
    f.close();
  }
  await Deno.rename(tmp, path);
  await syncDir(dataDir);
  return { key, created: true };
}

/**
 * Creates the data dir (0700) or checks an existing one is a directory, takes its lock ({@link lockDataDir}) before
 * touching anything else in it, and checks it is writable.
 */
export async function prepareDataDir(dataDir: string): Promise<DataDirLock> {
  try {
    const st = await Deno.stat(dataDir);
    if (!st.isDirectory) throw new VeenError("E.UNAVAILABLE", `Data dir ${dataDir} is not a directory`);
  } catch (e) {
    if (e instanceof VeenError) throw e;
    if (!(e instanceof Deno.errors.NotFound)) {
      throw new VeenError("E.UNAVAILABLE", `Cannot use data dir ${dataDir}: ${(e as Error).message}`);
    }
    try {
      await Deno.mkdir(dataDir, { recursive: true, mode: 0o700 });
      await Deno.chmod(dataDir, 0o700);
    } catch (e) {
      throw new VeenError("E.UNAVAILABLE", `Cannot use data dir ${dataDir}: ${(e as Error).message}`);
    }
  }
  const lock = await lockDataDir(dataDir);
  try {
    await checkNoUnfinishedRestore(dataDir);
  } catch (e) {
    lock.release();
    throw e;
  }
  const probe = `${dataDir}/.write-probe`;
  try {
    await Deno.writeFile(probe, new Uint8Array(0), { mode: 0o600 });
    await Deno.remove(probe);
  } catch (e) {
    lock.release();
    throw new VeenError("E.UNAVAILABLE", `Data dir ${dataDir} is not writable: ${(e as Error).message}`);
  }
  return lock;
}
