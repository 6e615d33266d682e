/**
 * `veen op ...` against real hubs: bodies are checked before anything is sent, access grants are admin records the
 * hub enforces at once and across restarts (also when views.kv is rebuilt), and the wallet-backed paid operation
 * from zero (CLI goals 3 §9.1: keygen, access-grant, op paid, wallet ledger); a warm folding command reads only the
 * records it looks up from the record index (cli/record_index.ts).
 */
import assert from "node:assert/strict";
import { type AdminHub, removeViews, withAdminHub } from "../testing/admin_hub.ts";
import { fromHex } from "../../core/mod.ts";
import { PAID_OPERATION } from "../../overlays/mod.ts";
import { sendBodies } from "../testing/bulk_send.ts";
import { runCli } from "../testing/run.ts";

type Run = Awaited<ReturnType<typeof runCli>>;
const ok = (r: Run) => {
  assert.equal(r.code, 0, r.stdout + r.stderr);
  return r.json();
};
const refused = (r: Run, code: string) => {
  assert.equal(r.code, 4, r.stdout + r.stderr);
  assert.match(r.stderr + r.stdout, new RegExp(code.replace(".", "\\.")));
};
const idOf = async (dir: string) =>
  ok(await runCli(["id", "show", "--client", dir, "--json"])).client_id as string;
const A = "aa".repeat(32);
const B = "bb".repeat(32);
/** `op WORD` (access-grant, access-revoke) by the hub's admin for `subject`, with further flags. */
const adminOp = (h: AdminHub, word: string, subject: string, ...more: string[]) =>
  runCli(["op", word, "--hub", h.hub, "--admin", h.admin, "--subject-identity", subject, "--json", ...more]);
/** A grant for `subject` on stream "pay" (further flags: expiry, bounds). */
const grantOn = (h: AdminHub, subject: string, ...more: string[]) =>
  adminOp(h, "access-grant", subject, "--stream", "pay", ...more);
/** `veen WORDS... --json` as client `dir` on `stream`, with further flags. */
const onStream = (h: AdminHub, words: string[], dir: string, stream: string, ...more: string[]) =>
  runCli([...words, "--hub", h.hub, "--client", dir, "--stream", stream, "--json", ...more]);
/** `wallet ledger` of `dir` on `stream` (further flags: range, refold), its JSON. */
const walletLedger = async (h: AdminHub, dir: string, stream: string, ...more: string[]) =>
  ok(await onStream(h, ["wallet", "ledger"], dir, stream, ...more));
/** `op access-revoke` of every grant of `subject`. */
const revokeAll = (h: AdminHub, subject: string) => adminOp(h, "access-revoke", subject);
/** The flags of an `op paid` from `payer` to B. */
const paidFlags = (payer: string, amount: number, currency = "credits") => [
  "--op-type",
  "api_call",
  "--payer",
  payer,
  "--payee",
  B,
  "--amount",
  String(amount),
  "--currency-code",
  currency,
];

Deno.test("op send: the body is checked against the schema before anything is sent", async () => {
  await withAdminHub(async (h) => {
    const u = await h.client("u");
    const send = (name: string, body: unknown) =>
      runCli([
        "op",
        "send",
        "--hub",
        h.hub,
        "--client",
        u,
        "--stream",
        "ops",
        "--schema-name",
        name,
        "--body-json",
        JSON.stringify(body),
        "--json",
      ]);
    const paid = {
      operation_type: "translate",
      operation_args: { words: 3 },
      payer_account: A,
      payee_account: B,
      amount: 7,
      currency_code: "credits",
    };
    for (
      const bad of [
        { ...paid, amount: 1.5 }, // no floats
        { ...paid, amount: -1 }, // uint
        { ...paid, payer_account: "zz" }, // hex → bstr(32)
        { ...paid, payer_account: "aa" }, // 32 bytes
        { ...paid, extra: 1 }, // exact key set
        (({ currency_code: _, ...rest }) => rest)(paid), // required key
        { ...paid, ttl_seconds: null }, // optional keys are omitted, never null
      ]
    ) {
      const r = await send("paid.operation.v1", bad);
      assert.equal(r.code, 1, JSON.stringify(bad) + r.stderr);
    }
    assert.equal((await send("no.such.v1", paid)).code, 1);
    const good = ok(await send("paid.operation.v1", paid));
    assert.equal(good.stream_seq, 1, "nothing was sent before");
    assert.equal(good.schema_name, "paid.operation.v1");
    assert.match(good.operation_id as string, /^[0-9a-f]{64}$/);
    assert.notEqual(good.operation_id, good.msg_id);
    const ledger = await walletLedger(h, u, "ops");
    assert.deepEqual(ledger.balances, { [A]: -7, [B]: 7 });
    // A grant sent as an ordinary message has no effect, and op send says so.
    const g = await send("access.grant.v1", { subject_identity: A, allowed_stream_ids: [B], expiry_time: 1 });
    assert.equal(g.code, 0, g.stderr);
    assert.match(g.stderr, /access\.grant\.v1 on stream "ops" has no effect/);
  });
});

Deno.test("wallet ledger warm: folds only the new items into a summary of balances, never the operation log", async () => {
  await withAdminHub(async (h) => {
    const u = await h.client("u");
    const body = JSON.stringify({
      operation_type: "t",
      operation_args: null,
      payer_account: A,
      payee_account: B,
      amount: 7,
      currency_code: "credits",
    });
    const send = async (n: number) => {
      for (let i = 0; i < n; i++) {
        ok(
          await runCli([
            ..."op send --hub".split(" "),
            h.hub,
            ...[
              "--client",
              u,
              "--stream",
              "ops",
              "--schema-name",
              "paid.operation.v1",
              "--body-json",
              body,
              "--json",
            ],
          ]),
        );
      }
    };
    const ledger = (...more: string[]) => walletLedger(h, u, "ops", ...more);
    const summaries = () => [...Deno.readDirSync(`${u}/overlays`)].map((e) => e.name);
    const ledgerFile = () =>
      `${u}/overlays/${summaries().find((n) => n.endsWith("-veen.operations.ledger.json"))}`;
    await send(3);
    const cold = await ledger();
    assert.deepEqual(cold.balances, { [A]: -21, [B]: 21 });
    assert.deepEqual(cold.fold, { upto_seq: 3, resumed_from: 0, fetched: 3, opaque: 0, refolded: false });
    const size = Deno.statSync(ledgerFile()).size;
    await send(3);
    const warm = await ledger();
    assert.deepEqual(warm.balances, { [A]: -42, [B]: 42 });
    assert.equal(warm.applied, 6);
    assert.deepEqual(warm.fold, { upto_seq: 6, resumed_from: 3, fetched: 3, opaque: 0, refolded: false });
    assert.equal(Deno.statSync(ledgerFile()).size, size, "the summary holds balances, not operations");
    assert.ok(
      !summaries().some((n) => n.endsWith("-veen.operations.json")),
      "the operation log was not read",
    );
    // A narrower range is read from the ledger's block summaries, still not from the operation log.
    assert.deepEqual((await ledger("--since-stream-seq", "4")).balances, { [A]: -21, [B]: 21 });
    assert.ok(!summaries().some((n) => n.endsWith("-veen.operations.json")));
  });
});

Deno.test("operation records: a warm command reads only the records it looks up from the record index", async () => {
  await withAdminHub(async (h) => {
    const u = await h.client("u");
    const [C, D] = ["cc".repeat(32), "dd".repeat(32)];
    const on = (...args: string[]) =>
      runCli([...args, "--hub", h.hub, "--client", u, "--stream", "ops", "--json"]);
    const paid = async (payer: string, payee: string, amount: number) =>
      ok(
        await on(
          ..."op paid --op-type t --currency-code credits --payer".split(" "),
          payer,
          "--payee",
          payee,
          "--amount",
          String(amount),
        ),
      );
    const audit = async (resource: string, cls: string) =>
      ok(await on("op", "query-audit", "--requester", A, "--resource-id", resource, "--resource-class", cls));
    await paid(A, B, 1); // 1
    await paid(C, D, 10); // 2
    await audit("patient:1", "personal-data"); // 3
    await paid(C, D, 10); // 4
    await paid(A, B, 2); // 5
    await audit("invoice:1", "billing"); // 6
    await paid(C, D, 10); // 7
    const state = ["--state-id", A, "--upto-stream-seq", "5", "--state-class", "wallet.ledger"];
    ok(await on("op", "state-checkpoint", ...state)); // 8
    type Fold = { fetched: number; resumed_from: number; index_reads: number; refolded: boolean };
    // `op state-checkpoint` folded items 1..7 to compute its state; this read folds the checkpoint only.
    const first = ok(await on("audit", "queries"));
    assert.equal((first.rows as unknown[]).length, 2);
    const f1 = first.fold as Fold;
    assert.deepEqual([f1.resumed_from, f1.fetched, f1.index_reads], [7, 1, 2]);
    const overlays = `${u}/overlays`;
    const summary = `${overlays}/${
      [...Deno.readDirSync(overlays)].map((e) => e.name).find((n) => n.endsWith("-veen.operations.json"))
    }`;
    const saved = JSON.parse(await Deno.readTextFile(summary));
    assert.deepEqual(saved.state, { records: 8, rejected: 0 }, "the summary holds counts, not records");

    for (let i = 0; i < 3; i++) await paid(C, D, 10); // 9..11: unrelated to A and to the audits
    // Warm: the 3 new items are folded; A's paid operations up to 5 (1, 5) and the checkpoint are read, no other.
    const snap = ok(await on("snapshot", "verify", ...state));
    assert.equal(snap.consistent, true);
    const f = snap.fold as Fold;
    assert.deepEqual([f.resumed_from, f.fetched, f.index_reads], [8, 3, 3]);
    const q = ok(await on("audit", "queries", "--resource-prefix", "patient:"));
    assert.deepEqual((q.rows as { stream_seq: number }[]).map((r) => r.stream_seq), [3]);
    assert.deepEqual([(q.fold as Fold).fetched, (q.fold as Fold).index_reads], [0, 2]);
    const policy = `${h.root}/policy.json`;
    const rule = (cls: string) => ({ type: "require_audit", stream: "ops", resource_class: cls });
    await Deno.writeTextFile(policy, JSON.stringify({ version: 1, rules: [rule("personal-data")] }));
    assert.equal(ok(await on("audit", "enforce-check", "--policy-file", policy)).ok, true);
    await Deno.writeTextFile(policy, JSON.stringify({ version: 1, rules: [rule("genome")] }));
    refused(await on("audit", "enforce-check", "--policy-file", policy), "E.PROFILE");
    const range = ok(await on("wallet", "ledger", "--since-stream-seq", "2", "--upto-stream-seq", "5"));
    assert.deepEqual(range.balances, { [A]: -2, [B]: 2, [C]: -20, [D]: 20 });

    // A summary written before the record index (every record in it) is discarded and the stream folded again.
    await Deno.writeTextFile(
      summary,
      JSON.stringify({ ...saved, state: { records: [], rejected: [] } }),
    );
    const old = await on("audit", "queries");
    assert.match(old.stderr, /before the record index/);
    assert.deepEqual([(ok(old).fold as Fold).refolded, (old.json().fold as Fold).fetched], [true, 11]);
    // So is one whose record index is gone.
    const kv = summary.replace(/\.json$/, ".kv");
    for (const x of [kv, `${kv}-wal`, `${kv}-shm`]) await Deno.remove(x).catch(() => {});
    const lost = await on("snapshot", "verify", ...state);
    assert.match(lost.stderr, /record index is missing/);
    assert.deepEqual([ok(lost).consistent, (lost.json().fold as Fold).refolded], [true, true]);
  });
});

Deno.test("access grants: admitted at once, refused after revoke, across restarts and a views rebuild", async () => {
  await withAdminHub(async (h) => {
    const user = await h.client("user");
    const userId = await idOf(user);
    const other = await h.client("other");
    const paid = (dir: string, stream: string, ...more: string[]) =>
      onStream(h, ["op", "paid"], dir, stream, ...paidFlags(userId, 5), ...more);
    const grant = (...more: string[]) => grantOn(h, userId, ...more);
    refused(await paid(user, "pay"), "E.AUTH"); // admission is on: no auth_ref, no entry
    // A1: a principal that may not change permissions cannot grant.
    refused(
      await runCli([
        "op",
        "access-grant",
        "--hub",
        h.hub,
        "--admin",
        user,
        "--subject-identity",
        userId,
        "--stream",
        "pay",
        "--expiry-time",
        String(h.clock.t + 3600),
      ]),
      "E.AUTH",
    );
    const g = ok(await grant("--expiry-time", String(h.clock.t + 3600), "--max-rate-per-second", "100"));
    const ref = g.auth_ref as string;
    assert.equal(g.schema_name, "access.grant.v1");
    ok(await paid(user, "pay", "--auth-ref", ref));
    refused(await paid(user, "elsewhere", "--auth-ref", ref), "E.CAP"); // label not allowed
    refused(await paid(other, "pay", "--auth-ref", ref), "E.CAP"); // not the subject
    await h.restart();
    ok(await paid(user, "pay", "--auth-ref", ref));
    const ledger = await walletLedger(h, user, "pay");
    assert.deepEqual(ledger.balances, { [userId]: -10, [B]: 10 });
    ok(
      await runCli([
        "label-class",
        "set",
        "--hub",
        h.hub,
        "--stream",
        "pay",
        "--class",
        "payments",
        "--sensitivity",
        "high",
        "--signer",
        h.admin,
        "--json",
      ]),
    );
    const summary = ok(
      await runCli(["audit", "summary", "--hub", h.hub, "--client", user, "--stream", "pay", "--json"]),
    );
    assert.deepEqual((summary.streams as Record<string, unknown>[])[0], {
      stream: "pay",
      schemas: { "paid.operation.v1": 2 },
      label_class: "payments",
      sensitivity: "high",
      query_audit_present: false,
      audit_missing: true,
      access_grants: 1,
    });
    // The ledger and the summary read bounded folds (balances, counts per schema), never the operation log.
    const files = [...Deno.readDirSync(`${user}/overlays`)].map((e) => e.name);
    assert.ok(files.some((n) => n.endsWith("-veen.operations.counts.json")), files.join(" "));
    assert.ok(!files.some((n) => n.endsWith("-veen.operations.json")), files.join(" "));
    ok(await revokeAll(h, userId));
    refused(await paid(user, "pay", "--auth-ref", ref), "E.AUTH");
    await h.restart();
    refused(await paid(user, "pay", "--auth-ref", ref), "E.AUTH");
    const listed = ok(await runCli(["op", "access-grants", "--hub", h.hub, "--subject", userId, "--json"]));
    assert.deepEqual(
      (listed.grants as { auth_ref: string; revoked: boolean; active: boolean }[]).map((
        g,
      ) => [g.auth_ref, g.revoked]),
      [[ref, true]],
    );
    await h.restart(() => removeViews(h.hub));
    refused(await paid(user, "pay", "--auth-ref", ref), "E.AUTH");
    // A new grant is not touched by the earlier revoke; it expires at its expiry_time.
    const g2 = ok(
      await grant("--expiry-time", String(h.clock.t + 10), "--max-burst", "2", "--max-rate-per-second", "1"),
    );
    ok(await paid(user, "pay", "--auth-ref", g2.auth_ref as string));
    ok(await paid(user, "pay", "--auth-ref", g2.auth_ref as string));
    refused(await paid(user, "pay", "--auth-ref", g2.auth_ref as string), "E.RATE"); // burst 2, the clock stands
    h.clock.t += 11;
    refused(await paid(user, "pay", "--auth-ref", g2.auth_ref as string), "E.CAP");
  }, { admission: "on" });
});

Deno.test("access grant bounds: maximum_amount and currency_code refused by op paid, skipped by the ledger", async () => {
  await withAdminHub(async (h) => {
    const user = await h.client("user");
    const userId = await idOf(user);
    const g = ok(
      await grantOn(
        h,
        userId,
        "--expiry-time",
        String(h.clock.t + 3600),
        "--max-amount",
        "10",
        "--currency-code",
        "credits",
      ),
    );
    const ref = g.auth_ref as string;
    const listed = ok(await runCli(["op", "access-grants", "--hub", h.hub, "--subject", userId, "--json"]));
    const row = (listed.grants as Record<string, unknown>[])[0]!;
    assert.deepEqual([row.maximum_amount, row.currency_code], [10, "credits"]);
    const base = ["--hub", h.hub, "--client", user, "--stream", "pay", "--auth-ref", ref, "--json"];
    const paid = (amount: number, currency = "credits") =>
      runCli(["op", "paid", ...base, ...paidFlags(userId, amount, currency)]);
    // The lower-level send checks the schema only, so it can put an operation out of bounds on the stream.
    const forced = (amount: number, currency = "credits") =>
      runCli([
        "op",
        "send",
        ...base,
        "--schema-name",
        "paid.operation.v1",
        "--body-json",
        JSON.stringify({
          operation_type: "api_call",
          operation_args: null,
          payer_account: userId,
          payee_account: B,
          amount,
          currency_code: currency,
        }),
      ]);
    const ledger = (...more: string[]) => walletLedger(h, user, "pay", ...more);
    assert.equal(ok(await paid(10)).stream_seq, 1); // exactly the bound
    let r = await paid(11);
    refused(r, "E.CAP");
    assert.match(r.stdout, /amount 11 is over the access grant's maximum_amount 10.*nothing was sent/);
    r = await paid(5, "euro");
    refused(r, "E.CAP");
    assert.match(r.stdout, /currency_code \\"euro\\" is not the access grant's \\"credits\\"/);
    assert.equal(ok(await forced(11)).stream_seq, 2, "nothing was sent by the refused ones");
    assert.equal(ok(await forced(1, "euro")).stream_seq, 3);
    assert.equal(ok(await paid(3)).stream_seq, 4);
    const skipped = [
      { stream_seq: 2, reason: "amount 11 is over the access grant's maximum_amount 10 (E.CAP)" },
      { stream_seq: 3, reason: `currency_code "euro" is not the access grant's "credits" (E.CAP)` },
    ];
    const cold = await ledger();
    assert.deepEqual(cold.balances, { [userId]: -13, [B]: 13 });
    assert.equal(cold.applied, 2);
    assert.deepEqual(cold.skipped, skipped);
    // Warm: only the new items are folded, with the same bounds.
    ok(await forced(12));
    ok(await paid(2));
    const warm = await ledger();
    assert.deepEqual(warm.balances, { [userId]: -15, [B]: 15 });
    assert.deepEqual(warm.skipped, [...skipped, {
      stream_seq: 5,
      reason: "amount 12 is over the access grant's maximum_amount 10 (E.CAP)",
    }]);
    assert.equal((warm.fold as { fetched: number }).fetched, 2);
    // A narrower range reads the block summaries and folds the items it fetches again with the same bounds (their
    // grants fetched first: without that this read applies both).
    const narrow = await ledger("--since-stream-seq", "3", "--upto-stream-seq", "5");
    assert.deepEqual(narrow.balances, { [userId]: -3, [B]: 3 });
    assert.deepEqual((narrow.skipped as { stream_seq: number }[]).map((s) => s.stream_seq), [3, 5]);
    // The snapshot state of the payer is computed through the same bounds (overlays/paid_ledger_test.ts checks the
    // bytes): checkpoint and verify agree.
    const snap = ["--hub", h.hub, "--client", user, "--stream", "pay", "--state-id", userId, "--json"];
    const at = ["--upto-stream-seq", "6", "--state-class", "wallet.ledger"];
    assert.equal(
      ok(await runCli(["op", "state-checkpoint", ...snap, ...at, "--auth-ref", ref])).stream_seq,
      7,
    );
    assert.equal(ok(await runCli(["snapshot", "verify", ...snap, ...at])).consistent, true);
    // More than a chunk of paid operations under the grant, every third over its bound: a range that reads the
    // stored block of the first 256 items finds them skipped there too (the grants are fetched before the block
    // summaries fold an entry).
    const bulk = Array.from({ length: 293 }, (_, i) => ({
      hdr: { schema: PAID_OPERATION.schemaId },
      body: PAID_OPERATION.encode({
        operation_type: "api_call",
        operation_args: null,
        payer_account: fromHex(userId, 32),
        payee_account: fromHex(B, 32),
        amount: i % 3 === 0 ? 11 : 1,
        currency_code: "credits",
      }),
      authRef: fromHex(ref, 32),
    }));
    assert.equal(await sendBodies(h.hub, user, "pay", bulk), 8);
    const wide = await ledger("--upto-stream-seq", "299"); // before the last item: a range, not the whole stream
    assert.deepEqual(
      wide.balances,
      { [userId]: -209, [B]: 209 },
      "15 before, 194 of the first 292 within the bound",
    );
    assert.equal((wide.skipped as unknown[]).length, 3 + 98);
    assert.equal((wide.fold as { range_blocks: number }).range_blocks, 1);
    const before = await ledger();
    // A later revoke does not un-apply: the bound is the grant body auth_ref commits to.
    ok(await revokeAll(h, userId));
    const refolded = await ledger("--refold");
    assert.deepEqual(refolded.balances, before.balances);
    assert.deepEqual(refolded.skipped, before.skipped);
  }, { admission: "on" });
});
