import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  authRef,
  type CapToken,
  type CborValue,
  H,
  issueCapToken,
  signingKeyFromSeed,
  toHex,
  u64be,
  utf8,
} from "../core/mod.ts";
import { prng } from "../tests/util.ts";
import { foldRange, type OverlayEntry, rangeMonoid } from "./fold.ts";
import { assertSpecOrder, throwsSize } from "./testing/bodies.ts";
import { checkMergeLaws, entry } from "./testing/laws.ts";
import {
  decodeWalletBody,
  encodeWalletBody,
  initialWalletState,
  needsReset,
  PRIVILEGED_KINDS,
  transferIdFor,
  WALLET_BODIES,
  walletCheck,
  type WalletEvent,
  walletFold,
  walletIdFor,
  type WalletKind,
  type WalletState,
  walletStateOf,
  walletStep,
  walletStreamId,
} from "./wallet.ts";

/** Independent SHA-256 of `tag || 0x00 || parts` (node:crypto, not core/sha256). */
const htRef = (tag: string, ...parts: Uint8Array[]) => {
  const h = createHash("sha256");
  h.update(utf8(tag));
  h.update(new Uint8Array([0]));
  for (const p of parts) h.update(p);
  return h.digest("hex");
};

const REALM = new Uint8Array(32).fill(0xaa);
const CTX = new Uint8Array(32).fill(0xbb);
const W = walletIdFor(REALM, CTX, "USD");
const OTHER = walletIdFor(REALM, new Uint8Array(32).fill(0xcc), "USD");
const DAY = 86400;

Deno.test("wallet ids: wallet_id, stream_id_wallet and transfer_id against an independent SHA-256", () => {
  assert.equal(toHex(W), htRef("wallet/id", REALM, CTX, utf8("USD")));
  assert.equal(toHex(walletStreamId(W)), htRef("wallet/stream", W));
  const label = new Uint8Array(32).fill(3);
  const cid = new Uint8Array(32).fill(4);
  assert.equal(toHex(transferIdFor(label, cid, 7)), htRef("wallet/xfer", label, cid, u64be(7)));
  assert.notEqual(toHex(walletIdFor(REALM, CTX, "EUR")), toHex(W));
  for (const k of Object.keys(WALLET_BODIES) as WalletKind[]) {
    assert.equal(toHex(WALLET_BODIES[k].schemaId), toHex(H(utf8(`wallet.${k}.v1`))));
  }
});

/** A full body of every schema, keys in 001 §5's order. */
const BODIES: Record<WalletKind, [Record<string, CborValue>, string[]]> = {
  open: [{ wallet_id: W, realm_id: REALM, ctx_id: CTX, currency: "USD", created_at: 5 }, [
    "wallet_id",
    "realm_id",
    "ctx_id",
    "currency",
    "created_at",
  ]],
  close: [{ wallet_id: W, ts: 1 }, ["wallet_id", "ts"]],
  deposit: [{ wallet_id: W, amount: 3, ts: 1, ref: utf8("r") }, ["wallet_id", "amount", "ts", "ref"]],
  withdraw: [{ wallet_id: W, amount: 3, ts: 1, ref: utf8("r") }, ["wallet_id", "amount", "ts", "ref"]],
  transfer: [
    {
      wallet_id: W,
      to_wallet_id: OTHER,
      amount: 3,
      ts: 1,
      transfer_id: new Uint8Array(32).fill(9),
      metadata: new Map([["a", 1]]),
    },
    ["wallet_id", "to_wallet_id", "amount", "ts", "transfer_id", "metadata"],
  ],
  adjust: [{ wallet_id: W, delta: -4, ts: 1, reason: "fix", ref: utf8("r") }, [
    "wallet_id",
    "delta",
    "ts",
    "reason",
    "ref",
  ]],
  limit: [{ wallet_id: W, daily_limit: 10, ts: 1 }, ["wallet_id", "daily_limit", "ts"]],
  freeze: [{ wallet_id: W, ts: 1, reason: "x" }, ["wallet_id", "ts", "reason"]],
  unfreeze: [{ wallet_id: W, ts: 1, reason: "x" }, ["wallet_id", "ts", "reason"]],
};

Deno.test("wallet bodies: the nine schemas in spec key order, strict decoding", () => {
  for (
    const [k, [rec, order]] of Object.entries(BODIES) as [WalletKind, [Record<string, CborValue>, string[]]][]
  ) {
    const bytes = encodeWalletBody(k, rec);
    // wallet_id sorts last in RFC 8949 order for every schema with more than one other key of the same length.
    const canonicalSame = k === "close" || k === "freeze" || k === "unfreeze" || k === "limit";
    if (!canonicalSame) assertSpecOrder(bytes, order, (b) => decodeWalletBody(k, b));
    const back = decodeWalletBody(k, bytes);
    assert.deepEqual(Object.keys(back), order);
  }
  throwsSize(() => encodeWalletBody("adjust", { wallet_id: W, delta: "1", ts: 1, reason: "" }), /delta/);
  throwsSize(() => encodeWalletBody("deposit", { wallet_id: W, amount: -1, ts: 1 }), /amount/);
  throwsSize(() => encodeWalletBody("limit", { wallet_id: W, ts: 1, extra: 1 }), /no field "extra"/);
  throwsSize(() => encodeWalletBody("close", { wallet_id: W.subarray(1), ts: 1 }), /32-byte/);
  throwsSize(
    () => encodeWalletBody("transfer", { ...BODIES.transfer[0], metadata: [1] }),
    /metadata must be a map/,
  );
  // "null clears" is "absent clears": a limit without daily_limit.
  assert.deepEqual(
    Object.keys(decodeWalletBody("limit", encodeWalletBody("limit", { wallet_id: W, ts: 1 }))),
    [
      "wallet_id",
      "ts",
    ],
  );
});

let n = 0;
/** The institution key every privileged test event is authorized by (the issuer of the open's cap). */
const INST = new Uint8Array(32).fill(0x1e);
const ev = (kind: WalletKind, rec: Record<string, CborValue>, parentId?: Uint8Array): WalletEvent => ({
  seq: ++n,
  kind,
  rec: { wallet_id: W, ...rec },
  ...(parentId === undefined ? {} : { parentId }),
  ...(PRIVILEGED_KINDS.has(kind) ? { authorizedBy: INST } : {}),
});
const open = (t = 1) => ev("open", { realm_id: REALM, ctx_id: CTX, currency: "USD", created_at: t });
const xfer = (amount: number, id: number, ts = 1, from = W, to = OTHER) =>
  ev("transfer", { wallet_id: from, to_wallet_id: to, amount, ts, transfer_id: new Uint8Array(32).fill(id) });

function run(events: WalletEvent[]): { s: WalletState; res: string[] } {
  const s = initialWalletState();
  return { s, res: events.map((e) => walletStep(W, s, e)) };
}

Deno.test("wallet fold: overdraft, frozen, closed and unopened events are skipped and recorded with their seq", () => {
  n = 0;
  const { s, res } = run([
    ev("deposit", { amount: 5, ts: 1 }), // 1: not open
    open(), // 2
    ev("deposit", { amount: 100, ts: 1 }), // 3
    ev("withdraw", { amount: 101, ts: 1 }), // 4: insufficient
    ev("withdraw", { amount: 100, ts: 1 }), // 5: exactly the balance
    ev("deposit", { amount: 50, ts: 1 }), // 6
    ev("freeze", { ts: 1 }), // 7
    ev("withdraw", { amount: 1, ts: 1 }), // 8: frozen
    xfer(1, 1), // 9: frozen
    ev("deposit", { amount: 10, ts: 1 }), // 10: deposits still land while frozen (001 §6)
    ev("unfreeze", { ts: 1 }), // 11
    ev("adjust", { delta: -61, ts: 1, reason: "x" }), // 12: below zero
    ev("adjust", { delta: -60, ts: 1, reason: "x" }), // 13: to zero
    ev("close", { ts: 1 }), // 14
    ev("deposit", { amount: 1, ts: 1 }), // 15: closed
    ev("deposit", { wallet_id: OTHER, amount: 1, ts: 1 }), // 16: another wallet's
  ]);
  assert.deepEqual(res, [
    "WAL.NOT_OPEN",
    "applied",
    "applied",
    "WAL.INSUFFICIENT_FUNDS",
    "applied",
    "applied",
    "applied",
    "WAL.FROZEN",
    "WAL.FROZEN",
    "applied",
    "applied",
    "WAL.INSUFFICIENT_FUNDS",
    "applied",
    "applied",
    "WAL.CLOSED",
    "ignored",
  ]);
  assert.equal(s.balance, 0);
  assert.equal(s.closed, true);
  assert.deepEqual(s.violations.map((v) => [v.seq, v.code]), [
    [1, "WAL.NOT_OPEN"],
    [4, "WAL.INSUFFICIENT_FUNDS"],
    [8, "WAL.FROZEN"],
    [9, "WAL.FROZEN"],
    [12, "WAL.INSUFFICIENT_FUNDS"],
    [15, "WAL.CLOSED"],
  ]);
});

Deno.test("wallet fold: daily limit, exactly reached, UTC day rollover, incoming credit ignores limit and freeze", () => {
  n = 0;
  const t0 = 10 * DAY + 100; // created mid-day
  const { s, res } = run([
    open(t0),
    ev("deposit", { amount: 1000, ts: t0 }),
    ev("limit", { daily_limit: 50, ts: t0 }),
    ev("withdraw", { amount: 40, ts: t0 + 1 }),
    xfer(10, 1, t0 + 2), // exactly the limit: 40 + 10 = 50
    ev("withdraw", { amount: 1, ts: 11 * DAY - 1 }), // last second of the same UTC day
    ev("withdraw", { amount: 50, ts: 11 * DAY }), // first second of the next day: reset
    ev("freeze", { ts: 11 * DAY }),
    xfer(500, 2, 11 * DAY, OTHER, W), // incoming: neither limit nor freeze apply
    ev("unfreeze", { ts: 11 * DAY }),
    ev("limit", { ts: 11 * DAY }), // absent clears
    ev("withdraw", { amount: 600, ts: 11 * DAY }),
  ]);
  assert.deepEqual(res, [
    "applied",
    "applied",
    "applied",
    "applied",
    "applied",
    "WAL.DAILY_LIMIT_EXCEEDED",
    "applied",
    "applied",
    "applied",
    "applied",
    "applied",
    "applied",
  ]);
  assert.equal(s.balance, 1000 - 40 - 10 - 50 + 500 - 600);
  assert.equal(s.dailyLimit, null);
  assert.equal(s.pendingDailySpent, 50);
  assert.equal(needsReset(11 * DAY - 1, 11 * DAY), true);
  assert.equal(needsReset(10 * DAY, 11 * DAY - 1), false);
});

Deno.test("wallet fold: a transfer_id counts once per direction; a copy counts once per parent_id", () => {
  n = 0;
  const p = new Uint8Array(32).fill(0x77);
  const { s, res } = run([
    open(),
    ev("deposit", { amount: 100, ts: 1 }),
    xfer(30, 1),
    xfer(30, 1), // the same transfer again: not debited twice
    xfer(5, 2, 1, OTHER, W),
    xfer(5, 2, 1, OTHER, W), // the same credit mirrored twice
    ev("deposit", { amount: 7, ts: 1 }, p),
    ev("deposit", { amount: 7, ts: 1 }, p), // a bridged duplicate (WALBR0 §11.4)
  ]);
  assert.deepEqual(res.slice(2), [
    "applied",
    "WAL.DUPLICATE",
    "applied",
    "WAL.DUPLICATE",
    "applied",
    "WAL.DUPLICATE",
  ]);
  assert.equal(s.balance, 100 - 30 + 5 + 7);
  // walletCheck predicts without changing the state.
  const before = JSON.stringify(walletFold(W).toJson({ state: s }));
  assert.equal(walletCheck(W, s, ev("withdraw", { amount: 83, ts: 1 })), "WAL.INSUFFICIENT_FUNDS");
  assert.equal(walletCheck(W, s, ev("withdraw", { amount: 82, ts: 1 })), undefined);
  assert.equal(JSON.stringify(walletFold(W).toJson({ state: s })), before);
});

Deno.test("wallet fold: an open whose wallet_id is not derived from its fields is refused", () => {
  n = 0;
  const { s, res } = run([
    ev("open", { realm_id: REALM, ctx_id: CTX, currency: "EUR", created_at: 1 }),
    ev("open", { realm_id: REALM, ctx_id: CTX, currency: "U S", created_at: 1 }),
  ]);
  assert.deepEqual(res, ["WAL.INVALID_WALLET_ID", "WAL.INVALID_CURRENCY"]);
  assert.equal(s.exists, false);
});

/** The institution's signing key, a writer client_id and caps for the fold tests (real signatures). */
const INST_KEY = signingKeyFromSeed(new Uint8Array(32).fill(0x51));
const ROGUE_KEY = signingKeyFromSeed(new Uint8Array(32).fill(0x52));
const WRITER = new Uint8Array(32).fill(1); // the client_id of testing/laws.ts entry()
const capOf = (key = INST_KEY, subjectPk = WRITER, streams = [walletStreamId(W)]): CapToken =>
  issueCapToken({ issuerSecret: key.secret, issuerPk: key.public, subjectPk, streamIds: streams, ttl: 600 });
const GOOD = capOf();
const CAPS: CapToken[] = [
  GOOD,
  capOf(ROGUE_KEY), // another issuer
  capOf(INST_KEY, new Uint8Array(32).fill(2)), // for another client
  capOf(INST_KEY, WRITER, [walletStreamId(OTHER)]), // for another wallet's stream
  { ...GOOD, sigChain: [new Uint8Array(64)] }, // a link that does not verify
];
const lookup = (ref: Uint8Array) => CAPS.find((c) => toHex(authRef(c)) === toHex(ref));
const withCap = (e: OverlayEntry, cap: CapToken | null): OverlayEntry => ({
  ...e,
  authRef: cap === null ? null : authRef(cap),
});

Deno.test("wallet fold: open, deposit, adjust, limit, freeze and unfreeze need a cap of the institution the open named", () => {
  const fold = walletFold(W, lookup);
  const s = fold.start();
  const body = (k: WalletKind, rec: Record<string, CborValue>) =>
    encodeWalletBody(k, { wallet_id: W, ...rec });
  const e = (seq: number, k: WalletKind, rec: Record<string, CborValue>, cap: CapToken | null = null) =>
    withCap(entry(seq, WALLET_BODIES[k].schemaId, body(k, rec)), cap);
  const open = BODIES.open[0];
  const log = [
    e(1, "open", open), // no cap: nobody is named
    e(2, "open", open, CAPS[2]), // a cap for another client_id
    e(3, "open", open, GOOD), // names INST_KEY
    e(4, "open", open, CAPS[1]), // a later open is a no-op: it cannot rename the institution
    e(5, "deposit", { amount: 10, ts: 1 }),
    ...CAPS.slice(1).map((c, i) => e(6 + i, "deposit", { amount: 10, ts: 1 }, c)), // 6..9
    e(10, "deposit", { amount: 10, ts: 1 }, GOOD),
    e(11, "adjust", { delta: 5, ts: 1, reason: "r" }, CAPS[1]),
    e(12, "limit", { daily_limit: 3, ts: 1 }, CAPS[1]),
    e(13, "freeze", { ts: 1 }, CAPS[1]),
    e(14, "freeze", { ts: 1 }, GOOD),
    e(15, "unfreeze", { ts: 1 }, CAPS[1]),
    e(16, "withdraw", { amount: 1, ts: 1 }), // an owner's event needs no institution cap
  ];
  const res = log.map((x) => fold.apply(s, x));
  assert.ok(res.every((r) => r !== "rejected"));
  const st = walletStateOf(W, s);
  assert.equal(st.institutionPk, toHex(INST_KEY.public));
  assert.deepEqual(st.violations.map((v) => [v.seq, v.code]), [
    [1, "WAL.UNAUTHORIZED_OPERATION"],
    [2, "WAL.UNAUTHORIZED_OPERATION"],
    [5, "WAL.UNAUTHORIZED_OPERATION"],
    [6, "WAL.UNAUTHORIZED_OPERATION"],
    [7, "WAL.UNAUTHORIZED_OPERATION"],
    [8, "WAL.UNAUTHORIZED_OPERATION"],
    [9, "WAL.UNAUTHORIZED_OPERATION"],
    [11, "WAL.UNAUTHORIZED_OPERATION"],
    [12, "WAL.UNAUTHORIZED_OPERATION"],
    [13, "WAL.UNAUTHORIZED_OPERATION"],
    [15, "WAL.UNAUTHORIZED_OPERATION"],
    [16, "WAL.FROZEN"],
  ]);
  assert.deepEqual([st.balance, st.frozen, st.dailyLimit], [10, true, null]);
  // Without a cap lookup nothing is authorized; the JSON summary keeps the institution.
  const blind = walletFold(W).start();
  for (const x of log) walletFold(W).apply(blind, x);
  assert.equal(walletStateOf(W, blind).exists, false);
  const back = fold.fromJson(JSON.parse(JSON.stringify(fold.toJson(s))));
  assert.equal(walletStateOf(W, back).institutionPk, toHex(INST_KEY.public));
});

/** A random wallet log as entries (other schemas and malformed bodies mixed in). */
function randomLog(seed: number, len: number): OverlayEntry[] {
  const r = prng(seed);
  const out: OverlayEntry[] = [];
  const kinds: WalletKind[] = [
    "deposit",
    "withdraw",
    "transfer",
    "adjust",
    "limit",
    "freeze",
    "unfreeze",
    "close",
  ];
  for (let seq = 1; seq <= len; seq++) {
    const ts = 5 * DAY + r.int(3 * DAY);
    if (seq === 1 || r.int(40) === 0) {
      const body = encodeWalletBody("open", BODIES.open[0]);
      out.push(withCap(entry(seq, WALLET_BODIES.open.schemaId, body), seq === 1 ? GOOD : CAPS[r.int(5)]!));
      continue;
    }
    if (r.int(30) === 0) {
      out.push(entry(seq, H(utf8("crdt.lww.v1")), new Uint8Array([0xa0])));
      continue;
    }
    const k = kinds[r.int(seq < len / 2 ? 5 : kinds.length)]!;
    const amount = r.int(60);
    let rec: Record<string, CborValue>;
    switch (k) {
      case "transfer": {
        const out = r.int(2) === 0;
        rec = {
          wallet_id: out ? W : OTHER,
          to_wallet_id: out ? OTHER : W,
          amount,
          ts,
          transfer_id: new Uint8Array(32).fill(r.int(8)),
        };
        break;
      }
      case "adjust":
        rec = { wallet_id: W, delta: r.int(80) - 40, ts, reason: "r" };
        break;
      case "limit":
        rec = r.int(3) === 0 ? { wallet_id: W, ts } : { wallet_id: W, daily_limit: r.int(120), ts };
        break;
      case "freeze":
      case "unfreeze":
      case "close":
        rec = { wallet_id: W, ts };
        break;
      default:
        rec = { wallet_id: W, amount, ts };
    }
    const hdr = r.int(10) === 0 ? { parentId: new Uint8Array(32).fill(r.int(4)) } : {};
    const body = r.int(50) === 0 ? new Uint8Array([0xa0]) : encodeWalletBody(k, rec);
    // Mostly the institution's cap, sometimes none or one that does not authorize (only privileged kinds care).
    const cap = r.int(8) === 0 ? null : r.int(6) === 0 ? CAPS[1 + r.int(4)]! : GOOD;
    out.push(withCap(entry(seq, WALLET_BODIES[k].schemaId, body, undefined, hdr), cap));
  }
  return out;
}

Deno.test("wallet fold properties: deterministic, never negative, split and merge equal the whole", () => {
  const fold = walletFold(W, lookup);
  const m = rangeMonoid(fold);
  const text = (s: WalletState) => JSON.stringify(fold.toJson({ state: s }));
  for (let seed = 1; seed <= 30; seed++) {
    const log = randomLog(seed, 120);
    // Sequential fold from the stream start, checking the balance after every entry.
    const whole = fold.start();
    let prev = 0;
    for (const e of log) {
      fold.apply(whole, e);
      const st = walletStateOf(W, whole);
      assert.ok(st.balance >= 0 && Number.isSafeInteger(st.balance), `seed ${seed}: balance ${st.balance}`);
      assert.ok(st.dailyLimit === null || st.pendingDailySpent <= Math.max(st.dailyLimit, prev));
      prev = st.pendingDailySpent;
    }
    const again = fold.start();
    for (const e of log) fold.apply(again, e);
    assert.equal(JSON.stringify(fold.toJson(again)), JSON.stringify(fold.toJson(whole)), "deterministic");
    // Random cuts: start·(A·B)·C = start·A·(B·C) = the sequential fold; the JSON form round-trips.
    const r = prng(1000 + seed);
    for (let i = 0; i < 10; i++) {
      const [a, b] = [r.int(log.length + 1), r.int(log.length + 1)].sort((x, y) => x - y) as [number, number];
      const A = foldRange(fold, 0, a, log.slice(0, a));
      const B = foldRange(fold, a, b, log.slice(a, b));
      const C = foldRange(fold, b, log.length, log.slice(b));
      const root = { from: 0, upto: 0, state: fold.start() };
      const left = m.merge(m.merge(m.merge(root, A), B), C);
      const right = m.merge(root, m.merge(A, m.merge(B, C)));
      const want = text(walletStateOf(W, whole));
      assert.equal(text(walletStateOf(W, left.state)), want, `seed ${seed} cuts ${a}, ${b}`);
      assert.equal(text(walletStateOf(W, right.state)), want, `seed ${seed} cuts ${a}, ${b}`);
      // A rooted prefix summary extended by a later range's events: the same state.
      const rootedA = { from: 0, upto: a, state: fold.start() };
      for (const e of log.slice(0, a)) fold.apply(rootedA.state, e);
      const back = fold.fromJson(JSON.parse(JSON.stringify(fold.toJson(B.state))));
      assert.equal(text(walletStateOf(W, m.merge(m.merge(rootedA, { ...B, state: back }), C).state)), want);
    }
    checkMergeLaws(fold, log, seed, 5);
  }
});

Deno.test("wallet fold property: bridged copies (parent_id = origin msg_id) fold to the origin's state, duplicates ignored", () => {
  const fold = walletFold(W, lookup);
  const text = (s: WalletState) =>
    JSON.stringify({
      ...(fold.toJson({ state: s }) as { state: object }).state,
      violations: [],
      seen_parents: [],
    });
  let applied = 0;
  for (let seed = 1; seed <= 30; seed++) {
    const log = randomLog(seed, 120).map((e) => ({ ...e, hdr: { schema: e.hdr.schema } }));
    const origin = fold.start();
    const accepted: OverlayEntry[] = [];
    for (const e of log) {
      const before = walletStateOf(W, origin).violations.length;
      if (fold.apply(origin, e) === "applied" && walletStateOf(W, origin).violations.length === before) {
        accepted.push(e);
      }
    }
    applied += accepted.length;
    // WALBR0: copies of the events the origin applied, each bridged once or several times, in origin order; the
    // bridge signs under its own cap (the institution's, for itself).
    const r = prng(500 + seed);
    const copies: OverlayEntry[] = [];
    for (const e of accepted) {
      const copy = { ...e, hdr: { ...e.hdr, parentId: e.msgId } };
      for (let k = 1 + (r.int(3) === 0 ? 1 + r.int(2) : 0); k > 0; k--) copies.push(copy);
    }
    const replica = fold.start();
    copies.forEach((c, i) => fold.apply(replica, { ...c, seq: i + 1 }));
    const o = walletStateOf(W, origin);
    const b = walletStateOf(W, replica);
    assert.equal(b.balance, o.balance, `seed ${seed}`);
    assert.equal(text(b), text(o), `seed ${seed}`);
    assert.ok(b.violations.every((v) => v.code === "WAL.DUPLICATE"), `seed ${seed}`);
    assert.equal(b.violations.length, copies.length - accepted.length);
  }
  assert.ok(applied > 1000, `the random logs apply events (${applied})`);
});
