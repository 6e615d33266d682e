/**
 * `veen selftest plus-plus` (CLI goals 3 §10.5): the operation profiles end to end on two hubs the suite starts — hub
 * A with `admin_keys` and admission on, hub B open — through the CLI only: op send validation, access grant and
 * revoke enforced by the hub, paid operations and `wallet ledger`, `agreement status`, `op state-checkpoint` and
 * `snapshot verify`, a recovery with two guardians and `recovery timeline` (and the ledger of the new identity),
 * `audit queries` and `audit enforce-check`, and `federate mirror-run` / `mirror-check`. Kubernetes is not
 * exercised (the suite starts local hubs). Needs its own hubs, so with `--hub URL` every step is skipped.
 */
import { check, type Harness, short, StepSkipped } from "./harness.ts";
import { type Client, keygen } from "./core_steps/context.ts";

const SUITE = "plus-plus";

export const PLUS_PLUS_GOAL =
  "op send validates before sending; access grants admit and revokes refuse at once; wallet ledger, agreement " +
  "status, snapshot verify, recovery timeline with guardians, audit enforce-check, federate mirror-run and " +
  "mirror-check (CLI goals 3 §10.5)";

interface Ctx {
  a: string;
  b: string;
  admin: Client;
  user: Client;
  guardians: Client[];
  newId: Client;
  grantRef?: string;
}

type Step = { name: string; goal: string; run(c: Ctx, ev: string[]): Promise<void> };

const ACCT = "cc".repeat(32);
/** The state flags of `op state-checkpoint` and `snapshot verify` for ACCT's wallet.ledger state up to `upto`. */
const stateFlags = (
  upto: string,
) => ["--state-id", ACCT, "--upto-stream-seq", upto, "--state-class", "wallet.ledger"];

function steps(h: Harness): Step[] {
  const pay = h.stream("pp/pay");
  const ops = h.stream("pp/ops");
  const on = (hub: string, who: Client, stream: string, ...args: string[]) => [
    ...args,
    "--hub",
    hub,
    "--client",
    who.dir,
    "--stream",
    stream,
  ];
  const paid = (c: Ctx, payer: string, amount: number, ...more: string[]) =>
    on(
      c.a,
      c.user,
      pay,
      "op",
      "paid",
      "--op-type",
      "api_call",
      "--payer",
      payer,
      "--payee",
      ACCT,
      "--amount",
      String(amount),
      "--currency-code",
      "credits",
      ...more,
    );
  /** `op access-grant|access-revoke` of the user by the admin on hub A. */
  const access = (c: Ctx, what: "grant" | "revoke", ...more: string[]) => [
    "op",
    `access-${what}`,
    ...["--hub", c.a, "--admin", c.admin.dir, "--subject-identity", c.user.clientId],
    ...more,
  ];
  /** An access grant of the user on the paid stream for an hour. */
  const grant = (c: Ctx, ...more: string[]) =>
    access(
      c,
      "grant",
      "--stream",
      pay,
      "--expiry-time",
      String(Math.floor(Date.now() / 1000) + 3600),
      ...more,
    );
  return [
    {
      name: "op-validate",
      goal: "op send refuses a body that breaks its schema (a float amount, a short bstr) before sending",
      async run(c, ev) {
        const body = {
          operation_type: "t",
          operation_args: null,
          payer_account: ACCT,
          payee_account: ACCT,
          amount: 1.5,
          currency_code: "c",
        };
        const send = (b: unknown) =>
          on(
            c.b,
            c.user,
            ops,
            "op",
            "send",
            "--schema-name",
            "paid.operation.v1",
            "--body-json",
            JSON.stringify(b),
          );
        for (const b of [body, { ...body, amount: 1, payer_account: "cc" }]) {
          const r = await h.cli(send(b));
          check(r.code === 1, `${r.line}: exit ${r.code}, expected 1 (usage, nothing sent)`);
          ev.push(`op send ${JSON.stringify(b).slice(0, 60)}…: exit 1, ${r.json?.detail}`);
        }
        const good = await h.ok(send({ ...body, amount: 1, payer_account: "dd".repeat(32) }));
        check(
          good.stream_seq === 1,
          `op send: stream_seq ${good.stream_seq}, expected 1 (the refused ones were sent)`,
        );
        check(/^[0-9a-f]{64}$/.test(String(good.operation_id)), "op send: no operation_id");
      },
    },
    {
      name: "access-grant",
      goal:
        "without a grant a paid op is E.AUTH; op access-grant admits the subject under the derived auth_ref",
      async run(c, ev) {
        await h.refused(paid(c, c.user.clientId, 5), "E.AUTH");
        const g = await h.ok(grant(c));
        c.grantRef = String(g.auth_ref);
        ev.push(`op access-grant: auth_ref ${short(c.grantRef)}, stream_fed_admin seq ${g.stream_seq}`);
        const r = await h.ok(paid(c, c.user.clientId, 5, "--auth-ref", c.grantRef));
        ev.push(`op paid under the grant: stream_seq ${r.stream_seq}`);
        await h.ok(paid(c, c.user.clientId, 2, "--auth-ref", c.grantRef));
      },
    },
    {
      name: "wallet-ledger",
      goal: "wallet ledger: payer debited, payee credited by the paid operations",
      async run(c, ev) {
        const l = await h.ok(on(c.a, c.user, pay, "wallet", "ledger"));
        const b = l.balances as Record<string, number>;
        check(b[c.user.clientId] === -7 && b[ACCT] === 7, `wallet ledger: balances ${JSON.stringify(b)}`);
        ev.push(`wallet ledger: ${JSON.stringify(b)}`);
      },
    },
    {
      name: "access-revoke",
      goal: "op access-revoke: the next paid operation under the grant is E.AUTH",
      async run(c, ev) {
        await h.ok(access(c, "revoke"));
        const r = await h.refused(
          paid(c, c.user.clientId, 1, "--auth-ref", c.grantRef ?? "00".repeat(32)),
          "E.AUTH",
        );
        ev.push(`op paid after the revoke: ${r.code}: ${r.detail}`);
      },
    },
    {
      name: "grant-bounds",
      goal:
        "a grant's maximum_amount: op paid over it is refused (E.CAP, nothing sent), at it applied by the ledger",
      async run(c, ev) {
        const g = await h.ok(grant(c, "--max-amount", "10", "--currency-code", "credits"));
        const ref = String(g.auth_ref);
        const over = await h.refused(paid(c, c.user.clientId, 11, "--auth-ref", ref), "E.CAP");
        ev.push(`op paid of 11 under maximum_amount 10: ${over.code}`);
        await h.ok(paid(c, c.user.clientId, 10, "--auth-ref", ref));
        const l = await h.ok(on(c.a, c.user, pay, "wallet", "ledger"));
        const b = l.balances as Record<string, number>;
        check(
          b[ACCT] === 17,
          `wallet ledger after the bounded grant: ${JSON.stringify(b)}, expected ${ACCT}: 17`,
        );
        ev.push(`wallet ledger: ${ACCT.slice(0, 8)}… 17 (the refused 11 was never sent)`);
      },
    },
    {
      name: "agreement",
      goal: "agreement status: active once every party's last decision is accept",
      async run(c, ev) {
        const id = "ab".repeat(32);
        const [g1, g2] = c.guardians as [Client, Client];
        await h.ok([
          ...on(
            c.b,
            g1,
            ops,
            "op",
            "agreement-define",
            "--agreement-id",
            id,
            "--version",
            "1",
            "--terms-hash",
            "11".repeat(32),
            "--party",
            g1.clientId,
            "--party",
            g2.clientId,
          ),
          "--to",
          c.user.dir,
        ]);
        for (const [g, d] of [[g1, "accept"], [g2, "reject"], [g2, "accept"]] as const) {
          await h.ok([
            ...on(
              c.b,
              g,
              ops,
              "op",
              "agreement-confirm",
              "--agreement-id",
              id,
              "--version",
              "1",
              "--party",
              g.clientId,
              "--decision",
              d,
            ),
            "--to",
            c.user.dir,
          ]);
        }
        const s = await h.ok(on(c.b, c.user, ops, "agreement", "status", "--agreement-id", id));
        check(
          s.active === true,
          `agreement status: active ${s.active}, parties ${JSON.stringify(s.parties)}`,
        );
        ev.push(`agreement status: active, parties ${(s.parties as unknown[]).length}`);
      },
    },
    {
      name: "snapshot",
      goal:
        "op state-checkpoint then snapshot verify: state_hash and mmr_root consistent; a forged one is not",
      async run(c, ev) {
        const cp = await h.ok(
          on(c.b, c.user, ops, "op", "state-checkpoint", ...stateFlags("1")),
        );
        const v = await h.ok(
          on(c.b, c.user, ops, "snapshot", "verify", ...stateFlags("1")),
        );
        check(v.consistent === true, `snapshot verify: ${JSON.stringify(v)}`);
        ev.push(`op state-checkpoint at stream_seq ${cp.stream_seq}; snapshot verify: consistent`);
        await h.ok(
          on(c.b, c.user, ops, "op", "state-checkpoint", ...stateFlags("2"), "--state-hash", "00".repeat(32)),
        );
        const bad = await h.refused(
          on(c.b, c.user, ops, "snapshot", "verify", ...stateFlags("2")),
          "E.SIG",
        );
        check(bad.first_mismatch === "state_hash", `snapshot verify: first_mismatch ${bad.first_mismatch}`);
      },
    },
    {
      name: "map-state",
      goal: "state class counter.map: op state-checkpoint over crdt counter adds, snapshot verify consistent",
      async run(c, ev) {
        const m = h.stream("pp/map");
        for (const d of ["3", "4"]) await h.ok(on(c.b, c.user, m, "crdt", "counter", "add", "--delta", d));
        const flags = [
          "--state-id",
          "dd".repeat(32),
          "--upto-stream-seq",
          "2",
          "--state-class",
          "counter.map",
        ];
        await h.ok(on(c.b, c.user, m, "op", "state-checkpoint", ...flags));
        const v = await h.ok(on(c.b, c.user, m, "snapshot", "verify", ...flags));
        check(v.consistent === true, `snapshot verify (counter.map): ${JSON.stringify(v)}`);
        ev.push(`counter.map state ${short(String(v.computed_state_hash))} at stream_seq 2: consistent`);
      },
    },
    {
      name: "recovery",
      goal:
        "recovery request, two guardian approvals, execution: the timeline and the ledger show the new identity",
      async run(c, ev) {
        const common = ["--target-identity", ACCT, "--new-identity", c.newId.clientId];
        await h.ok([...on(c.b, c.user, ops, "op", "recovery-request", ...common), "--to", c.user.dir]);
        const approvals: string[] = [];
        for (const g of c.guardians) {
          const a = await h.ok([
            ...on(c.b, g, ops, "op", "recovery-approval", ...common),
            "--to",
            c.user.dir,
          ]);
          approvals.push(String(a.operation_id));
        }
        await h.ok(
          on(
            c.b,
            c.user,
            ops,
            "op",
            "recovery-execution",
            ...common,
            ...approvals.flatMap((a) => ["--approval", a]),
          ),
        );
        const policy = ["--threshold", "2", ...c.guardians.flatMap((g) => ["--guardian", g.clientId])];
        const tl = await h.ok(
          on(c.b, c.user, ops, "recovery", "timeline", "--target-identity", ACCT, ...policy),
        );
        check(tl.current_identity === c.newId.clientId, `recovery timeline: current ${tl.current_identity}`);
        const l = await h.ok(
          on(c.b, c.user, ops, "wallet", "ledger", "--account", c.newId.clientId, ...policy),
        );
        check(l.balance === 1, `wallet ledger of the new identity: ${l.balance}, expected 1`);
        ev.push(
          `recovery timeline: ${(tl.events as unknown[]).length} events, new identity ${
            short(tl.current_identity)
          }`,
        );
      },
    },
    {
      name: "audit",
      goal: "op query-audit, audit queries, audit enforce-check passes and fails (exit 4) on a missing audit",
      async run(c, ev) {
        await h.ok(
          on(
            c.b,
            c.user,
            ops,
            "op",
            "query-audit",
            "--requester",
            c.user.clientId,
            "--resource-id",
            "patient:1:labs",
            "--resource-class",
            "personal-data",
            "--purpose-code",
            "treatment",
          ),
        );
        const q = await h.ok(on(c.b, c.user, ops, "audit", "queries", "--resource-prefix", "patient:"));
        check((q.rows as unknown[]).length === 1, `audit queries: ${JSON.stringify(q.rows)}`);
        const file = `${h.root}/pp-policy.json`;
        const rule = (cls: string) => ({
          version: 1,
          rules: [{ type: "require_audit", stream: ops, resource_class: cls }],
        });
        await Deno.writeTextFile(file, JSON.stringify(rule("personal-data")));
        const args = ["audit", "enforce-check", "--hub", c.b, "--client", c.user.dir, "--policy-file", file];
        await h.ok(args);
        await Deno.writeTextFile(file, JSON.stringify(rule("financial-record")));
        const r = await h.refused(args, "E.PROFILE");
        ev.push(`audit enforce-check: passes, then ${r.detail}`);
      },
    },
    {
      name: "federate",
      goal:
        "federate mirror-run copies the paid stream from A to B; mirror-check matches every source RECEIPT",
      async run(c, ev) {
        const run = await h.ok([
          "federate",
          "mirror-run",
          "--source-hub",
          c.a,
          "--target-hub",
          c.b,
          "--stream",
          pay,
          "--client",
          c.user.dir,
        ]);
        const chk = await h.ok(on(c.b, c.user, pay, "federate", "mirror-check", "--source-hub", c.a));
        check(
          chk.records === run.attested_count && chk.mismatches === 0,
          `mirror-check: ${JSON.stringify(chk)}`,
        );
        ev.push(`mirror-run: ${run.mirrored_count} copied; mirror-check: ${chk.records} records match`);
      },
    },
  ];
}

export async function plusPlusSuite(h: Harness): Promise<void> {
  h.report.beginSuite(SUITE, PLUS_PLUS_GOAL);
  let c: Ctx | undefined;
  const ok = await h.step(
    SUITE,
    "setup",
    "start hub A (admin_keys, admission on) and hub B (open)",
    async (ev) => {
      if (h.deployed) {
        throw new StepSkipped("needs hubs whose admin_keys hold a key this run creates; not run with --hub");
      }
      const admin = await keygen(h, "pp-admin");
      const user = await keygen(h, "pp-user");
      const guardians = [await keygen(h, "pp-g1"), await keygen(h, "pp-g2")];
      const newId = await keygen(h, "pp-new");
      const a = await h.startHub(
        "pp-a",
        { admission: "on", env: { VEEN_ADMIN_KEYS: admin.clientId } },
        "admin_keys: pp-admin, admission on",
      );
      const b = await h.startHub("pp-b");
      c = { a: a.url, b: b.url, admin, user, guardians, newId };
      ev.push(`hub A ${a.url}, hub B ${b.url}`);
    },
    { critical: true },
  );
  if (!ok || c === undefined) return;
  for (const s of steps(h)) await h.step(SUITE, s.name, s.goal, (ev) => s.run(c!, ev));
}
