/**
 * The Query API end to end on a real hub: producers append record.event.v1 events sealed to the service, the
 * service (cli/query_service.ts) runs queries through the verified read path, and the CLI submits, pages and
 * recomputes rows_hash. Failure paths: a bad descriptor (400 invalid_query_descriptor), a duplicate query_id
 * (409), and a hub that serves a corrupted RECEIPT, which fails full and spot evidence but not mode none.
 */
import assert from "node:assert/strict";
import { captureIo, GLOBAL_FLAGS, Output, parseFlags } from "../../cmd/mod.ts";
import { rowsHash } from "../../overlays/mod.ts";
import type { CommandContext } from "../context.ts";
import { readKeystore } from "../keystore.ts";
import { type QueryService, startQueryService } from "../query_service.ts";
import { hubSeedOf, startMaliciousHub } from "../testing/malicious_hub.ts";
import { newClient, runCli } from "../testing/run.ts";
import { ok, withRealHub } from "../testing/with_real_hub.ts";
import { queryServe } from "./query.ts";

const STREAM = "record/app/http";
const T0 = 1_700_000_000;

async function produce(hub: string, producer: string, service: string, n: number) {
  for (let i = 0; i < n; i++) {
    ok(
      await runCli([
        "send",
        "--hub",
        hub,
        "--client",
        producer,
        "--stream",
        STREAM,
        "--to",
        service,
        "--schema",
        "record.event.v1",
        "--body-json",
        JSON.stringify({
          subject_id: `user:${i % 2}`,
          principal_id: "ab".repeat(32),
          event_type: i === 3 ? "logout" : "login",
          event_time: T0 + 60 * i,
          origin: "gw-1",
          payload: { status: 200 + i, path: "/login" },
        }),
      ]),
    );
  }
}

/** Starts the service in-process, as `veen query serve` does, with its own captured output. */
async function serve(hub: string, dir: string, extra: string[] = [], token?: string): Promise<QueryService> {
  const argv = ["--listen", "127.0.0.1:0", "--hub", hub, "--client", dir, ...extra];
  const io = captureIo();
  const ctx: CommandContext = {
    flags: parseFlags(argv, [...queryServe.flags, ...GLOBAL_FLAGS]),
    out: new Output(io, { json: true, quiet: false, verbose: false }),
    io,
    timeoutMs: 10_000,
    argv,
  };
  const { keys } = await readKeystore(dir, undefined);
  return await startQueryService({ ctx, dir, keys, listen: "127.0.0.1:0", allowScope: ["record/"], token });
}

const descriptor = (o: Record<string, unknown> = {}) =>
  JSON.stringify({
    scope: [STREAM],
    filter: { event_type: ["login"] },
    projection: ["subject_id", "event_time", "payload.status", "receipt_id"],
    evidence: { mode: "full" },
    ...o,
  });

async function post(
  svc: QueryService,
  body: string,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const r = await fetch(`${svc.url}/api/query/submit`, { method: "POST", body });
  return { status: r.status, json: await r.json() };
}

Deno.test("query: submit with full evidence, page the rows, verify-digest over all pages, read the descriptor", async () => {
  await withRealHub({}, async (hub, root) => {
    const service = await newClient(root, "service");
    const producer = await newClient(root, "producer");
    await produce(hub.url, producer, service, 5);
    const svc = await serve(hub.url, service);
    try {
      const sub = ok(
        await runCli([
          "query",
          "submit",
          "--service",
          svc.url,
          "--descriptor",
          descriptor({ query_id: "q-audit-1" }),
          "--wait",
          "--json",
        ]),
      ).json();
      assert.equal(sub.status, "completed");
      assert.equal(sub.query_id, "q-audit-1");
      const rid = String(sub.result_id);
      assert.match(rid, /^r-[0-9a-f]{64}$/);

      const pages = [];
      for (let off = 0; off < 4; off += 2) {
        pages.push(
          ok(
            await runCli([
              "query",
              "result",
              "--service",
              svc.url,
              "--result-id",
              rid,
              "--offset",
              String(off),
              "--limit",
              "2",
              "--json",
            ]),
          ).json(),
        );
      }
      const digests = pages.map((p) => p.result_digest as Record<string, unknown>);
      assert.equal(digests[0]!.rows_hash, digests[1]!.rows_hash, "pagination never changes rows_hash");
      const rows = pages.flatMap((p) => p.rows as Record<string, unknown>[]);
      assert.equal(rows.length, 4);
      assert.deepEqual(rows[0], {
        subject_id: "user:0",
        event_time: "2023-11-14T22:13:20Z",
        "payload.status": 200,
        receipt_id: rows[0]!.receipt_id,
      });
      assert.equal(digests[0]!.rows_hash, rowsHash(rows));
      assert.equal(digests[0]!.row_count, 4);
      assert.deepEqual(pages[1]!.page as Record<string, unknown>, {
        offset: 2,
        limit: 2,
        total: 4,
        has_more: false,
      });

      const v = ok(
        await runCli([
          "query",
          "verify-digest",
          "--service",
          svc.url,
          "--result-id",
          rid,
          "--page-size",
          "3",
          "--json",
        ]),
      ).json();
      assert.equal(v.verified, true);
      assert.equal(v.pages, 2);

      const desc = await (await fetch(`${svc.url}/api/query/descriptor/q-audit-1`)).json();
      assert.equal(desc.descriptor.version, 1);
      assert.deepEqual(desc.descriptor.filter.time, { from: null, to: null });
      assert.equal(desc.record_event.stream, "record/query/requests");
      assert.equal(desc.record_event.seq, 1);
      assert.match(desc.record_event.hub_id, /^[0-9a-f]{64}$/);

      const status = ok(await runCli(["query", "status", "--service", svc.url, "--result-id", rid, "--json"]))
        .json();
      assert.equal(status.status, "completed");
      assert.equal(status.error_code, null);

      // The digest is on record/query/results: the service's own verified read finds it.
      const agg = ok(
        await runCli([
          "query",
          "submit",
          "--service",
          svc.url,
          "--wait",
          "--json",
          "--descriptor",
          JSON.stringify({
            scope: ["record/query/results"],
            filter: { event_type: ["query.result"] },
            projection: ["payload"],
            evidence: { mode: "spot", sample_rate: 1 },
          }),
        ]),
      ).json();
      const res = await (await fetch(`${svc.url}/api/query/result/${agg.result_id}`)).json();
      assert.equal(JSON.parse(res.rows[0].payload).rows_hash, digests[0]!.rows_hash);

      // A duplicate query_id is 409, an unknown result 404, a bad page parameter 400.
      const dup = await post(svc, descriptor({ query_id: "q-audit-1" }));
      assert.equal(dup.status, 409);
      assert.equal(dup.json.error_code, "duplicate_query_id");
      const nf = await fetch(`${svc.url}/api/query/result/r-nothing`);
      assert.equal(nf.status, 404);
      assert.equal((await nf.json()).error_code, "query_not_found");
      const bad = await fetch(`${svc.url}/api/query/result/${rid}?limit=0`);
      assert.equal(bad.status, 400);
      await bad.body?.cancel();
    } finally {
      await svc.close();
    }
  });
});

Deno.test("query: a bad descriptor is 400 invalid_query_descriptor, bad JSON 400 invalid_json, a foreign scope 403", async () => {
  await withRealHub({}, async (hub, root) => {
    const service = await newClient(root, "service");
    await produce(hub.url, service, service, 1);
    const svc = await serve(hub.url, service);
    try {
      const bad = await post(svc, descriptor({ evidence: { mode: "spot" } }));
      assert.equal(bad.status, 400);
      assert.equal(bad.json.error_code, "invalid_query_descriptor");
      assert.match(String(bad.json.message), /sample_rate/);
      const cli = await runCli([
        "query",
        "submit",
        "--service",
        svc.url,
        "--descriptor",
        '{"scope":[]}',
        "--json",
      ]);
      assert.equal(cli.code, 4);
      assert.equal(cli.json().code, "invalid_query_descriptor");
      const notJson = await post(svc, "{nope");
      assert.equal(notJson.status, 400);
      assert.equal(notJson.json.error_code, "invalid_json");
      const foreign = await post(svc, descriptor({ scope: ["secret/stuff"] }));
      assert.equal(foreign.status, 403);
      assert.equal(foreign.json.error_code, "forbidden_scope");
      const unknown = await post(svc, descriptor({ scope: ["record/none"] }));
      assert.equal(unknown.status, 400);
      assert.match(String(unknown.json.message), /unknown to the hub/);
      const v2 = await post(svc, descriptor({ version: 2 }));
      assert.equal(v2.json.error_code, "unsupported_version");
    } finally {
      await svc.close();
    }
  });
});

Deno.test("query: a corrupted RECEIPT fails full and spot evidence (FAILED, final); mode none completes", async () => {
  await withRealHub({}, async (hub, root) => {
    const service = await newClient(root, "service");
    await produce(hub.url, service, service, 3);
    const evil = await startMaliciousHub({ upstream: hub.url, hubSeed: await hubSeedOf(hub.dataDir) });
    // A validly signed RECEIPT for stream_seq 2 whose mmr_root is not the one the verified read saw.
    evil.tamper.receipt = (r, seq) => {
      if (seq !== 2) return r;
      const root = r.mmrRoot.slice();
      root[0]! ^= 1;
      const { hubSig: _, ...u } = r;
      return evil.signReceipt({ ...u, mmrRoot: root });
    };
    const svc = await serve(evil.url, service);
    try {
      const results: Record<string, Record<string, unknown>> = {};
      for (const mode of ["full", "spot", "none"]) {
        const evidence = mode === "spot" ? { mode, sample_rate: 1 } : { mode };
        const a = await post(svc, descriptor({ filter: {}, evidence }));
        assert.equal(a.status, 202, JSON.stringify(a.json));
        await svc.idle();
        results[mode] = await (await fetch(`${svc.url}/api/query/status/${a.json.result_id}`)).json();
        const res = await fetch(`${svc.url}/api/query/result/${a.json.result_id}`);
        const body = await res.json();
        if (mode === "none") assert.equal(res.status, 200, JSON.stringify(body));
        else {
          assert.equal(res.status, 500);
          assert.equal(body.error_code, "execution_failed");
        }
      }
      assert.equal(results.full!.status, "failed");
      assert.equal(results.full!.error_code, "execution_failed");
      assert.match(
        String(results.full!.message),
        /E\.SIG: RECEIPT resolved for record\/app\/http stream_seq 2/,
      );
      assert.equal(results.spot!.status, "failed");
      assert.equal(results.none!.status, "completed");
      // Final states do not change: the same failed result stays failed with the hub honest again.
      evil.tamper = {};
      await svc.idle();
      const again = await (await fetch(`${svc.url}/api/query/status/${results.full!.result_id}`)).json();
      assert.deepEqual(again, results.full);
    } finally {
      await svc.close();
      await evil.close();
    }
  });
});

Deno.test("query: with a bearer token configured, a request without it is 401 unauthorized; --token-env sends it", async () => {
  await withRealHub({}, async (hub, root) => {
    const service = await newClient(root, "service");
    await produce(hub.url, service, service, 1);
    const svc = await serve(hub.url, service, [], "s3cret");
    try {
      const anon = await post(svc, descriptor());
      assert.equal(anon.status, 401);
      assert.equal(anon.json.error_code, "unauthorized");
      const r = ok(
        await runCli(
          [
            "query",
            "submit",
            "--service",
            svc.url,
            "--descriptor",
            descriptor(),
            "--token-env",
            "QT",
            "--wait",
            "--json",
          ],
          { QT: "s3cret" },
        ),
      ).json();
      assert.equal(r.status, "completed");
    } finally {
      await svc.close();
    }
  });
});
