/**
 * Reading from a replica (docs/replication.md): a replica serves its primary's RECEIPTs and CHECKPOINTs
 * byte-identical, so a client verifies them under the primary's key. When the key a client expects (`--hub-key`,
 * or the pin of the address) is not the hub's own but that of a primary the hub lists in `GET /replication`, the
 * session verifies under that key; the hub's own key plays no part in what the client accepts.
 */
import { bytesEqual, fromHex, hubIdFor, toHex, VeenError } from "../core/mod.ts";
import type { HubHttp, HubInfo } from "./http_client.ts";

/** `info` with the primary's key when the hub replicates from the hub of `expected`; otherwise `info` unchanged. */
export async function replicaReadInfo(
  http: HubHttp,
  info: HubInfo,
  expected: Uint8Array | undefined,
): Promise<HubInfo> {
  if (expected === undefined || bytesEqual(expected, info.hubPk)) return info;
  let labels: unknown;
  try {
    labels = (await http.json("/replication")).labels;
  } catch (e) {
    if (e instanceof VeenError && e.code === "E.NOT_FOUND") return info;
    throw e;
  }
  const id = toHex(hubIdFor(expected));
  const rows = Array.isArray(labels) ? labels as { primary_hub?: unknown }[] : [];
  if (!rows.some((r) => r.primary_hub === id)) return info;
  return { ...info, hubPk: expected, hubId: fromHex(id, 32, "hub_id") };
}
