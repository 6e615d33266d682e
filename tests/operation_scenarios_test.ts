/**
 * The v0.0.1++ end-to-end scenarios of CLI goals 3 §9 against local hubs, through the CLI only:
 * - recovery and rekey from logs alone (§9.2): paid operations and a state checkpoint on one hub; then from a copy
 *   of its data dir and the keys of the operator and the guardians alone (no client state, no summaries), the
 *   ledger and the snapshot are reconstructed, a recovery runs with several guardians, the timeline shows the new
 *   identity and the ledger credits it;
 * - agreement status, data publication and audit policy over the same logs, and the failures each must report.
 * - the wallet-backed paid operation from zero (§9.1): env init, kube render and apply (through a fake kubectl;
 *   the hub itself runs locally), keygen, op access-grant, op paid and wallet ledger by `--env FILE --hub-name`.
 */
import assert from "node:assert/strict";
import { startRealHub } from "../cli/testing/real_hub.ts";
import { newClient, runCli, tempDir } from "../cli/testing/run.ts";
import { captureIo } from "../cmd/mod.ts";
import { main } from "../mod.ts";

type Run = { code: number; stdout: string; stderr: string; json(): Record<string, unknown> };
const ok = (r: Run) => {
  assert.equal(r.code, 0, r.stdout + r.stderr);
  return r.json();
};
const idOf = async (dir: string) =>
  ok(await runCli(["id", "show", "--client", dir, "--json"])).client_id as string;
const SHOP = "cc".repeat(32);

Deno.test("scenario §9.2: recovery and rekey from a data-dir copy, an operator key and guardian keys", async () => {
  const t = await tempDir();
  try {
    const op = await newClient(t.path, "operator");
    const oldId = await idOf(await newClient(t.path, "lost"));
    const newId = await idOf(await newClient(t.path, "new"));
    const guardians = [
      await newClient(t.path, "g1"),
      await newClient(t.path, "g2"),
      await newClient(t.path, "g3"),
    ];
    const gIds = await Promise.all(guardians.map(idOf));
    let hub = await startRealHub(`${t.path}/hub`);
    const as = (dir: string, ...args: string[]) =>
      runCli([...args, "--hub", hub.dataDir, "--client", dir, "--stream", "ledger", "--to", op, "--json"]);
    const stateOf = (upto: string) => [
      "--state-id",
      oldId,
      "--upto-stream-seq",
      upto,
      "--state-class",
      "wallet.ledger",
    ];
    const read = (...args: string[]) =>
      runCli([...args, "--hub", hub.dataDir, "--client", op, "--stream", "ledger", "--json"]);
    const paid = (payer: string, payee: string, amount: number) =>
      as(
        op,
        "op",
        "paid",
        "--op-type",
        "topup",
        "--payer",
        payer,
        "--payee",
        payee,
        "--amount",
        String(amount),
        "--currency-code",
        "credits",
      );
    ok(await paid(SHOP, oldId, 100));
    ok(await paid(oldId, SHOP, 30));
    const seq = ok(await paid(oldId, SHOP, 5)).stream_seq as number;
    const cp = ok(
      await as(op, "op", "state-checkpoint", ...stateOf(String(seq))),
    );
    assert.equal(cp.stream_seq, seq + 1);
    // A forged checkpoint (wrong state_hash) is caught and named.
    ok(
      await as(op, "op", "state-checkpoint", ...stateOf("2"), "--state-hash", "00".repeat(32)),
    );
    await hub.close();

    // Only the data dir, the operator's and guardians' keys: client state and summaries are gone.
    const copy = `${t.path}/restored`;
    await Deno.mkdir(copy);
    for await (const e of Deno.readDir(`${t.path}/hub`)) {
      if (!e.name.startsWith("hub.state")) {
        await new Deno.Command("cp", { args: ["-a", `${t.path}/hub/${e.name}`, copy] }).output();
      }
    }
    for (const d of [op, ...guardians]) {
      await Deno.remove(`${d}/state.json`).catch(() => {});
      await Deno.remove(`${d}/overlays`, { recursive: true }).catch(() => {});
    }
    hub = await startRealHub(copy);
    try {
      const snap = ok(
        await read("snapshot", "verify", ...stateOf(String(seq))),
      );
      assert.equal(snap.consistent, true);
      const forged = await read("snapshot", "verify", ...stateOf("2"));
      assert.equal(forged.code, 4, forged.stdout + forged.stderr);
      assert.equal(forged.json().first_mismatch, "state_hash");
      ok(await runCli(["resync", "--hub", hub.dataDir, "--client", op, "--stream", "ledger", "--json"])); // lost client_seq
      const before = ok(await read("wallet", "ledger", "--account", oldId));
      assert.equal(before.balance, 65);

      const req = ok(
        await as(op, "op", "recovery-request", "--target-identity", oldId, "--new-identity", newId),
      );
      const approve = async (g: string) =>
        ok(
          await as(
            g,
            "op",
            "recovery-approval",
            "--target-identity",
            oldId,
            "--new-identity",
            newId,
            "--parent-op",
            req.operation_id as string,
          ),
        ).operation_id as string;
      // One approval is below the threshold of 2: the execution is rejected and changes nothing.
      const execute = (...approvals: string[]) =>
        as(
          op,
          "op",
          "recovery-execution",
          "--target-identity",
          oldId,
          "--new-identity",
          newId,
          ...approvals.flatMap((a) => ["--approval", a]),
        );
      const a1 = await approve(guardians[0]!);
      ok(await execute(a1));
      const policy = ["--threshold", "2", ...gIds.flatMap((g) => ["--guardian", g])];
      let tl = ok(await read("recovery", "timeline", "--target-identity", oldId, ...policy));
      assert.equal(tl.current_identity, oldId);
      const a2 = await approve(guardians[1]!);
      const a3 = await approve(guardians[2]!);
      ok(await execute(a1, a2, a3));
      tl = ok(await read("recovery", "timeline", "--target-identity", oldId, ...policy));
      const events = tl.events as { type: string; effective?: boolean; approver_identity: string | null }[];
      assert.deepEqual(events.map((e) => e.type), [
        "request",
        "approval",
        "execution",
        "approval",
        "approval",
        "execution",
      ]);
      assert.deepEqual(events.filter((e) => e.type === "execution").map((e) => e.effective), [false, true]);
      assert.deepEqual(events.filter((e) => e.type === "approval").map((e) => e.approver_identity), gIds);
      assert.equal(tl.current_identity, newId);
      // The timeline is folded from the recovery records only (not the paid operations of the same stream).
      const recFile = [...Deno.readDirSync(`${op}/overlays`)].find((e) =>
        e.name.endsWith("-veen.operations.recovery.json")
      );
      const recState = JSON.parse(Deno.readTextFileSync(`${op}/overlays/${recFile!.name}`)).state;
      const recKinds = (recState.records as { schema: string }[]).map((r) => r.schema.split(".")[1]);
      assert.deepEqual(recKinds, events.map((e) => e.type));
      // The ledger of the new identity: the old balance, and later payments to either identity.
      ok(await paid(SHOP, oldId, 1));
      const after = ok(await read("wallet", "ledger", "--account", newId, ...policy));
      assert.equal(after.balance, 66);
      const all = ok(await read("wallet", "ledger", ...policy));
      assert.equal((all.balances as Record<string, number>)[oldId], undefined);
      // A warm read fetches only the new items.
      assert.equal((all.fold as { fetched: number }).fetched, 0);

      // Audit policy: the first execution had one approval, fewer than 2.
      const policyFile = `${t.path}/policy.json`;
      await Deno.writeTextFile(
        policyFile,
        JSON.stringify({
          version: 1,
          rules: [
            {
              type: "require_recovery_threshold",
              target_identity_prefix: oldId.slice(0, 8),
              min_approvals: 2,
            },
            { type: "require_audit", stream: "ledger", resource_class: "personal-data" },
          ],
        }),
      );
      const check = () =>
        runCli([
          "audit",
          "enforce-check",
          "--hub",
          hub.dataDir,
          "--client",
          op,
          "--policy-file",
          policyFile,
          "--stream",
          "ledger",
          "--json",
        ]);
      let r = await check();
      assert.equal(r.code, 4, r.stdout + r.stderr);
      assert.equal((r.json().violations as string[]).length, 2);
      ok(
        await as(
          op,
          "op",
          "query-audit",
          "--requester",
          gIds[0]!,
          "--resource-id",
          "patient:1:labs",
          "--resource-class",
          "personal-data",
          "--purpose-code",
          "treatment",
        ),
      );
      r = await check();
      assert.equal((r.json().violations as string[]).length, 1);
      const rows = ok(await read("audit", "queries", "--resource-prefix", "patient:"));
      assert.equal((rows.rows as unknown[]).length, 1);
    } finally {
      await hub.close();
    }
  } finally {
    await t.cleanup();
  }
});

Deno.test("agreement status: each party's last decision counts; active when all accepted and effective", async () => {
  const t = await tempDir();
  const hub = await startRealHub(`${t.path}/hub`);
  try {
    const alice = await newClient(t.path, "alice");
    const bob = await newClient(t.path, "bob");
    const [aId, bId] = [await idOf(alice), await idOf(bob)];
    const agreement = "ab".repeat(32);
    const as = (dir: string, ...args: string[]) =>
      runCli([...args, "--hub", hub.dataDir, "--client", dir, "--stream", "deal", "--to", alice, "--json"]);
    const status = async () =>
      ok(
        await runCli([
          "agreement",
          "status",
          "--hub",
          hub.dataDir,
          "--client",
          alice,
          "--stream",
          "deal",
          "--agreement-id",
          agreement,
          "--json",
        ]),
      );
    ok(
      await as(
        alice,
        "op",
        "agreement-define",
        "--agreement-id",
        agreement,
        "--version",
        "1",
        "--terms-hash",
        "11".repeat(32),
        "--party",
        aId,
        "--party",
        bId,
      ),
    );
    const confirm = (dir: string, party: string, decision: string) =>
      as(
        dir,
        "op",
        "agreement-confirm",
        "--agreement-id",
        agreement,
        "--version",
        "1",
        "--party",
        party,
        "--decision",
        decision,
      );
    ok(await confirm(alice, aId, "accept"));
    ok(await confirm(bob, bId, "reject"));
    assert.equal((await status()).active, false);
    ok(await confirm(alice, bId, "accept")); // not signed by bob: ignored
    assert.equal((await status()).active, false);
    ok(await confirm(bob, bId, "accept")); // bob's last decision supersedes his reject (M1)
    const s = await status();
    assert.equal(s.active, true);
    assert.deepEqual((s.parties as { decision: string }[]).map((p) => p.decision), ["accept", "accept"]);
    assert.equal((s.ignored as unknown[]).length, 1);
    // Warm: only the one new item is folded, into the agreement summary; the operation log is never read.
    assert.deepEqual(s.fold, { upto_seq: 5, resumed_from: 4, fetched: 1, opaque: 0, refolded: false });
    const files = [...Deno.readDirSync(`${alice}/overlays`)].map((e) => e.name);
    assert.ok(files.some((n) => n.endsWith("-veen.operations.agreements.json")), files.join(" "));
    assert.ok(!files.some((n) => n.endsWith("-veen.operations.json")), files.join(" "));
  } finally {
    await hub.close();
    await t.cleanup();
  }
});

Deno.test("scenario §9.1: env init, kube render | apply (fake kubectl), keygen, access-grant, op paid, wallet ledger", async () => {
  const t = await tempDir();
  const bin = `${t.path}/bin`;
  await Deno.mkdir(bin);
  const fake = new URL("../ops/testdata/fake_kubectl.ts", import.meta.url).pathname;
  await Deno.writeTextFile(
    `${bin}/kubectl`,
    `#!/bin/sh\nexec "${Deno.execPath()}" run -A --no-config --no-lock --quiet "${fake}" "$@"\n`,
    { mode: 0o755 },
  );
  await Deno.writeTextFile(`${t.path}/kube.json`, JSON.stringify({ namespaces: ["default"] }));
  await Deno.writeTextFile(`${t.path}/argv.log`, "");
  const env = {
    PATH: `${bin}:${Deno.env.get("PATH")}`,
    FAKE_KUBE_STATE: `${t.path}/kube.json`,
    FAKE_KUBECTL_LOG: `${t.path}/argv.log`,
  };
  const veen = async (...args: string[]) => {
    const io = captureIo(env);
    const code = await main(args, io);
    return { code, stdout: io.stdout(), stderr: io.stderr(), json: () => JSON.parse(io.stdout()) };
  };
  let hub: Awaited<ReturnType<typeof startRealHub>> | undefined;
  try {
    // 1. the environment; 2. the deployment (kubectl is the fake: the hub itself runs locally below).
    ok(
      await veen(
        "env",
        "init",
        "--root",
        t.path,
        "--name",
        "prod",
        "--cluster-context",
        "kind-veens",
        "--namespace",
        "veen-tenants",
        "--json",
      ),
    );
    const envFile = `${t.path}/prod.env.json`;
    const rendered = await veen(
      "kube",
      "render",
      "--cluster-context",
      "kind-veens",
      "--namespace",
      "veen-tenants",
      "--name",
      "alpha",
      "--image",
      "veen:0.1.0",
      "--data-pvc",
      "veen-alpha-data",
    );
    assert.equal(rendered.code, 0, rendered.stderr);
    await Deno.writeTextFile(`${t.path}/hub.yaml`, rendered.stdout);
    const applied = await veen(
      "kube",
      "apply",
      "--cluster-context",
      "kind-veens",
      "--file",
      `${t.path}/hub.yaml`,
      "--wait-seconds",
      "30",
    );
    assert.equal(applied.code, 0, applied.stderr);
    assert.match(await Deno.readTextFile(`${t.path}/argv.log`), /"apply","-f","-"/);
    // 3. identities; the hub (standing in for the deployed pod) holds the admin key, admission on.
    const admin = await newClient(t.path, "admin");
    const user = await newClient(t.path, "user");
    const [adminId, userId] = [await idOf(admin), await idOf(user)];
    hub = await startRealHub(`${t.path}/hub`, { config: { adminKeys: [adminId], admission: "on" } });
    const profile = ok(await runCli(["hub", "status", "--hub", hub.url, "--json"])).profile_id as string;
    ok(
      await veen(
        "env",
        "add-hub",
        "--env",
        envFile,
        "--hub-name",
        "alpha",
        "--service-url",
        hub.url,
        "--profile-id",
        profile,
        "--json",
      ),
    );
    const at = ["--env", envFile, "--hub-name", "alpha"];
    // 4. grant access; 5. the paid operation; 6. the ledger — each with a bounded set of flags.
    const grant = ok(
      await veen(
        "op",
        "access-grant",
        ...at,
        "--admin",
        admin,
        "--subject-identity",
        userId,
        "--stream",
        "billing",
        "--expiry-time",
        String(Math.floor(Date.now() / 1000) + 3600),
        "--json",
      ),
    );
    ok(
      await veen(
        "op",
        "paid",
        ...at,
        "--client",
        user,
        "--stream",
        "billing",
        "--op-type",
        "translate",
        "--payer",
        userId,
        "--payee",
        SHOP,
        "--amount",
        "12",
        "--currency-code",
        "credits",
        "--auth-ref",
        grant.auth_ref as string,
        "--json",
      ),
    );
    const ledger = ok(
      await veen("wallet", "ledger", ...at, "--client", user, "--stream", "billing", "--json"),
    );
    assert.deepEqual(ledger.balances, { [userId]: -12, [SHOP]: 12 });
  } finally {
    await hub?.close();
    await t.cleanup();
  }
});
