/**
 * `audit publication`, `audit delegated` and `federate mirror-check` against real hubs: each passes on honest
 * records and fails (exit 4, named) on a wrong content root, a duplicate publication, a broken delegation link and a
 * mirror record that does not match the source RECEIPT.
 */
import assert from "node:assert/strict";
import { startRealHub } from "../testing/real_hub.ts";
import { newClient, runCli, tempDir } from "../testing/run.ts";

type Run = Awaited<ReturnType<typeof runCli>>;
const ok = (r: Run) => {
  assert.equal(r.code, 0, r.stdout + r.stderr);
  return r.json();
};
const fails = (r: Run, pattern: RegExp) => {
  assert.equal(r.code, 4, r.stdout + r.stderr);
  assert.match(r.stdout + r.stderr, pattern);
};
const idOf = async (dir: string) =>
  ok(await runCli(["id", "show", "--client", dir, "--json"])).client_id as string;

Deno.test("audit publication: the content root of files, and one publication per (publication_id, version)", async () => {
  const t = await tempDir();
  const hub = await startRealHub(`${t.path}/hub`);
  try {
    const c = await newClient(t.path, "c");
    const files = [1, 2, 3].map((i) => `${t.path}/part${i}`);
    for (const [i, f] of files.entries()) await Deno.writeTextFile(f, `part ${i}`);
    const pubId = "ee".repeat(32);
    const as = (...args: string[]) =>
      runCli([...args, "--hub", hub.dataDir, "--client", c, "--stream", "models", "--json"]);
    const publish = (version: string, ...more: string[]) =>
      as(
        "op",
        "publish",
        "--publication-id",
        pubId,
        "--publisher",
        "11".repeat(32),
        "--content-class",
        "model",
        "--version",
        version,
        ...more,
      );
    ok(await publish("v1", ...files.flatMap((f) => ["--file", f])));
    const verify = (...more: string[]) => as("audit", "publication", "--publication-id", pubId, ...more);
    assert.equal(ok(await verify(...files.flatMap((f) => ["--file", f]))).ok, true);
    fails(await verify(...files.slice(0, 2).flatMap((f) => ["--file", f])), /content root does not match/);
    fails(await verify(...[...files].reverse().flatMap((f) => ["--file", f])), /content root does not match/);
    ok(await publish("v1", "--content-root", "22".repeat(32)));
    fails(await verify("--version", "v1"), /P1/);
    ok(await publish("v2", "--content-root", "33".repeat(32)));
    assert.equal(ok(await verify("--content-root", "33".repeat(32))).version, "v2"); // latest in stream order
  } finally {
    await hub.close();
    await t.cleanup();
  }
});

Deno.test("audit delegated: principal → middle → agent resolved through GET /cap, link by link", async () => {
  const t = await tempDir();
  const p = await newClient(t.path, "principal");
  const m = await newClient(t.path, "middle");
  const a = await newClient(t.path, "agent");
  const [pId, mId, aId] = [await idOf(p), await idOf(m), await idOf(a)];
  const hub = await startRealHub(`${t.path}/hub`, { config: { trustedIssuers: [pId, mId] } });
  try {
    const cap = async (issuer: string, subject: string, out: string) => {
      ok(
        await runCli([
          "cap",
          "issue",
          "--issuer",
          issuer,
          "--subject",
          subject,
          "--stream",
          "jobs",
          "--ttl",
          "600",
          "--out",
          out,
          "--json",
        ]),
      );
      return ok(await runCli(["cap", "authorize", "--hub", hub.dataDir, "--cap", out, "--json"]))
        .auth_ref as string;
    };
    const c1 = await cap(p, mId, `${t.path}/c1`);
    const c2 = await cap(m, aId, `${t.path}/c2`);
    const wrong = await cap(p, aId, `${t.path}/c3`); // issued by the principal, not by the middle
    const as = (dir: string, ...args: string[]) =>
      runCli([...args, "--hub", hub.dataDir, "--client", dir, "--stream", "jobs", "--json"]);
    const delegated = (chain: string[]) =>
      as(
        a,
        "op",
        "delegated",
        "--principal",
        pId,
        "--agent",
        aId,
        "--delegation-cap",
        chain.join(","),
        "--operation-schema-id",
        "44".repeat(32),
        "--operation-body-json",
        '{"job":"resize"}',
      );
    const good = ok(await delegated([c1, c2]));
    const verify = (...more: string[]) => as(a, "audit", "delegated", ...more);
    assert.equal(ok(await verify()).not_applied, 0);
    ok(await delegated([c1, wrong]));
    ok(await delegated([c1, "55".repeat(32)]));
    const r = await verify();
    fails(r, /2 delegated execution\(s\) not applied/);
    const ops = r.json().operations as { applied: boolean; links: { ok: boolean; reason?: string }[] }[];
    assert.deepEqual(ops.map((o) => o.applied), [true, false, false]);
    assert.match(ops[1]!.links[1]!.reason!, /issuer is not the previous capability's subject/);
    assert.match(ops[2]!.links[1]!.reason!, /no cap_token/);
    assert.equal(ok(await verify("--operation-id", good.operation_id as string)).not_applied, 0);
  } finally {
    await hub.close();
    await t.cleanup();
  }
});

Deno.test("federate mirror-check: mirror-run's records match the source RECEIPTs; a forged one is named", async () => {
  const t = await tempDir();
  const src = await startRealHub(`${t.path}/a`);
  const dst = await startRealHub(`${t.path}/b`);
  try {
    const c = await newClient(t.path, "c");
    for (const n of [1, 2]) {
      ok(
        await runCli([
          "send",
          "--hub",
          src.url,
          "--client",
          c,
          "--stream",
          "orders",
          "--body",
          `{"n":${n}}`,
          "--json",
        ]),
      );
    }
    ok(
      await runCli([
        "federate",
        "mirror-run",
        "--source-hub",
        src.url,
        "--target-hub",
        dst.url,
        "--stream",
        "orders",
        "--client",
        c,
        "--json",
      ]),
    );
    const check = () =>
      runCli([
        "federate",
        "mirror-check",
        "--hub",
        dst.url,
        "--source-hub",
        src.url,
        "--client",
        c,
        "--stream",
        "orders",
        "--json",
      ]);
    const good = ok(await check());
    assert.equal(good.records, 2);
    assert.equal(good.mismatches, 0);
    const first = (good.checks as { stream_seq: number }[])[0]!;
    assert.ok(first.stream_seq > 0);
    const srcId = ok(await runCli(["hub", "status", "--hub", src.url, "--json"])).hub_id as string;
    const read = ok(
      await runCli(["stream", "--hub", src.url, "--client", c, "--stream", "orders", "--json"]),
    );
    const label = read.label as string;
    const leaf = (read.items as { msg_id: string }[])[0]!.msg_id;
    ok(
      await runCli([
        "op",
        "send",
        "--hub",
        dst.url,
        "--client",
        c,
        "--stream",
        "orders",
        "--schema-name",
        "federation.mirror.v1",
        "--body-json",
        JSON.stringify({
          source_hub_identifier: srcId,
          source_label: label,
          source_stream_seq: 1,
          source_leaf_hash: leaf,
          source_receipt_root: "66".repeat(32),
          target_label: "77".repeat(32),
        }),
        "--json",
      ]),
    );
    fails(await check(), /source_receipt_root is not the RECEIPT's mmr_root/);
  } finally {
    await src.close();
    await dst.close();
    await t.cleanup();
  }
});
