/**
 * The discovery overlay (spec 001 spec-5 §4-6; overlay decisions "Products, query and discovery"): the `disc.*`
 * bodies, the identifiers, the advertise/retire/expiry fold and the capped queries over its state.
 *
 * - Streams: `stream_id = H(utf8(name))` for `disc.hubs.v1`, `disc.overlays.v1`, `disc.services.v1` (§5.1).
 * - `overlay_id = Ht("disc/overlay", utf8(name) || utf8(version))`, `service_id = Ht("disc/service", utf8(name) ||
 *   overlay_id)`: an advertisement whose id is not derived so is rejected by the fold.
 * - Fold (§5.2), per id in stream order: an advertise sets the entry (publisher = its client_id, expiry = its
 *   RECEIPT's hub_ts + ttl_sec) and clears "retired", so a later advertise revives a retired id; a retire marks the
 *   entry retired when it comes from the publisher of the entry's advertisement (a stranger's retire is ignored).
 *   The summary keeps, per id, the last advertisement, whether it is retired, and the publishers of retires seen
 *   before any advertisement in the range: merge(L, R) = R's advertisement if R has one, else L's, retired when
 *   R's retirers hold its publisher; this is associative, so summaries resume like every other fold.
 * - Queries return the entries that are advertised, not retired and not expired at `now` (`now < expires_at`),
 *   filtered per §6.1, in ascending id order, at most {@link DISC_MAX_RESULTS} (a larger limit is capped).
 */
import { bytesEqual, fromHex, H, Ht, toHex, utf8 } from "../core/mod.ts";
import { BodyCodec, type BodyRecord } from "./body_codec.ts";
import { RECORD_EVENT } from "./recorder.ts";
import {
  type ApplyResult,
  damaged,
  type Fold,
  jsonArray,
  jsonHex,
  jsonObject,
  jsonUint,
  type OverlayEntry,
  sortedEntries,
} from "./fold.ts";

export type DiscKind = "hub" | "overlay" | "service";
export const DISC_KINDS: readonly DiscKind[] = ["hub", "overlay", "service"];
/** Lmax of §6.2: a query returns at most this many descriptors. */
export const DISC_MAX_RESULTS = 100;

const TAGS = { name: "tags", type: "text[]" } as const;
const TTL = { name: "ttl_sec", type: "uint" } as const;
const REASON = { name: "reason", type: "text", optional: true } as const;

/** Per kind: the stream name, the id field and the advertise and retire codecs (§4). */
export const DISC = {
  hub: {
    stream: "disc.hubs.v1",
    idField: "hub_id",
    advertise: new BodyCodec("disc.hub.advertise.v1", [
      { name: "hub_id", type: "bytes32" },
      { name: "hub_pk", type: "bytes32" },
      { name: "profile_id", type: "bytes32" },
      { name: "region", type: "text" },
      TAGS,
      { name: "endpoints", type: "any" },
      { name: "overlays", type: "bytes32[]" },
      TTL,
      { name: "version", type: "text" },
    ]),
    retire: new BodyCodec("disc.hub.retire.v1", [{ name: "hub_id", type: "bytes32" }, REASON]),
  },
  overlay: {
    stream: "disc.overlays.v1",
    idField: "overlay_id",
    advertise: new BodyCodec("disc.overlay.advertise.v1", [
      { name: "overlay_id", type: "bytes32" },
      { name: "name", type: "text" },
      { name: "version", type: "text" },
      { name: "schemas", type: "bytes32[]" },
      { name: "docs_url", type: "text", optional: true },
      TAGS,
      TTL,
    ]),
    retire: new BodyCodec("disc.overlay.retire.v1", [{ name: "overlay_id", type: "bytes32" }, REASON]),
  },
  service: {
    stream: "disc.services.v1",
    idField: "service_id",
    advertise: new BodyCodec("disc.service.advertise.v1", [
      { name: "service_id", type: "bytes32" },
      { name: "name", type: "text" },
      { name: "overlay_id", type: "bytes32" },
      { name: "methods", type: "text[]" },
      { name: "stream_ids", type: "bytes32[]" },
      { name: "regions", type: "text[]" },
      { name: "required_caps", type: "text[]" },
      { name: "auth_policy", type: "any", optional: true },
      { name: "operator", type: "any", optional: true },
      TAGS,
      TTL,
    ]),
    retire: new BodyCodec("disc.service.retire.v1", [{ name: "service_id", type: "bytes32" }, REASON]),
  },
} as const;

/** `H(utf8(name))`: the stream_id of a discovery stream (§5.1), as the 64-hex stream name the CLI maps. */
export function discStreamName(kind: DiscKind): string {
  return toHex(H(utf8(DISC[kind].stream)));
}

export function overlayIdOf(name: string, version: string): Uint8Array {
  return Ht("disc/overlay", utf8(name), utf8(version));
}

export function serviceIdOf(name: string, overlayId: Uint8Array): Uint8Array {
  return Ht("disc/service", utf8(name), overlayId);
}

const isMap = (v: unknown): v is Map<unknown, unknown> => v instanceof Map;
const textOr = (m: Map<unknown, unknown>, k: string) =>
  m.get(k) === undefined || typeof m.get(k) === "string";

/** Checks what the codec leaves as `any` and the derived ids; throws an Error naming the problem. */
export function checkAdvertisement(kind: DiscKind, b: BodyRecord): void {
  if (kind === "hub") {
    const eps = b.endpoints;
    if (
      !Array.isArray(eps) ||
      !eps.every((e) =>
        isMap(e) && e.size === 2 && typeof e.get("kind") === "string" && typeof e.get("url") === "string"
      )
    ) throw new Error("endpoints must be an array of {kind, url} text maps");
  } else if (kind === "overlay") {
    if (!bytesEqual(b.overlay_id as Uint8Array, overlayIdOf(b.name as string, b.version as string))) {
      throw new Error('overlay_id is not Ht("disc/overlay", name || version)');
    }
  } else {
    if (!bytesEqual(b.service_id as Uint8Array, serviceIdOf(b.name as string, b.overlay_id as Uint8Array))) {
      throw new Error('service_id is not Ht("disc/service", name || overlay_id)');
    }
    const ap = b.auth_policy;
    if (
      ap !== undefined &&
      !(isMap(ap) && typeof ap.get("mode") === "string" &&
        [...ap.keys()].every((k) => k === "mode" || k === "details"))
    ) {
      throw new Error("auth_policy must be {mode: text, details?: any}");
    }
    const op = b.operator;
    if (
      op !== undefined &&
      !(isMap(op) && textOr(op, "org") && textOr(op, "contact") &&
        [...op.keys()].every((k) => k === "org" || k === "contact"))
    ) {
      throw new Error("operator must be {org?: text, contact?: text}");
    }
  }
}

/** The last advertisement of an id. */
export interface DiscAdvert {
  body: Uint8Array;
  seq: number;
  hubTs: number;
  expiresAt: number;
  /** hex client_id of the writer. */
  publisher: string;
}

/** Per id: the last advertisement, whether it is retired, and retirers seen before any advertisement. */
export interface DiscCell {
  advert?: DiscAdvert;
  retired: boolean;
  retiredBy: string[];
}

export type DiscState = Map<string, DiscCell>;

function mergeCell(l: DiscCell | undefined, r: DiscCell): DiscCell {
  if (r.advert !== undefined || l === undefined) return r;
  if (l.advert === undefined) {
    return { retired: true, retiredBy: [...new Set([...l.retiredBy, ...r.retiredBy])].sort() };
  }
  return { advert: l.advert, retired: l.retired || r.retiredBy.includes(l.advert.publisher), retiredBy: [] };
}

/** The fold of one discovery stream. */
export function discFold(kind: DiscKind): Fold<DiscState> {
  const { advertise, retire, idField } = DISC[kind];
  return {
    kind: `disc.${kind}.v1`,
    schema: advertise.schemaId,
    empty: () => new Map(),
    merge(left, right) {
      const out = new Map(left);
      for (const [k, r] of right) out.set(k, mergeCell(out.get(k), r));
      return out;
    },
    apply(s, e: OverlayEntry): ApplyResult {
      const isAd = bytesEqual(e.hdr.schema, advertise.schemaId);
      if (!isAd && !bytesEqual(e.hdr.schema, retire.schemaId)) return "ignored";
      let b: BodyRecord;
      try {
        b = (isAd ? advertise : retire).decode(e.body);
        if (isAd) checkAdvertisement(kind, b);
      } catch {
        return "rejected";
      }
      const id = toHex(b[idField] as Uint8Array);
      const publisher = toHex(e.clientId);
      const cell: DiscCell = isAd
        ? {
          advert: {
            body: e.body,
            seq: e.seq,
            hubTs: e.hubTs,
            expiresAt: e.hubTs + (b.ttl_sec as number),
            publisher,
          },
          retired: false,
          retiredBy: [],
        }
        : { retired: true, retiredBy: [publisher] };
      s.set(id, mergeCell(s.get(id), cell));
      return "applied";
    },
    toJson: (s) =>
      sortedEntries(s).map(([id, c]) => ({
        id,
        retired: c.retired,
        retired_by: c.retiredBy,
        ...(c.advert === undefined ? {} : {
          advert: {
            body: toHex(c.advert.body),
            seq: c.advert.seq,
            hub_ts: c.advert.hubTs,
            expires_at: c.advert.expiresAt,
            publisher: c.advert.publisher,
          },
        }),
      })),
    fromJson(v) {
      const s: DiscState = new Map();
      for (const x of jsonArray(v, "disc state")) {
        const o = jsonObject(x, "disc cell");
        if (typeof o.retired !== "boolean") damaged("disc cell retired is not a boolean");
        const cell: DiscCell = {
          retired: o.retired as boolean,
          retiredBy: jsonArray(o.retired_by, "retired_by").map((p) => jsonHex(p, "retired_by", 32)),
        };
        if (o.advert !== undefined) {
          const a = jsonObject(o.advert, "advert");
          cell.advert = {
            body: fromHex(jsonHex(a.body, "advert body")),
            seq: jsonUint(a.seq, "advert seq"),
            hubTs: jsonUint(a.hub_ts, "advert hub_ts"),
            expiresAt: jsonUint(a.expires_at, "advert expires_at"),
            publisher: jsonHex(a.publisher, "advert publisher", 32),
          };
        }
        s.set(jsonHex(o.id, "disc id", 32), cell);
      }
      return s;
    },
  };
}

/** A §6.1 filter (kind-specific keys; unknown keys are the caller's usage error). */
export interface DiscFilter {
  region?: string;
  tags_any?: string[];
  overlay_id?: Uint8Array;
  name_prefix?: string;
  method?: string;
  schema?: Uint8Array;
}

function matches(kind: DiscKind, b: BodyRecord, f: DiscFilter): boolean {
  const tags = b.tags as string[];
  if (f.tags_any !== undefined && !f.tags_any.some((t) => tags.includes(t))) return false;
  const has = (list: unknown, x: Uint8Array) => (list as Uint8Array[]).some((y) => bytesEqual(x, y));
  if (kind === "hub") {
    if (f.region !== undefined && b.region !== f.region) return false;
    if (f.overlay_id !== undefined && !has(b.overlays, f.overlay_id)) return false;
  } else if (kind === "overlay") {
    if (f.name_prefix !== undefined && !(b.name as string).startsWith(f.name_prefix)) return false;
    if (f.schema !== undefined && !has(b.schemas, f.schema)) return false;
  } else {
    if (f.name_prefix !== undefined && !(b.name as string).startsWith(f.name_prefix)) return false;
    if (f.method !== undefined && !(b.methods as string[]).includes(f.method)) return false;
    if (f.overlay_id !== undefined && !bytesEqual(b.overlay_id as Uint8Array, f.overlay_id)) return false;
    if (f.region !== undefined && !(b.regions as string[]).includes(f.region)) return false;
  }
  return true;
}

/** One query result: the descriptor and where its advertisement stands. */
export interface DiscResult {
  id: string;
  body: BodyRecord;
  seq: number;
  hubTs: number;
  expiresAt: number;
  publisher: string;
}

/** The live entries matching `f` at `now`, in id order, from `offset`, at most min(limit, 100) (§6.1-6.2). */
export function discQuery(
  kind: DiscKind,
  s: DiscState,
  f: DiscFilter,
  now: number,
  page: { limit?: number; offset?: number } = {},
): { results: DiscResult[]; more: boolean } {
  const limit = Math.min(page.limit ?? DISC_MAX_RESULTS, DISC_MAX_RESULTS);
  const offset = page.offset ?? 0;
  const live: DiscResult[] = [];
  for (const [id, c] of sortedEntries(s)) {
    const a = c.advert;
    if (a === undefined || c.retired || now >= a.expiresAt) continue;
    const body = DISC[kind].advertise.decode(a.body);
    if (!matches(kind, body, f)) continue;
    live.push({ id, body, seq: a.seq, hubTs: a.hubTs, expiresAt: a.expiresAt, publisher: a.publisher });
  }
  return { results: live.slice(offset, offset + limit), more: live.length > offset + limit };
}

/** The recorder and discovery codecs `veen send --body-json` encodes by schema name. */
export const OVERLAY_BODY_CODECS: readonly BodyCodec[] = [
  RECORD_EVENT,
  ...DISC_KINDS.flatMap((k) => [DISC[k].advertise, DISC[k].retire]),
];
