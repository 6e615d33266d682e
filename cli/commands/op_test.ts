/**
 * `veen op ...` against real hubs: bodies are checked before anything is sent, access grants are admin records the
 * hub enforces at once and across restarts (also when views.kv is rebuilt), and the wallet-backed paid operation
 * from zero (CLI goals 3 §9.1: keygen, access-grant, op paid, wallet ledger).
 */
import assert from "node:assert/strict";
import { removeViews, withAdminHub } from "../testing/admin_hub.ts";
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
    const ledger = ok(
      await runCli(["wallet", "ledger", "--hub", h.hub, "--client", u, "--stream", "ops", "--json"]),
    );
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
    const ledger = async (...more: string[]) =>
      ok(
        await runCli([
          "wallet",
          "ledger",
          "--hub",
          h.hub,
          "--client",
          u,
          "--stream",
          "ops",
          "--json",
          ...more,
        ]),
      );
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

Deno.test("access grants: admitted at once, refused after revoke, across restarts and a views rebuild", async () => {
  await withAdminHub(async (h) => {
    const user = await h.client("user");
    const userId = await idOf(user);
    const other = await h.client("other");
    const paid = (dir: string, stream: string, ...more: string[]) =>
      runCli([
        "op",
        "paid",
        "--hub",
        h.hub,
        "--client",
        dir,
        "--stream",
        stream,
        "--op-type",
        "api_call",
        "--payer",
        userId,
        "--payee",
        B,
        "--amount",
        "5",
        "--currency-code",
        "credits",
        "--json",
        ...more,
      ]);
    const grant = (...more: string[]) =>
      runCli([
        "op",
        "access-grant",
        "--hub",
        h.hub,
        "--admin",
        h.admin,
        "--subject-identity",
        userId,
        "--stream",
        "pay",
        "--json",
        ...more,
      ]);
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
    const ledger = ok(
      await runCli(["wallet", "ledger", "--hub", h.hub, "--client", user, "--stream", "pay", "--json"]),
    );
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
    ok(
      await runCli([
        "op",
        "access-revoke",
        "--hub",
        h.hub,
        "--admin",
        h.admin,
        "--subject-identity",
        userId,
        "--json",
      ]),
    );
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
