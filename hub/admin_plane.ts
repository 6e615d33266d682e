/**
 * The admin plane (overlay decisions, "Realm and admin records"): admin records are MSGs on the realm's admin
 * streams, sealed to the realm admin key. At admission, after the signature and capability stages, the hub checks
 * the author, opens the payload, checks that the stream admits the schema, decodes the body and checks its realm
 * (`admit`); once the entry is durable its record is folded into the views before the RECEIPT leaves
 * (`applyCommitted`). Views are persisted in `DIR/views.kv` (hub/view_store.ts); a start reads them and folds only
 * the admin entries after them, and rebuilds them from the admin streams when they are missing or ahead of the log.
 */
import {
  bytesEqual,
  capRoot,
  decodeCapToken,
  decodeMsg,
  DEFAULT_LIMITS,
  encodeCapToken,
  H,
  type Limits,
  Lru,
  type Msg,
  openPayload,
  toHex,
  VeenError,
} from "../core/mod.ts";
import {
  ADMIN_SCHEMAS,
  type AdminRecordEntry,
  type AdminStreamIds,
  type AdminView,
  AuthorityView,
  type BodyCodec,
  GrantView,
  LabelClassView,
  type Revocation,
  RevocationView,
  SchemaView,
  type ViewRow,
} from "../overlays/mod.ts";
import type { Admission } from "./admission.ts";
import { AccessGrants } from "./access_grants.ts";
import { type Author, AuthorsView } from "./admin_authors.ts";
import { Lock } from "./files.ts";
import type { Logger } from "./logger.ts";
import type { Metrics } from "./metrics.ts";
import type { Realm } from "./realm.ts";
import type { HubStore } from "./store.ts";
import type { ViewStore } from "./view_store.ts";

export interface AdminPlaneOptions {
  realm: Realm;
  /** `admin_keys`: client ids (Ed25519) that may write admin records. */
  adminKeys: Uint8Array[];
  hubPk: Uint8Array;
  /** Admission off, no admin keys, loopback listen: any signed admin record is accepted (and logged). */
  openHub: boolean;
  padBlock: number;
  limits?: Limits;
  store: HubStore;
  views: ViewStore;
  admission: Admission;
  log: Logger;
  metrics?: Metrics;
  /** TEST-ONLY config key `unsafe_skip_admin_fold`: label classes, schema records and access grants are not folded. */
  unsafeSkipAdminFold?: boolean;
}

/** An admin record that passed admission, before it has a stream_seq. */
export type AdmittedRecord = Omit<AdminRecordEntry, "seq"> & { author?: Author };

/** Items read per store call while folding an admin stream. */
const FOLD_BATCH = 256;

export class AdminPlane {
  readonly revocations = new RevocationView();
  readonly labelClasses = new LabelClassView();
  readonly schemas = new SchemaView();
  readonly authors = new AuthorsView();
  readonly authority = new AuthorityView();
  readonly grants = new GrantView();
  /** The capability stage of MSGs whose auth_ref is an access grant's (hub/access_grants.ts). */
  readonly accessGrants: AccessGrants;
  readonly #views: AdminView[];
  readonly #upto = new Map<string, number>();
  readonly #lock = new Lock();
  #persistFailed = false;
  /** Set once open() has folded what the store held: only later folds measure revocation lag. */
  #opened = false;
  /** H(CBOR(token)) of a token and of each prefix of its chain, per auth_ref (for cap-token revocations). */
  readonly #tokenHashes = new Lru<Uint8Array[]>(4096);

  private constructor(private readonly o: AdminPlaneOptions) {
    this.accessGrants = new AccessGrants(this.grants, o.realm.routingKey);
    this.#views = o.unsafeSkipAdminFold === true
      ? [this.revocations, this.authority, this.authors]
      : [this.revocations, this.authority, this.grants, this.labelClasses, this.schemas, this.authors];
  }

  /** Loads the persisted views and folds the admin entries committed after them (or all, to rebuild them). */
  static async open(o: AdminPlaneOptions): Promise<AdminPlane> {
    const p = new AdminPlane(o);
    const stored = await o.views.load();
    const labels = o.realm.streams.map((s) => toHex(s.label));
    const ahead = o.realm.streams.some((s) =>
      (stored.upto.get(s.name) ?? 0) > (o.store.head(s.label)?.seq ?? 0)
    );
    const otherRealm = stored.labels === undefined || stored.labels.join() !== labels.join();
    const rebuild = async (reason: string) => {
      o.log.warn("rebuilding the admin views from the admin streams", { reason });
      for (const v of p.#views) v.clear();
      p.#upto.clear();
      await o.views.clear(labels);
    };
    if (ahead) await rebuild("views.kv is ahead of the log");
    else if (otherRealm && stored.upto.size > 0) {
      await rebuild("views.kv was folded for another realm or routing key");
    } else if (otherRealm) await o.views.clear(labels); // a first start: nothing stored yet
    else {
      try {
        for (const v of p.#views) for (const row of stored.rows.get(v.name) ?? []) v.load(row);
        for (const [s, n] of stored.upto) p.#upto.set(s, n);
      } catch (e) {
        if (!(e instanceof VeenError)) throw e;
        await rebuild(`a views.kv row does not decode: ${e.detail}`); // derived state: fold it again
      }
    }
    for (const s of o.realm.streams) await p.foldStored(s);
    for (const a of p.authors.foreign(o.adminKeys, o.hubPk)) {
      o.log.warn("folded admin records come from a key that is not an admin now", {
        client_id: toHex(a.clientId),
        via: a.via,
        root_issuer: a.root === undefined ? null : toHex(a.root),
        records: a.records,
      });
    }
    p.#opened = true;
    return p;
  }

  /** The admin stream of `label`, if it is one of this realm's. */
  adminStreamOf(label: Uint8Array): AdminStreamIds | undefined {
    return this.o.realm.adminStreamOf(label);
  }

  /** Whether `clientId` is in `admin_keys`. */
  isAdminKey(clientId: Uint8Array): boolean {
    return this.o.adminKeys.some((k) => bytesEqual(k, clientId));
  }

  private upto(s: AdminStreamIds): number {
    return this.#upto.get(s.name) ?? 0;
  }

  /**
   * The admin-record stages of /submit for a MSG on admin stream `s` (after its signature and capability were
   * checked): author (E.AUTH), open with the realm admin key (E.AUTH `not sealed to this realm`), schema admitted on
   * this stream (E.SIZE), body decode (E.SIZE), realm_id of the body (E.AUTH), then the record's own rule.
   */
  async admit(msg: Msg, s: AdminStreamIds, now: number): Promise<AdmittedRecord> {
    const author = await this.authorOf(msg.clientId, msg.authRef);
    if (author === undefined) {
      throw new VeenError("E.AUTH", "Admin records need an admin key or a capability rooted in one");
    }
    if (this.o.metrics !== undefined) this.o.metrics.adminRecordOpens++;
    const rec = await this.#open(msg, s);
    if (rec === undefined) throw new VeenError("E.AUTH", "Admin record is not sealed to this realm");
    if (typeof rec === "string") throw new VeenError("E.SIZE", rec);
    const realmId = rec.body.realm_id;
    if (realmId instanceof Uint8Array && !bytesEqual(realmId, this.o.realm.realmId)) {
      throw new VeenError("E.AUTH", `Admin record names realm ${toHex(realmId)}, not this hub's realm`);
    }
    this.#checkRevocation(rec, now);
    this.#checkAuthority(rec);
    rec.author = author;
    if (author.via === "open") {
      this.o.log.warn("admin record accepted from any signer (open hub)", {
        stream: s.name,
        client_id: toHex(msg.clientId),
        schema: rec.codec.name,
      });
    }
    return rec;
  }

  /**
   * Authors: a client id in `admin_keys`, or an admitted cap whose root issuer is an admin key or the hub key; on
   * an open hub anyone. Undefined when `clientId` (signing with `authRef`) may not act as an admin: write admin
   * records or ask for a checkpoint (hub/checkpoint_now.ts).
   */
  async authorOf(clientId: Uint8Array, authRef: Uint8Array | null): Promise<Author | undefined> {
    const admins = this.o.adminKeys;
    if (this.isAdminKey(clientId)) return { clientId, via: "admin_key" };
    if (authRef !== null) {
      const rec = await this.o.admission.record(authRef);
      if (rec !== undefined && bytesEqual(rec.subjectPk, clientId)) {
        const root = decodeCapToken(rec.capToken, Number.MAX_SAFE_INTEGER).issuerPk;
        if (bytesEqual(root, this.o.hubPk) || admins.some((k) => bytesEqual(k, root))) {
          return { clientId, via: "cap", root };
        }
      }
    }
    if (this.o.openHub && admins.length === 0) return { clientId, via: "open" };
    return undefined;
  }

  #open(msg: Msg, s: AdminStreamIds): Promise<AdmittedRecord | string | undefined> {
    return openAdminRecord(msg, s, this.o.realm.adminKey.secrets, this.o.padBlock, this.o.limits);
  }

  /** An authority record naming one of the realm's admin streams is refused (AUTH1 never applies to them; E.AUTH). */
  #checkAuthority(rec: AdmittedRecord): void {
    const streamId = rec.body.stream_id;
    if (rec.codec.name !== "veen.fed.authority.v1" || !(streamId instanceof Uint8Array)) return;
    const s = this.o.realm.streams.find((x) => bytesEqual(x.streamId, streamId));
    if (s !== undefined) {
      throw new VeenError("E.AUTH", `Authority records cannot name admin stream ${s.name}`);
    }
  }

  /** A client-id revocation that would leave no admin key usable is refused (E.AUTH). */
  #checkRevocation(rec: AdmittedRecord, now: number): void {
    if (rec.codec.name !== "veen.revocation.v1" || rec.body.kind !== "client-id") return;
    const admins = this.o.adminKeys;
    const target = rec.body.target as Uint8Array;
    if (!admins.some((k) => bytesEqual(k, target))) return;
    const usable = admins.filter((k) =>
      !bytesEqual(k, target) && !this.revocations.active("client-id", k, now)
    );
    if (usable.length === 0) throw new VeenError("E.AUTH", "Revocation would leave no admin key usable");
  }

  /**
   * Folds a committed admin entry into the views and persists them, in stream order: entries before it that are
   * not folded yet (another submission's, still on its way) are read from the store and folded first.
   */
  applyCommitted(s: AdminStreamIds, seq: number, rec: AdmittedRecord): Promise<void> {
    return this.#lock.run(async () => {
      if (seq <= this.upto(s)) return;
      if (seq > this.upto(s) + 1) await this.#catchUp(s, seq - 1);
      await this.#fold(s, { ...rec, seq });
    });
  }

  /**
   * Folds the entries of admin stream `s` that the store holds beyond the views, reading them from the store: a
   * tenant hub's admin entries arrive by replication (hub/replication.ts), not through `admit`.
   */
  foldStored(s: AdminStreamIds): Promise<void> {
    return this.#lock.run(async () => {
      const head = this.o.store.head(s.label)?.seq ?? 0;
      if (head > this.upto(s)) await this.#catchUp(s, head);
    });
  }

  async #fold(s: AdminStreamIds, e: AdminRecordEntry & { author?: Author }): Promise<void> {
    const rows: { view: string; row: ViewRow }[] = [];
    for (const v of this.#views) for (const row of v.apply(e)) rows.push({ view: v.name, row });
    this.#upto.set(s.name, e.seq);
    if (this.#opened && e.codec.name === "veen.revocation.v1" && typeof e.body.ts === "number") {
      this.o.metrics?.revocationLag.observe(Math.max(0, Date.now() - e.body.ts * 1000));
    }
    await this.#persist(rows, s.name, e.seq);
  }

  /**
   * Writes changed rows. The entry is durable in the log already, so a failed write does not fail the submission:
   * the views in memory are right, and persisting stops so that `views.kv` stays a prefix of the log, which the
   * next start folds forward from.
   */
  async #persist(rows: { view: string; row: ViewRow }[], stream: string, upto: number): Promise<void> {
    if (this.#persistFailed) return;
    try {
      await this.o.views.write(rows, stream, upto);
    } catch (e) {
      this.#persistFailed = true;
      this.o.log.error("admin views could not be persisted; the next start folds them again from the log", {
        error: String(e),
      });
    }
  }

  /** Folds the entries of `s` after the persisted ones up to `to` (reading only those). */
  async #catchUp(s: AdminStreamIds, to: number): Promise<void> {
    while (this.upto(s) < to) {
      const from = this.upto(s) + 1;
      const notRetained = () =>
        new VeenError(
          "E.UNAVAILABLE",
          `Admin stream ${s.name} entry ${from} is not retained, so its views cannot be rebuilt; restore ` +
            `views.kv from a backup`,
        );
      const items = await this.o.store.readRange(s.label, from, to, FOLD_BATCH).catch((e) => {
        throw e instanceof VeenError && e.code === "E.NOT_FOUND" ? notRetained() : e;
      });
      if (items.length === 0 || items[0]!.streamSeq !== from) throw notRetained();
      for (const it of items) {
        const msg = decodeMsg(it.msg, Number.MAX_SAFE_INTEGER);
        const rec = await this.#open(msg, s);
        if (rec === undefined || typeof rec === "string") {
          this.o.log.warn("admin entry skipped while folding", {
            stream: s.name,
            stream_seq: it.streamSeq,
            reason: rec ?? "not sealed to this realm",
          });
          this.#upto.set(s.name, it.streamSeq);
          await this.#persist([], s.name, it.streamSeq);
          continue;
        }
        const author = await this.authorOf(msg.clientId, msg.authRef) ??
          { clientId: msg.clientId, via: "unknown" as const };
        await this.#fold(s, { ...rec, author, seq: it.streamSeq });
      }
    }
  }

  /**
   * The revocation in force for a submission at `now` (KEX1+ §4.3): of its client_id, of its auth_ref, or of its
   * capability token (`H(CBOR(cap_token))` of the token or of a prefix of its chain, or its cap root). A token found
   * revoked also revokes its cap root from then on (persisted), which covers the chain's other prefixes.
   */
  async revocationFor(
    clientId: Uint8Array,
    authRef: Uint8Array | null,
    now: number,
  ): Promise<Revocation | undefined> {
    const v = this.revocations;
    if (v.size === 0) return undefined;
    const byClient = v.active("client-id", clientId, now);
    if (byClient !== undefined || authRef === null) return byClient;
    return v.active("auth-ref", authRef, now) ?? await this.#tokenRevocation(authRef, now);
  }

  async #tokenRevocation(authRef: Uint8Array, now: number): Promise<Revocation | undefined> {
    const rec = await this.o.admission.record(authRef);
    if (rec === undefined) return undefined;
    const byRoot = this.revocations.active("cap-root", rec.capRoot, now);
    if (byRoot !== undefined) return byRoot;
    for (const h of this.#hashesOf(toHex(authRef), rec.capToken)) {
      const r = this.revocations.active("cap-token", h, now);
      if (r === undefined) continue;
      await this.#lock.run(async () => {
        const rows = this.revocations.revokeRoot(rec.capRoot, r).map((row) => ({
          view: this.revocations.name,
          row,
        }));
        const s = this.o.realm.streams.find((x) => x.name === "revocation")!;
        if (rows.length > 0) await this.#persist(rows, s.name, this.upto(s));
      });
      return r;
    }
    return undefined;
  }

  /** The revocation of a cap token about to be authorized (by its hash, a prefix's, or its root), if any. */
  tokenRevoked(tokenBytes: Uint8Array, now: number): Revocation | undefined {
    if (this.revocations.size === 0) return undefined;
    const t = decodeCapToken(tokenBytes, Number.MAX_SAFE_INTEGER);
    const byRoot = this.revocations.active("cap-root", capRoot(t), now);
    if (byRoot !== undefined) return byRoot;
    for (const h of prefixHashes(tokenBytes)) {
      const r = this.revocations.active("cap-token", h, now);
      if (r !== undefined) return r;
    }
    return undefined;
  }

  #hashesOf(key: string, tokenBytes: Uint8Array): Uint8Array[] {
    let hs = this.#tokenHashes.get(key);
    if (hs === undefined) {
      hs = prefixHashes(tokenBytes);
      this.#tokenHashes.set(key, hs);
    }
    return hs;
  }
}

/** `H(CBOR(token))` of a cap token and of each shorter prefix of its sig_chain. */
export function prefixHashes(tokenBytes: Uint8Array): Uint8Array[] {
  const t = decodeCapToken(tokenBytes, Number.MAX_SAFE_INTEGER);
  const out: Uint8Array[] = [H(tokenBytes)];
  for (let n = t.sigChain.length - 1; n >= 1; n--) {
    out.push(H(encodeCapToken({ ...t, sigChain: t.sigChain.slice(0, n) })));
  }
  return out;
}

/**
 * Opens an admin MSG of admin stream `s` with the realm admin secrets: the decoded record; a string naming what is
 * wrong with a payload that opened (the stream does not admit its schema, or its body does not decode: E.SIZE at
 * admission); undefined when no secret opens it. Shared by admission, the start-up fold and fsck.
 */
export async function openAdminRecord(
  msg: Msg,
  s: Pick<AdminStreamIds, "name">,
  secrets: readonly Uint8Array[],
  padBlock: number,
  limits: Limits = DEFAULT_LIMITS,
): Promise<AdmittedRecord | string | undefined> {
  const ctx = {
    profileId: msg.profileId,
    label: msg.label,
    clientId: msg.clientId,
    clientSeq: msg.clientSeq,
    prevAck: msg.prevAck,
    authRef: msg.authRef,
    padBlock,
  };
  for (const recipientSk of secrets) {
    let opened;
    try {
      opened = await openPayload({ ctx, recipientSk, ciphertext: msg.ciphertext, limits });
    } catch (e) {
      if (!(e instanceof VeenError)) throw e;
      if (e.code === "E.AUTH") continue;
      return `Admin record payload is malformed: ${e.detail}`;
    }
    const codec: BodyCodec | undefined = ADMIN_SCHEMAS[s.name].find((c) =>
      bytesEqual(c.schemaId, opened.hdr.schema)
    );
    if (codec === undefined) {
      return `Schema ${toHex(opened.hdr.schema)} is not admitted on admin stream ${s.name}`;
    }
    try {
      return { stream: s.name, codec, body: codec.decode(opened.body) };
    } catch (e) {
      if (e instanceof VeenError) return e.detail;
      throw e;
    }
  }
  return undefined;
}
