/**
 * `DIR/primaries.json`: the hub keys whose RECEIPTs and CHECKPOINTs this hub stores as a replica (hub/replication.ts),
 * `{"keys": [hub_pk hex, ...]}`. A key is added (written atomically) before the first entry signed by it is
 * committed, so `veen hub fsck` can verify every stored signature offline: under DIR/hub_key or one of these keys.
 */
import { fromHex, toHex, VeenError } from "../core/mod.ts";
import { writeFileAtomic } from "./files.ts";

export const PRIMARIES_FILE = "primaries.json";

/** The keys listed in DIR/primaries.json (none when it is missing). */
export async function readPrimaries(dataDir: string): Promise<Uint8Array[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(`${dataDir}/${PRIMARIES_FILE}`);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw new VeenError("E.UNAVAILABLE", `Cannot read ${PRIMARIES_FILE}: ${(e as Error).message}`);
  }
  try {
    const keys = (JSON.parse(text) as { keys?: unknown }).keys;
    if (!Array.isArray(keys)) throw new Error("no keys array");
    return keys.map((k) => fromHex(String(k), 32, "primary key"));
  } catch (e) {
    throw new VeenError("E.UNAVAILABLE", `Malformed ${PRIMARIES_FILE}: ${(e as Error).message}`);
  }
}

/** Adds `pk` to DIR/primaries.json unless listed (callers serialize calls). */
export async function addPrimary(dataDir: string, pk: Uint8Array): Promise<void> {
  const keys = (await readPrimaries(dataDir)).map(toHex);
  if (keys.includes(toHex(pk))) return;
  keys.push(toHex(pk));
  await writeFileAtomic(dataDir, PRIMARIES_FILE, new TextEncoder().encode(JSON.stringify({ keys }) + "\n"));
}
