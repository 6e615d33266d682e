/**
 * `veen bench fold` (issue 21 "Complexity"; spec 001 L151-203): the wallet fold's time for a stream of N events,
 * cold (from stream_seq 1) and warm (from the saved summary, only the new events read), as the CLI runs it: each
 * event is a decoded wallet body with its MSG's auth_ref (the institution's cap, verified once), the summary
 * goes through its JSON form and the seen transfer_ids through the seen-key index (cli/seen_index.ts, a Deno KV
 * file in a temporary directory) as `OverlayCursor` writes and reads them. In process, no hub: the figures isolate
 * the fold from network and proof checks, which `veen bench` measures. Figures only; nothing passes or fails.
 *
 * Three mixes: `account` (deposits, withdrawals, limits, adjusts: the summary is the 001 §4 state, O(1)),
 * `transfers` (a third of the events are transfers: every transfer_id seen is kept, 001 §5.5, in the index, so a
 * warm start looks up only the transfer_ids of its new events) and `identity` (a principal stream of id.device.v1
 * records for 64 devices, folded as the ID commands do: principal fold under `originDedup`, origins in the index).
 */
import { authRef, issueCapToken, signingKeyFromSeed, toHex, u64be } from "../../core/mod.ts";
import {
  type Deduped,
  deviceIdFor,
  encodeIdBody,
  encodeWalletBody,
  type Fold,
  ID_DEVICE,
  originDedup,
  type OverlayEntry,
  principalFold,
  type PrincipalState,
  WALLET_BODIES,
  walletFold,
  walletIdFor,
  type WalletKind,
  walletStateOf,
  walletStreamId,
  type WalletSummary,
} from "../../overlays/mod.ts";
import { parseUint, usageError } from "../../cmd/mod.ts";
import type { Command } from "../context.ts";
import { newEpoch, SeenIndex, withoutSeen } from "../seen_index.ts";

const MIXES = ["account", "transfers", "identity"] as const;
type Mix = typeof MIXES[number];

/** A deterministic wallet stream of `n` events (an open, then the mix), every event under the institution's cap. */
function walletStream(n: number, mix: "account" | "transfers") {
  const inst = signingKeyFromSeed(new Uint8Array(32).fill(7));
  const clientId = new Uint8Array(32).fill(8);
  const realm = new Uint8Array(32).fill(1);
  const ctxId = new Uint8Array(32).fill(2);
  const walletId = walletIdFor(realm, ctxId, "USD");
  const other = walletIdFor(realm, new Uint8Array(32).fill(3), "USD");
  const cap = issueCapToken({
    issuerSecret: inst.secret,
    issuerPk: inst.public,
    subjectPk: clientId,
    streamIds: [walletStreamId(walletId)],
    ttl: 86400,
  });
  const ref = authRef(cap);
  const entry = (seq: number, kind: WalletKind, rec: Record<string, unknown>): OverlayEntry => {
    const msgId = new Uint8Array(32);
    msgId.set(u64be(seq), 24);
    return {
      seq,
      msgId,
      clientId,
      hubTs: seq,
      authRef: ref,
      hdr: { schema: WALLET_BODIES[kind].schemaId },
      body: encodeWalletBody(kind, { wallet_id: walletId, ...rec } as Parameters<typeof encodeWalletBody>[1]),
    };
  };
  const events: OverlayEntry[] = [
    entry(1, "open", { realm_id: realm, ctx_id: ctxId, currency: "USD", created_at: 1 }),
  ];
  for (let seq = 2; seq <= n; seq++) {
    const ts = 1_000_000 + seq * 60; // a day holds 1440 events: the daily window rolls over
    const r = seq % 6;
    if (mix === "transfers" && r % 3 === 0) {
      const out = r === 0;
      const id = new Uint8Array(32);
      id.set(u64be(seq), 24);
      events.push(entry(seq, "transfer", {
        wallet_id: out ? walletId : other,
        to_wallet_id: out ? other : walletId,
        amount: 3,
        ts,
        transfer_id: id,
      }));
    } else if (r === 0 || r === 1 || r === 3) events.push(entry(seq, "deposit", { amount: 10, ts }));
    else if (r === 2) events.push(entry(seq, "withdraw", { amount: 4, ts }));
    else if (r === 4) events.push(entry(seq, "adjust", { delta: -1, ts, reason: "fee" }));
    else events.push(entry(seq, "limit", { daily_limit: 1_000_000, ts }));
  }
  const lookup = (x: Uint8Array) => toHex(x) === toHex(ref) ? cap : undefined;
  return {
    events,
    fold: () => walletFold(walletId, lookup),
    result: (st: WalletSummary) => walletStateOf(walletId, st).balance,
  };
}

/** A principal stream of `n` id.device.v1 records (64 devices added, re-labelled, disabled and re-enabled). */
function identityStream(n: number) {
  const principal = signingKeyFromSeed(new Uint8Array(32).fill(9));
  const clientId = new Uint8Array(32).fill(8);
  const events: OverlayEntry[] = [];
  for (let seq = 1; seq <= n; seq++) {
    const devicePk = new Uint8Array(32).fill(1);
    devicePk.set(u64be(seq % 64), 24);
    const msgId = new Uint8Array(32);
    msgId.set(u64be(seq), 24);
    events.push({
      seq,
      msgId,
      clientId,
      hubTs: seq,
      hdr: { schema: ID_DEVICE.schemaId },
      body: encodeIdBody(ID_DEVICE, {
        principal_pk: principal.public,
        device_id: deviceIdFor(devicePk),
        device_pk: devicePk,
        dh_pk: devicePk,
        label: `device ${seq % 64} v${seq}`,
        created_at: seq,
        flags: seq % 5 === 0 ? new Map([["disabled", true]]) : undefined,
      }),
    });
  }
  return {
    events,
    fold: () => originDedup(principalFold(principal.public)),
    result: (st: Deduped<PrincipalState>) => st.state.devices.size,
  };
}

/** What `measure` folds: the events, a new fold for them and the figure a folded state reports. */
interface Workload<S> {
  events: OverlayEntry[];
  fold: () => Fold<S>;
  result: (s: S) => number;
}

interface Figure {
  events: number;
  mix: Mix;
  cold_ms: number;
  warm_ms: number;
  /** The warm read up to the folded state, without the save (index write with fsync, summary text). */
  warm_read_ms: number;
  summary_bytes: number;
  index_bytes: number;
  warm_lookups: number;
  /** The wallet's balance, or the principal's device count (identity). */
  result: number;
}

const round = (x: number) => Math.round(x * 100) / 100;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Folds `entries` into `s` as `OverlayCursor` does: each entry's dedup keys pre-loaded from `index` first. */
async function foldWithIndex<S>(
  fold: Fold<S>,
  s: S,
  entries: readonly OverlayEntry[],
  index: SeenIndex,
  savedUpto: number,
): Promise<void> {
  const seen = fold.dedup!.seen(s)!;
  for (const e of entries) {
    await index.preload(fold.dedup!.keys(e), seen, savedUpto);
    fold.apply(s, e);
  }
}

/** Saves as `OverlayCursor.save` does: new keys to the index, then the summary text without them. */
async function save<S>(fold: Fold<S>, s: S, index: SeenIndex, upto: number) {
  const seen = fold.dedup!.seen(s)!;
  try {
    await index.flush(seen, upto);
  } finally {
    index.close();
  }
  return JSON.stringify(withoutSeen(seen, () => fold.toJson(s)));
}

/** Cold and warm fold times of one stream; warm is the median of `runs` resumptions. */
async function measure(n: number, mix: Mix, fresh: number, runs: number, tmp: string): Promise<Figure> {
  return mix === "identity"
    ? await measureWorkload(identityStream(n + fresh), n, mix, runs, tmp)
    : await measureWorkload(walletStream(n + fresh, mix), n, mix, runs, tmp);
}

async function measureWorkload<S>(
  w: Workload<S>,
  n: number,
  mix: Mix,
  runs: number,
  tmp: string,
): Promise<Figure> {
  const { events } = w;
  const fresh = events.length - n;
  const old = events.slice(0, n);
  const news = events.slice(n);
  const path = `${tmp}/${mix}-${n}.kv`;
  const epoch = newEpoch();
  // Cold: a new fold over the N events, then the index and summary text a cursor saves.
  const t0 = performance.now();
  const fold = w.fold();
  const s = fold.start?.() ?? fold.empty();
  const cold0 = new SeenIndex(path, epoch, false);
  await foldWithIndex(fold, s, old, cold0, 0);
  const text = await save(fold, s, cold0, n);
  const cold = performance.now() - t0;
  // Warm: parse the saved summary, fold only the new events (their keys looked up in the index), save again (a
  // fresh fold: caps verified again). Each run starts from the same summary: the keys a previous run wrote are
  // tagged above its upto_seq, so they count as unseen (the crash-between-writes case) and are written again.
  const warm: number[] = [];
  const warmRead: number[] = [];
  let last: S = s;
  let lookups = 0;
  for (let i = 0; i < runs; i++) {
    const t1 = performance.now();
    const f = w.fold();
    const st = f.fromJson(JSON.parse(text));
    const index = new SeenIndex(path, epoch, true);
    await foldWithIndex(f, st, news, index, n);
    warmRead.push(performance.now() - t1);
    await save(f, st, index, n + fresh);
    warm.push(performance.now() - t1);
    last = st;
    lookups = index.lookups;
  }
  let indexBytes = 0;
  for (const suffix of ["", "-wal", "-shm"]) {
    indexBytes += await Deno.stat(path + suffix).then((x) => x.size, () => 0);
  }
  return {
    events: n,
    mix,
    cold_ms: round(cold),
    warm_ms: round(median(warm)),
    warm_read_ms: round(median(warmRead)),
    summary_bytes: text.length,
    index_bytes: indexBytes,
    warm_lookups: lookups,
    result: w.result(last),
  };
}

export const benchFold: Command = {
  path: ["bench", "fold"],
  summary: "time the wallet and identity folds cold (whole stream) and warm (summary + new events)",
  usage:
    "veen bench fold [--sizes 1000,100000] [--new N] [--runs N] [--mix account,transfers,identity] [--json]",
  details:
    `In process, no hub: a deterministic wallet (or principal) stream of each size is folded from stream_seq 1 (cold)
and resumed from its JSON summary and seen-key index (a temporary directory) with --new events (warm, median of
--runs). Figures only; nothing here passes or fails on timing.`,
  flags: [
    { name: "sizes", metavar: "N,N,...", help: "stream sizes (default 1000,100000; each 1..1000000)" },
    { name: "new", metavar: "N", help: "events after the summary in a warm read (default 10)" },
    { name: "runs", metavar: "N", help: "warm resumptions timed per size (default 5)" },
    { name: "mix", metavar: "NAME,...", help: "event mixes: account, transfers, identity (default all)" },
  ],
  async run(ctx) {
    const sizes = (ctx.flags.str("sizes") ?? "1000,100000").split(",").map((x) =>
      parseUint(x.trim(), "--sizes", { min: 1, max: 1_000_000 })
    );
    const fresh = ctx.flags.int("new", { min: 1, max: 100_000 }) ?? 10;
    const runs = ctx.flags.int("runs", { min: 1, max: 100 }) ?? 5;
    const mixes = (ctx.flags.str("mix") ?? MIXES.join(",")).split(",").map((m) => m.trim());
    for (const m of mixes) {
      if (!(MIXES as readonly string[]).includes(m)) {
        throw usageError(`--mix ${m}: not one of ${MIXES.join(", ")}`);
      }
    }
    const figures: Figure[] = [];
    const tmp = await Deno.makeTempDir({ prefix: "veen-bench-fold-" });
    try {
      for (const mix of mixes as Mix[]) {
        for (const n of sizes) {
          figures.push(await measure(n, mix, fresh, runs, tmp));
          ctx.out.progress(figures.length, sizes.length * mixes.length, "measured");
        }
      }
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
    ctx.out.clearProgress();
    const machine = {
      cores: navigator.hardwareConcurrency,
      os: `${Deno.build.os} ${Deno.build.arch}`,
      deno: Deno.version.deno,
    };
    ctx.out.result({ new_events: fresh, runs, machine, figures }, [
      `wallet and identity folds, warm = summary + ${fresh} new events (median of ${runs})`,
      ...figures.map((f) =>
        `${f.mix} ${f.events} events: cold ${f.cold_ms} ms, warm ${f.warm_ms} ms (read ${f.warm_read_ms} ms), summary ${f.summary_bytes} bytes, ` +
        `index ${f.index_bytes} bytes, warm lookups ${f.warm_lookups}`
      ),
    ]);
    return 0;
  },
};
