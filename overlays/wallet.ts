/**
 * WAL v0.0.1 (spec 001 lines 4447-5072): wallet identifiers, the nine `wallet.*.v1` bodies and the per-wallet fold.
 *
 * - `wallet_id = Ht("wallet/id", realm_id || ctx_id || ascii(currency))`, its stream
 *   `stream_id_wallet = Ht("wallet/stream", wallet_id)` (001 §2.3, §3.1), and
 *   `transfer_id = Ht("wallet/xfer", label || client_id || u64be(client_seq))` (overlay decisions).
 * - Bodies go through {@link BodyCodec}, keys in the order of 001 §5; optional keys are omitted ("null clears"
 *   means "absent clears" for wallet.limit.v1's daily_limit).
 * - The fold is the reference algorithm of 001 §6 (lines 4813-4909) plus the guards the spec asks verifiers for:
 *   a withdraw or outgoing transfer over the balance, over the daily limit (UTC day `floor(ts / 86400)`), on a
 *   frozen, closed or unopened wallet, an adjust below zero, a second copy of a transfer_id per direction or of a
 *   parent_id (WALBR0) is skipped and recorded as `(stream_seq, WAL.* code)` (overlay decisions). So the balance
 *   never goes below zero. Incoming credit (a transfer whose to_wallet_id is this wallet, for example a copy
 *   mirrored into this wallet's stream) ignores the daily limit and the frozen flag, as the spec's fold does.
 *
 * Summary S: the fold is sequential (every guard reads the running balance), so a range's summary is a state
 * transformer: either the constant "state after folding from the stream start" (`{state}`, O(1) to extend), or
 * the range's events themselves (`{events}`, for a range that does not start at stream_seq 1). merge is function
 * composition: constant·events = constant replayed over the events, events·events = concatenation, anything·constant
 * = that constant. It is associative with identity `{events: []}`; `start()` is the constant of the empty stream.
 */
import {
  bytesEqual,
  type CapToken,
  type CborValue,
  fromHex,
  Ht,
  toHex,
  u64be,
  utf8,
  VeenError,
  verifyCapChain,
} from "../core/mod.ts";
import { BodyCodec, type BodyRecord } from "./body_codec.ts";
import {
  type ApplyResult,
  damaged,
  type Fold,
  jsonArray,
  jsonHex,
  jsonObject,
  jsonUint,
  type OverlayEntry,
} from "./fold.ts";

/** `wallet_id = Ht("wallet/id", realm_id || ctx_id || ascii(currency_code))` (001 §2.3). */
export function walletIdFor(realmId: Uint8Array, ctxId: Uint8Array, currency: string): Uint8Array {
  return Ht("wallet/id", realmId, ctxId, utf8(currency));
}

/** `stream_id_wallet = Ht("wallet/stream", wallet_id)` (001 §3.1). */
export function walletStreamId(walletId: Uint8Array): Uint8Array {
  return Ht("wallet/stream", walletId);
}

/** `transfer_id = Ht("wallet/xfer", label || client_id || u64be(client_seq))` (overlay decisions; 001 line 4690 is circular). */
export function transferIdFor(label: Uint8Array, clientId: Uint8Array, clientSeq: number): Uint8Array {
  return Ht("wallet/xfer", label, clientId, u64be(clientSeq));
}

/** A currency code is printable ASCII without spaces, 1 to 32 characters (001 §2.2 leaves the registry open). */
export function isCurrencyCode(s: string): boolean {
  return /^[\x21-\x7e]{1,32}$/.test(s);
}

const WID = { name: "wallet_id", type: "bytes32" } as const;
const TS = { name: "ts", type: "uint" } as const;
const REF = { name: "ref", type: "bytes", optional: true } as const;

/** The nine wallet schemas, bodies in the key order of 001 §5.1-5.9. */
export const WALLET_BODIES = {
  open: new BodyCodec("wallet.open.v1", [
    WID,
    { name: "realm_id", type: "bytes32" },
    { name: "ctx_id", type: "bytes32" },
    { name: "currency", type: "text" },
    { name: "created_at", type: "uint" },
  ]),
  close: new BodyCodec("wallet.close.v1", [WID, TS]),
  deposit: new BodyCodec("wallet.deposit.v1", [WID, { name: "amount", type: "uint" }, TS, REF]),
  withdraw: new BodyCodec("wallet.withdraw.v1", [WID, { name: "amount", type: "uint" }, TS, REF]),
  transfer: new BodyCodec("wallet.transfer.v1", [
    WID,
    { name: "to_wallet_id", type: "bytes32" },
    { name: "amount", type: "uint" },
    TS,
    { name: "transfer_id", type: "bytes32" },
    { name: "metadata", type: "any", optional: true },
  ]),
  adjust: new BodyCodec("wallet.adjust.v1", [
    WID,
    { name: "delta", type: "any" },
    TS,
    { name: "reason", type: "text" },
    REF,
  ]),
  limit: new BodyCodec("wallet.limit.v1", [WID, { name: "daily_limit", type: "uint", optional: true }, TS]),
  freeze: new BodyCodec("wallet.freeze.v1", [WID, TS, { name: "reason", type: "text", optional: true }]),
  unfreeze: new BodyCodec("wallet.unfreeze.v1", [WID, TS, { name: "reason", type: "text", optional: true }]),
} as const;

export type WalletKind = keyof typeof WALLET_BODIES;
const KINDS = Object.keys(WALLET_BODIES) as WalletKind[];

/** The wallet kind of a payload_hdr.schema, or undefined for any other schema. */
export function walletKindOf(schema: Uint8Array): WalletKind | undefined {
  return KINDS.find((k) => bytesEqual(WALLET_BODIES[k].schemaId, schema));
}

/** Strict decoder of a wallet body of `kind`: the codec's checks, then delta a signed integer, metadata a map. */
export function decodeWalletBody(kind: WalletKind, bytes: Uint8Array): BodyRecord {
  const rec = WALLET_BODIES[kind].decode(bytes);
  checkExtra(kind, rec);
  return rec;
}

/** Encodes a wallet body of `kind` (E.SIZE on any field `decodeWalletBody` would refuse). */
export function encodeWalletBody(kind: WalletKind, rec: Record<string, CborValue | undefined>): Uint8Array {
  const bytes = WALLET_BODIES[kind].encode(rec);
  checkExtra(kind, WALLET_BODIES[kind].decode(bytes));
  return bytes;
}

function checkExtra(kind: WalletKind, rec: BodyRecord): void {
  const name = WALLET_BODIES[kind].name;
  if (kind === "adjust" && (typeof rec.delta !== "number" || !Number.isSafeInteger(rec.delta))) {
    throw new VeenError("E.SIZE", `${name}.delta must be an integer`);
  }
  if (kind === "transfer" && rec.metadata !== undefined && !(rec.metadata instanceof Map)) {
    throw new VeenError("E.SIZE", `${name}.metadata must be a map`);
  }
}

/** The WAL.* codes this implementation records (001 §13 leaves the set to deployments). */
export const WAL_CODES = [
  "WAL.INSUFFICIENT_FUNDS",
  "WAL.FROZEN",
  "WAL.CLOSED",
  "WAL.DAILY_LIMIT_EXCEEDED",
  "WAL.NOT_OPEN",
  "WAL.INVALID_WALLET_ID",
  "WAL.INVALID_CURRENCY",
  "WAL.DUPLICATE",
  "WAL.OVERFLOW",
  "WAL.UNAUTHORIZED_OPERATION",
] as const;
export type WalCode = typeof WAL_CODES[number];

/** One skipped event: its stream_seq and why. */
export interface Violation {
  seq: number;
  code: WalCode;
}

/** The wallet state of 001 §4 plus the dedup sets of §5.5 and §11.4 and the recorded violations. */
export interface WalletState {
  exists: boolean;
  closed: boolean;
  balance: number;
  frozen: boolean;
  dailyLimit: number | null;
  pendingDailySpent: number;
  lastLimitResetTs: number;
  /**
   * The dedup keys seen (001 §5.5, §11.4): `out:` + transfer_id debited (source side), `in:` + transfer_id
   * credited (destination side), `parent:` + parent_id of an applied copy (mirrored or bridged event), ids in hex.
   * A reader with an index (cli/seen_index.ts) holds here only the keys of the entries it is folding.
   */
  seen: Set<string>;
  /** The institution key (hex): the issuer_pk of the cap on the applied wallet.open.v1 (001 §8). */
  institutionPk: string | null;
  violations: Violation[];
}

export function initialWalletState(): WalletState {
  return {
    exists: false,
    closed: false,
    balance: 0,
    frozen: false,
    dailyLimit: null,
    pendingDailySpent: 0,
    lastLimitResetTs: 0,
    seen: new Set(),
    institutionPk: null,
    violations: [],
  };
}

/**
 * One wallet event in stream order: the decoded body of `kind`, for a copy its parent_id, and `authorizedBy`, the
 * issuer_pk of the cap its MSG carried when that cap authorizes the MSG for this wallet ({@link capIssuerFor}).
 */
export interface WalletEvent {
  seq: number;
  kind: WalletKind;
  rec: BodyRecord;
  parentId?: Uint8Array;
  authorizedBy?: Uint8Array;
}

/**
 * The events that need the wallet's institution key (001 §8, §5.6): deposit, adjust, limit, freeze and unfreeze
 * are applied only when their MSG carries a cap issued by the institution key; the wallet.open.v1 names that key
 * (the issuer of the cap on the open's MSG), so an open needs a cap too.
 */
export const PRIVILEGED_KINDS: ReadonlySet<WalletKind> = new Set([
  "open",
  "deposit",
  "adjust",
  "limit",
  "freeze",
  "unfreeze",
]);

/**
 * The issuer_pk a cap_token lends to a MSG on wallet `walletId`'s stream, or undefined when it lends none: every
 * link of its sig_chain verifies under issuer_pk, its subject_pk is the MSG's client_id (the signer) and its
 * allow.stream_ids hold `stream_id_wallet`. Expiry and revocation are the hub's admission (003 §6): a hub that
 * requires admission refuses the MSG itself.
 */
export function capIssuerFor(
  token: CapToken,
  clientId: Uint8Array,
  walletId: Uint8Array,
): Uint8Array | undefined {
  return chainOk(token) ? lends(token, clientId, walletStreamId(walletId)) : undefined;
}

function lends(token: CapToken, clientId: Uint8Array, stream: Uint8Array): Uint8Array | undefined {
  if (!bytesEqual(token.subjectPk, clientId)) return undefined;
  return token.allow.streamIds.some((s) => bytesEqual(s, stream)) ? token.issuerPk : undefined;
}

function chainOk(token: CapToken): boolean {
  try {
    verifyCapChain(token);
    return true;
  } catch {
    return false;
  }
}

/** The cap_token an auth_ref names, as fetched (and checked against the auth_ref) by the reader; undefined if none. */
export type CapLookup = (authRef: Uint8Array) => CapToken | undefined;

/** Who authorized a MSG (its auth_ref and client_id) on one wallet's stream: the lending cap's issuer_pk. */
export type Authorizer = (authRef: Uint8Array, clientId: Uint8Array) => Uint8Array | undefined;

/** {@link capIssuerFor} over `caps` for wallet `walletId`, each (auth_ref, client_id) worked out once. */
export function walletAuthorizer(walletId: Uint8Array, caps: CapLookup): Authorizer {
  const stream = walletStreamId(walletId);
  const memo = new Map<string, Uint8Array | undefined>();
  return (ref, clientId) => {
    const k = toHex(ref) + toHex(clientId);
    if (!memo.has(k)) {
      const t = caps(ref);
      memo.set(k, t !== undefined && chainOk(t) ? lends(t, clientId, stream) : undefined);
    }
    return memo.get(k);
  };
}

/** 001 line 4790: needs_reset is true when the UTC days `floor(ts / 86400)` differ. */
export function needsReset(lastLimitResetTs: number, ts: number): boolean {
  return Math.floor(lastLimitResetTs / 86400) !== Math.floor(ts / 86400);
}

/** A debit (withdraw, outgoing transfer) per 001 §5.4: guards first, state changed only when accepted. */
function debit(s: WalletState, amount: number, ts: number): WalCode | undefined {
  if (!s.exists) return "WAL.NOT_OPEN";
  if (s.closed) return "WAL.CLOSED";
  if (s.frozen) return "WAL.FROZEN";
  let pending = s.pendingDailySpent;
  let last = s.lastLimitResetTs;
  if (s.dailyLimit !== null) {
    if (needsReset(last, ts)) {
      pending = 0;
      last = ts;
    }
    if (amount > s.dailyLimit - pending) return "WAL.DAILY_LIMIT_EXCEEDED";
  }
  if (amount > s.balance) return "WAL.INSUFFICIENT_FUNDS";
  s.balance -= amount;
  if (s.dailyLimit !== null) {
    s.pendingDailySpent = pending + amount;
    s.lastLimitResetTs = last;
  }
  return undefined;
}

/** A credit (deposit, incoming transfer): no limits; a balance beyond 2^53-1 is refused. */
function credit(s: WalletState, amount: number): WalCode | undefined {
  if (!s.exists) return "WAL.NOT_OPEN";
  if (s.closed) return "WAL.CLOSED";
  if (amount > Number.MAX_SAFE_INTEGER - s.balance) return "WAL.OVERFLOW";
  s.balance += amount;
  return undefined;
}

/** Prefixes of the dedup keys in {@link WalletState.seen}. */
const OUT = "out:";
const IN = "in:";
const PARENT = "parent:";

/**
 * The dedup keys `e` may be checked against or add on wallet `walletId` (its parent_id, its transfer_id on the
 * side this wallet is on); none for another schema or a body that does not parse.
 */
export function walletDedupKeys(walletId: Uint8Array, e: OverlayEntry): string[] {
  const keys = e.hdr.parentId === undefined ? [] : [PARENT + toHex(e.hdr.parentId)];
  if (!bytesEqual(e.hdr.schema, WALLET_BODIES.transfer.schemaId)) return keys;
  try {
    const r = decodeWalletBody("transfer", e.body);
    keys.push(
      (bytesEqual(r.wallet_id as Uint8Array, walletId) ? OUT : IN) + toHex(r.transfer_id as Uint8Array),
    );
  } catch {
    // rejected by apply: adds nothing
  }
  return keys;
}

/** What one event did: applied, ignored (another wallet's, or a repeated open), or the code it was skipped with. */
export type StepResult = "applied" | "ignored" | WalCode;

/** WAL.UNAUTHORIZED_OPERATION unless a privileged event is authorized by the wallet's institution key. */
function unauthorized(s: WalletState, ev: WalletEvent): WalCode | undefined {
  if (!PRIVILEGED_KINDS.has(ev.kind) || ev.kind === "open") return undefined;
  const by = ev.authorizedBy;
  return by !== undefined && s.institutionPk === toHex(by) ? undefined : "WAL.UNAUTHORIZED_OPERATION";
}

function stepInner(walletId: Uint8Array, s: WalletState, ev: WalletEvent): StepResult {
  const r = ev.rec;
  const ts = r.ts as number;
  if (ev.kind !== "open" && PRIVILEGED_KINDS.has(ev.kind)) {
    if (!s.exists) return "WAL.NOT_OPEN";
    const code = unauthorized(s, ev);
    if (code !== undefined) return code;
  }
  switch (ev.kind) {
    case "open": {
      const currency = r.currency as string;
      if (!isCurrencyCode(currency)) return "WAL.INVALID_CURRENCY";
      if (!bytesEqual(walletIdFor(r.realm_id as Uint8Array, r.ctx_id as Uint8Array, currency), walletId)) {
        return "WAL.INVALID_WALLET_ID";
      }
      if (s.exists) return "ignored"; // 001 §5.1: a later open MAY be a no-op
      if (ev.authorizedBy === undefined) return "WAL.UNAUTHORIZED_OPERATION";
      Object.assign(s, {
        institutionPk: toHex(ev.authorizedBy),
        exists: true,
        closed: false,
        balance: 0,
        frozen: false,
        dailyLimit: null,
        pendingDailySpent: 0,
        lastLimitResetTs: r.created_at as number,
      });
      return "applied";
    }
    case "close":
      if (!s.exists) return "WAL.NOT_OPEN";
      s.closed = true;
      return "applied";
    case "limit":
      if (r.daily_limit === undefined) s.dailyLimit = null;
      else {
        s.dailyLimit = r.daily_limit as number;
        if (s.lastLimitResetTs === 0) s.lastLimitResetTs = ts;
      }
      return "applied";
    case "freeze":
    case "unfreeze":
      s.frozen = ev.kind === "freeze";
      return "applied";
    case "deposit":
      return credit(s, r.amount as number) ?? "applied";
    case "withdraw":
      return debit(s, r.amount as number, ts) ?? "applied";
    case "transfer": {
      const id = toHex(r.transfer_id as Uint8Array);
      if (bytesEqual(r.wallet_id as Uint8Array, walletId)) {
        if (s.seen.has(OUT + id)) return "WAL.DUPLICATE";
        const code = debit(s, r.amount as number, ts);
        if (code !== undefined) return code;
        s.seen.add(OUT + id);
        return "applied";
      }
      if (s.seen.has(IN + id)) return "WAL.DUPLICATE";
      const code = credit(s, r.amount as number);
      if (code !== undefined) return code;
      s.seen.add(IN + id);
      return "applied";
    }
    case "adjust": {
      if (s.closed) return "WAL.CLOSED";
      const next = s.balance + (r.delta as number);
      if (next < 0) return "WAL.INSUFFICIENT_FUNDS";
      if (!Number.isSafeInteger(next)) return "WAL.OVERFLOW";
      s.balance = next;
      return "applied";
    }
  }
}

/**
 * Folds one event into the state of wallet `walletId`, in place. Events of other wallets are ignored (an incoming
 * transfer names this wallet as to_wallet_id); a violating event leaves the state as it was and is recorded.
 */
export function walletStep(walletId: Uint8Array, s: WalletState, ev: WalletEvent): StepResult {
  const own = bytesEqual(ev.rec.wallet_id as Uint8Array, walletId);
  if (!own && !(ev.kind === "transfer" && bytesEqual(ev.rec.to_wallet_id as Uint8Array, walletId))) {
    return "ignored";
  }
  const parent = ev.parentId === undefined ? undefined : PARENT + toHex(ev.parentId);
  const res: StepResult = parent !== undefined && s.seen.has(parent)
    ? "WAL.DUPLICATE"
    : stepInner(walletId, s, ev);
  if (res === "applied" && parent !== undefined) s.seen.add(parent);
  if (res !== "applied" && res !== "ignored") s.violations.push({ seq: ev.seq, code: res });
  return res;
}

/** The code the fold would skip `ev` with on top of `s`, or undefined when it would apply (the CLI's pre-check). */
export function walletCheck(walletId: Uint8Array, s: WalletState, ev: WalletEvent): WalCode | undefined {
  const res = walletStep(walletId, cloneState(s), ev);
  return res === "applied" || res === "ignored" ? undefined : res;
}

export function cloneState(s: WalletState): WalletState {
  return {
    ...s,
    seen: new Set(s.seen),
    violations: [...s.violations],
  };
}

/** A range summary: the constant state from the stream start, or the events of a range that starts later. */
export type WalletSummary = { state: WalletState } | { events: WalletEvent[] };

/**
 * The wallet event of an entry, "ignored" for other schemas, "rejected" for a body that does not parse. For a
 * privileged kind, `authorizedBy` is the issuer `authorize` answers for the MSG's auth_ref and client_id.
 */
export function walletEventOf(
  e: OverlayEntry,
  authorize?: Authorizer,
): WalletEvent | "ignored" | "rejected" {
  const kind = walletKindOf(e.hdr.schema);
  if (kind === undefined) return "ignored";
  let rec: BodyRecord;
  try {
    rec = decodeWalletBody(kind, e.body);
  } catch {
    return "rejected";
  }
  const ev: WalletEvent = { seq: e.seq, kind, rec };
  if (e.hdr.parentId !== undefined) ev.parentId = e.hdr.parentId;
  if (PRIVILEGED_KINDS.has(kind) && e.authRef != null && authorize !== undefined) {
    const by = authorize(e.authRef, e.clientId);
    if (by !== undefined) ev.authorizedBy = by;
  }
  return ev;
}

function replay(walletId: Uint8Array, s: WalletState, events: readonly WalletEvent[]): WalletState {
  for (const ev of events) walletStep(walletId, s, ev);
  return s;
}

/** The ids (hex) of the keys of `set` with `prefix`, sorted. */
const sorted = (set: Set<string>, prefix: string) =>
  [...set].filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length)).sort();

function stateToJson(s: WalletState): unknown {
  return {
    exists: s.exists,
    closed: s.closed,
    balance: s.balance,
    frozen: s.frozen,
    daily_limit: s.dailyLimit,
    pending_daily_spent: s.pendingDailySpent,
    last_limit_reset_ts: s.lastLimitResetTs,
    seen_out: sorted(s.seen, OUT),
    seen_in: sorted(s.seen, IN),
    seen_parents: sorted(s.seen, PARENT),
    institution_pk: s.institutionPk,
    violations: s.violations.map((v) => [v.seq, v.code]),
  };
}

function jsonBool(v: unknown, what: string): boolean {
  if (typeof v !== "boolean") damaged(`${what} is not a boolean`);
  return v;
}

const hexIds = (v: unknown, what: string, prefix: string) =>
  jsonArray(v, what).map((x) => prefix + jsonHex(x, what, 32));

function stateFromJson(v: unknown): WalletState {
  const o = jsonObject(v, "wallet state");
  const limit = o.daily_limit === null ? null : jsonUint(o.daily_limit, "daily_limit");
  return {
    exists: jsonBool(o.exists, "exists"),
    closed: jsonBool(o.closed, "closed"),
    balance: jsonUint(o.balance, "balance"),
    frozen: jsonBool(o.frozen, "frozen"),
    dailyLimit: limit,
    pendingDailySpent: jsonUint(o.pending_daily_spent, "pending_daily_spent"),
    lastLimitResetTs: jsonUint(o.last_limit_reset_ts, "last_limit_reset_ts"),
    seen: new Set([
      ...hexIds(o.seen_out, "seen_out", OUT),
      ...hexIds(o.seen_in, "seen_in", IN),
      ...hexIds(o.seen_parents, "seen_parents", PARENT),
    ]),
    institutionPk: o.institution_pk === null ? null : jsonHex(o.institution_pk, "institution_pk", 32),
    violations: jsonArray(o.violations, "violations").map((row) => {
      const r = jsonArray(row, "violation");
      if (r.length !== 2 || !(WAL_CODES as readonly unknown[]).includes(r[1])) damaged("violation row");
      return { seq: jsonUint(r[0], "violation seq"), code: r[1] as WalCode };
    }),
  };
}

function eventFromJson(row: unknown): WalletEvent {
  const r = jsonArray(row, "wallet event");
  if (r.length !== 5 || !KINDS.includes(r[1] as WalletKind)) damaged("wallet event row");
  const kind = r[1] as WalletKind;
  let rec: BodyRecord;
  try {
    rec = decodeWalletBody(kind, fromHex(jsonHex(r[2], "wallet event body")));
  } catch {
    return damaged("wallet event body");
  }
  const ev: WalletEvent = { seq: jsonUint(r[0], "wallet event seq"), kind, rec };
  if (r[3] !== null) ev.parentId = fromHex(jsonHex(r[3], "wallet event parent_id", 32));
  if (r[4] !== null) ev.authorizedBy = fromHex(jsonHex(r[4], "wallet event authorized_by", 32));
  return ev;
}

/**
 * The fold of wallet `walletId` over its stream (any number of wallet schemas; other schemas are ignored). `caps`
 * resolves the auth_refs of privileged events; without it no event is authorized (001 §8).
 */
export function walletFold(
  walletId: Uint8Array,
  caps?: CapLookup,
): Fold<WalletSummary> & { start(): WalletSummary } {
  const authorize = caps === undefined ? undefined : walletAuthorizer(walletId, caps);
  return {
    kind: "wallet.v2",
    schema: WALLET_BODIES.open.schemaId,
    empty: () => ({ events: [] }),
    start: () => ({ state: initialWalletState() }),
    dedup: {
      keys: (e) => walletDedupKeys(walletId, e),
      seen: (s) => "state" in s ? s.state.seen : undefined,
    },
    merge(left, right) {
      if ("state" in right) return { state: cloneState(right.state) };
      if ("state" in left) return { state: replay(walletId, cloneState(left.state), right.events) };
      return { events: [...left.events, ...right.events] };
    },
    apply(s, e): ApplyResult {
      const ev = walletEventOf(e, authorize);
      if (typeof ev === "string") return ev;
      if ("events" in s) {
        s.events.push(ev);
        return "applied";
      }
      return walletStep(walletId, s.state, ev) === "ignored" ? "ignored" : "applied";
    },
    toJson(s) {
      if ("state" in s) return { state: stateToJson(s.state) };
      return {
        events: s.events.map((ev) => [
          ev.seq,
          ev.kind,
          toHex(WALLET_BODIES[ev.kind].encode(ev.rec)),
          ev.parentId === undefined ? null : toHex(ev.parentId),
          ev.authorizedBy === undefined ? null : toHex(ev.authorizedBy),
        ]),
      };
    },
    fromJson(v) {
      const o = jsonObject(v, "wallet summary");
      if ("state" in o) return { state: stateFromJson(o.state) };
      return { events: jsonArray(o.events, "wallet events").map(eventFromJson) };
    },
  };
}

/** The state a summary stands for when it starts at the stream start (`{events}` replayed from the initial state). */
export function walletStateOf(walletId: Uint8Array, s: WalletSummary): WalletState {
  return "state" in s ? s.state : replay(walletId, initialWalletState(), s.events);
}
