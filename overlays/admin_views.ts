/**
 * The folds of the admin streams that a hub enforces (overlay decisions, "Realm and admin records"): revocations
 * (KEX1+ §4.3), label classes (LCLASS0) and the schema registry (META0+). Each view is a map of rows; applying a
 * record in stream order returns the rows it changed, which the hub persists, and `load` puts a persisted row back,
 * so a restart reads the rows and only the admin entries after them. Lookups are O(1).
 */
import { type CborValue, fromHex, toHex } from "../core/mod.ts";
import {
  type AdminStreamName,
  FED_AUTHORITY,
  LABEL_CLASS,
  META_SCHEMA,
  REVOCATION,
  type RevocationKind,
} from "./admin_records.ts";
import type { BodyCodec, BodyRecord } from "./body_codec.ts";

/** An admin record as a view sees it: the body decoded by `codec`, at `seq` of its admin stream. */
export interface AdminRecordEntry {
  stream: AdminStreamName;
  seq: number;
  codec: BodyCodec;
  body: BodyRecord;
}

/** A persisted row: its key within the view and its CBOR value. */
export type ViewRow = [key: string, value: CborValue];

export interface AdminView {
  /** The view's name in the view store and on routes. */
  readonly name: string;
  readonly stream: AdminStreamName;
  /** Folds one record (in stream order); returns the rows it changed. */
  apply(e: AdminRecordEntry): ViewRow[];
  /** Puts back a row `apply` returned earlier. */
  load(row: ViewRow): void;
  /** Forgets every row (the view is then rebuilt from its stream). */
  clear(): void;
}

// ---- revocations ----

export interface Revocation {
  kind: RevocationKind;
  target: Uint8Array;
  reason?: string;
  ts: number;
  ttl?: number;
  /** stream_seq of the record on stream_revocation. */
  seq: number;
}

/** `[ts, ttl)` or from ts on without ttl (KEX1+ §4.3). */
export function revocationActive(r: Pick<Revocation, "ts" | "ttl">, now: number): boolean {
  return now >= r.ts && (r.ttl === undefined || now < r.ts + r.ttl);
}

const revocationRow = (r: Revocation): CborValue => [r.ts, r.ttl ?? null, r.reason ?? null, r.seq];

/**
 * Revocations by (kind, target). Records are never removed: a target revoked twice keeps both intervals, and it is
 * revoked at `now` while any of them is active. `cap-token` revocations name `H(CBOR(cap_token))`; the hub also
 * keeps the cap roots (core capRoot) it has seen under a revoked token, so that a token sharing the root (a prefix
 * or an extension of the chain) is revoked with it (rows of kind `cap-root`).
 */
export class RevocationView implements AdminView {
  readonly name = "revocations";
  readonly stream = "revocation";
  #rows = new Map<string, Revocation[]>();

  get size(): number {
    return this.#rows.size;
  }

  apply(e: AdminRecordEntry): ViewRow[] {
    if (e.codec !== REVOCATION) return [];
    const b = e.body;
    const r: Revocation = {
      kind: b.kind as RevocationKind,
      target: b.target as Uint8Array,
      ts: b.ts as number,
      seq: e.seq,
      ...(b.reason === undefined ? {} : { reason: b.reason as string }),
      ...(b.ttl === undefined ? {} : { ttl: b.ttl as number }),
    };
    return [this.#add(`${r.kind}/${toHex(r.target)}`, r)];
  }

  #add(key: string, r: Revocation): ViewRow {
    const list = this.#rows.get(key) ?? [];
    list.push(r);
    this.#rows.set(key, list);
    return [key, list.map(revocationRow)];
  }

  load([key, value]: ViewRow): void {
    const [kind, hex] = key.split("/") as [RevocationKind, string];
    const target = fromHex(hex, 32, "revocation target");
    this.#rows.set(
      key,
      (value as CborValue[][]).map(([ts, ttl, reason, seq]) => ({
        kind,
        target,
        ts: ts as number,
        seq: seq as number,
        ...(ttl === null ? {} : { ttl: ttl as number }),
        ...(reason === null ? {} : { reason: reason as string }),
      })),
    );
  }

  clear(): void {
    this.#rows.clear();
  }

  /** The active revocation of (kind, target) at `now` (the latest-starting one), if any. O(records of target). */
  active(kind: RevocationKind | "cap-root", target: Uint8Array, now: number): Revocation | undefined {
    if (this.#rows.size === 0) return undefined;
    let best: Revocation | undefined;
    for (const r of this.#rows.get(`${kind}/${toHex(target)}`) ?? []) {
      if (revocationActive(r, now) && (best === undefined || r.ts > best.ts)) best = r;
    }
    return best;
  }

  /**
   * Records that the cap root `root` is revoked by revocation `r` (a token of that root was found revoked); returns
   * the row to persist, or nothing when that is known already.
   */
  revokeRoot(root: Uint8Array, r: Revocation): ViewRow[] {
    const key = `cap-root/${toHex(root)}`;
    if ((this.#rows.get(key) ?? []).some((x) => x.seq === r.seq)) return [];
    return [this.#add(key, { ...r, kind: "cap-token" })];
  }

  /** Every revocation record (not the derived cap roots), in stream order. O(records). */
  list(): Revocation[] {
    const out: Revocation[] = [];
    for (const [k, rs] of this.#rows) if (!k.startsWith("cap-root/")) out.push(...rs);
    return out.sort((a, b) => a.seq - b.seq);
  }
}

// ---- label classes ----

export interface LabelClass {
  label: Uint8Array;
  class: string;
  sensitivity?: string;
  retentionHint?: number;
  seq: number;
}

/**
 * A view keyed by one `bytes32` field of its records where the last record in stream order wins (label classes,
 * the schema registry). A persisted row is `[stream_seq, body bytes]`: the record itself, read back through its
 * codec, so the row format is the wire format.
 */
class LastRecordView<T extends { seq: number }> implements AdminView {
  #rows = new Map<string, T>();

  constructor(
    readonly name: string,
    readonly stream: AdminStreamName,
    private readonly codec: BodyCodec,
    private readonly keyField: string,
    private readonly fromBody: (b: BodyRecord, seq: number) => T,
  ) {}

  get size(): number {
    return this.#rows.size;
  }

  apply(e: AdminRecordEntry): ViewRow[] {
    if (e.codec !== this.codec) return [];
    const key = toHex(e.body[this.keyField] as Uint8Array);
    this.#rows.set(key, this.fromBody(e.body, e.seq));
    return [[key, [e.seq, this.codec.encode(e.body)]]];
  }

  load([key, v]: ViewRow): void {
    const [seq, body] = v as [number, Uint8Array];
    this.#rows.set(key, this.fromBody(this.codec.decode(body), seq));
  }

  clear(): void {
    this.#rows.clear();
  }

  /** The record keyed by `id`. O(1). */
  get(id: Uint8Array): T | undefined {
    return this.#rows.get(toHex(id));
  }

  /** Every record, in stream order. */
  list(): T[] {
    return [...this.#rows.values()].sort((a, b) => a.seq - b.seq);
  }
}

/** Label classes by label (LCLASS0): the last record in stream order wins. */
export class LabelClassView extends LastRecordView<LabelClass> {
  constructor() {
    super("label_classes", "label_class", LABEL_CLASS, "label", (b, seq) => ({
      label: b.label as Uint8Array,
      class: b.class as string,
      seq,
      ...(b.sensitivity === undefined ? {} : { sensitivity: b.sensitivity as string }),
      ...(b.retention_hint === undefined ? {} : { retentionHint: b.retention_hint as number }),
    }));
  }
}

// ---- schema registry ----

export interface SchemaDescriptor {
  schemaId: Uint8Array;
  name: string;
  version: string;
  docUrl?: string;
  owner?: Uint8Array;
  ts: number;
  seq: number;
}

/** Schema descriptors by schema_id (META0+): the last record in stream order wins. */
export class SchemaView extends LastRecordView<SchemaDescriptor> {
  constructor() {
    super("schemas", "schema_meta", META_SCHEMA, "schema_id", (b, seq) => ({
      schemaId: b.schema_id as Uint8Array,
      name: b.name as string,
      version: b.version as string,
      ts: b.ts as number,
      seq,
      ...(b.doc_url === undefined ? {} : { docUrl: b.doc_url as string }),
      ...(b.owner === undefined ? {} : { owner: b.owner as Uint8Array }),
    }));
  }
}

// ---- federation authority ----

export type AuthorityPolicy = "single-primary" | "multi-primary";

export interface AuthorityRecord {
  realmId: Uint8Array;
  streamId: Uint8Array;
  primaryHub: Uint8Array;
  replicaHubs: Uint8Array[];
  policy: AuthorityPolicy;
  ts: number;
  ttl: number;
  /** stream_seq of the record on stream_fed_admin. */
  seq: number;
}

/** `ts <= now < ts + ttl` (FED1 §2.2). */
export function authorityActive(r: Pick<AuthorityRecord, "ts" | "ttl">, now: number): boolean {
  return r.ts <= now && now < r.ts + r.ttl;
}

/** Precedence among active records (overlay decisions "FED1 / AUTH1"): ts descending, then primary_hub ascending. */
function decidesBefore(a: AuthorityRecord, b: AuthorityRecord): boolean {
  if (a.ts !== b.ts) return a.ts > b.ts;
  for (let i = 0; i < 32; i++) {
    if (a.primaryHub[i] !== b.primaryHub[i]) return a.primaryHub[i]! < b.primaryHub[i]!;
  }
  return a.seq > b.seq;
}

const authorityRow = (r: AuthorityRecord): CborValue => [
  r.realmId,
  r.streamId,
  r.primaryHub,
  r.replicaHubs,
  r.policy,
  r.ts,
  r.ttl,
  r.seq,
];

/**
 * `veen.fed.authority.v1` records by stream_id (FED1 §2.4; the realm is the hub's, checked at admission). Every
 * record is kept: at any time the newest active one decides (`deciding`), and when it expires the next newest
 * active one does, so the view also answers which record decided at a past time (replication checks the record
 * deciding at a RECEIPT's hub_ts).
 */
export class AuthorityView implements AdminView {
  readonly name = "authority";
  readonly stream = "fed_admin";
  #rows = new Map<string, AuthorityRecord[]>();
  #streamsVersion = 0;

  get size(): number {
    return this.#rows.size;
  }

  /** Moves whenever the set of streams changes (a first record for a stream, a load, a clear): label indexes follow it. */
  get streamsVersion(): number {
    return this.#streamsVersion;
  }

  /** The stream ids that have at least one record. */
  streamIds(): Uint8Array[] {
    return [...this.#rows.values()].map((l) => l[0]!.streamId);
  }

  apply(e: AdminRecordEntry): ViewRow[] {
    if (e.codec !== FED_AUTHORITY) return [];
    const b = e.body;
    const r: AuthorityRecord = {
      realmId: b.realm_id as Uint8Array,
      streamId: b.stream_id as Uint8Array,
      primaryHub: b.primary_hub as Uint8Array,
      replicaHubs: b.replica_hubs as Uint8Array[],
      policy: b.policy as AuthorityPolicy,
      ts: b.ts as number,
      ttl: b.ttl as number,
      seq: e.seq,
    };
    const key = toHex(r.streamId);
    const list = this.#rows.get(key) ?? [];
    if (list.length === 0) this.#streamsVersion++;
    list.push(r);
    this.#rows.set(key, list);
    return [[key, list.map(authorityRow)]];
  }

  load([key, v]: ViewRow): void {
    this.#streamsVersion++;
    this.#rows.set(
      key,
      (v as CborValue[][]).map(([realmId, streamId, primaryHub, replicaHubs, policy, ts, ttl, seq]) => ({
        realmId: realmId as Uint8Array,
        streamId: streamId as Uint8Array,
        primaryHub: primaryHub as Uint8Array,
        replicaHubs: replicaHubs as Uint8Array[],
        policy: policy as AuthorityPolicy,
        ts: ts as number,
        ttl: ttl as number,
        seq: seq as number,
      })),
    );
  }

  clear(): void {
    this.#streamsVersion++;
    this.#rows.clear();
  }

  /** The record deciding the authority of `streamId` at `now`, if any. O(records of the stream). */
  deciding(streamId: Uint8Array, now: number): AuthorityRecord | undefined {
    if (this.#rows.size === 0) return undefined;
    let best: AuthorityRecord | undefined;
    for (const r of this.#rows.get(toHex(streamId)) ?? []) {
      if (authorityActive(r, now) && (best === undefined || decidesBefore(r, best))) best = r;
    }
    return best;
  }

  /** Every record, in stream order. */
  list(): AuthorityRecord[] {
    return [...this.#rows.values()].flat().sort((a, b) => a.seq - b.seq);
  }
}
