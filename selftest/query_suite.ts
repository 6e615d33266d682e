/**
 * `veen selftest query` (spec 001 query-api; CLI goals): the Query API end to end. It runs `veen query serve` in
 * the background with a service client's read keys, records record.event.v1 events sealed to it, and checks
 * submit → completed with full and spot evidence, pagination that keeps rows_hash, `verify-digest` over all pages,
 * the descriptor recorded on record/query/requests, and the refusals (invalid_query_descriptor,
 * duplicate_query_id). Works against its own hub or a deployed one (`--hub URL`, streams private to the run).
 */
import { check, type Harness, short } from "./harness.ts";
import { type Client, keygen, sendArgs } from "./core_steps/context.ts";

const SUITE = "query";

export const QUERY_GOAL =
  "query serve; record.event.v1 events; submit with full and spot evidence completes; pages keep rows_hash; " +
  "verify-digest over all pages; descriptor on record/query/requests; invalid_query_descriptor and duplicate_query_id";

interface QueryCtx {
  url: string;
  service: Client;
  producer: Client;
  api?: string;
  rid?: string;
  queryId: string;
  stream: string;
}

/** Reads a background command's stdout up to its first line (the serve command's `listening` item). */
async function firstLine(child: Deno.ChildProcess): Promise<string> {
  const reader = child.stdout.getReader();
  const dec = new TextDecoder();
  let text = "";
  try {
    while (!text.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += dec.decode(value, { stream: true });
    }
  } finally {
    reader.releaseLock();
  }
  return text.split("\n")[0] ?? "";
}

const EVENTS = 6;

function steps(h: Harness): { name: string; goal: string; run(c: QueryCtx, ev: string[]): Promise<void> }[] {
  const submit = (
    c: QueryCtx,
    d: Record<string, unknown>,
  ) => ["query", "submit", "--service", c.api!, "--descriptor", JSON.stringify(d)];
  const base = (c: QueryCtx) => ({
    scope: [c.stream],
    filter: { event_type: ["login"] },
    projection: ["subject_id", "event_time", "payload.n", "receipt_id"],
  });
  return [
    {
      name: "record",
      goal: `${EVENTS} record.event.v1 events sealed to the service (veen send --body-json)`,
      async run(c, ev) {
        for (let i = 0; i < EVENTS; i++) {
          await h.ok([
            ...sendArgs(c.url, c.producer.dir, c.stream),
            "--to",
            c.service.dir,
            "--schema",
            "record.event.v1",
            "--body-json",
            JSON.stringify({
              subject_id: `user:${i % 3}`,
              principal_id: c.producer.clientId,
              event_type: i === 4 ? "logout" : "login",
              event_time: 1_700_000_000 + i,
              origin: "selftest",
              payload: { n: i },
            }),
          ]);
        }
        ev.push(`${EVENTS} events on ${c.stream}`);
      },
    },
    {
      name: "full-evidence",
      goal:
        "submit --wait with evidence full: completed, every login row, each receipt re-resolved and verified",
      async run(c, ev) {
        const a = await h.ok([
          ...submit(c, { ...base(c), query_id: c.queryId, evidence: { mode: "full" } }),
          "--wait",
        ]);
        check(a.status === "completed", `submit --wait: status ${a.status}`);
        c.rid = String(a.result_id);
        const r = await h.ok(["query", "result", "--service", c.api!, "--result-id", c.rid]);
        const d = r.result_digest as Record<string, unknown>;
        check(d.row_count === EVENTS - 1, `row_count ${d.row_count}, expected ${EVENTS - 1}`);
        check((d.evidence_policy as Record<string, unknown>).mode === "full", "evidence_policy is not full");
        ev.push(
          `result ${short(c.rid)}: ${d.row_count} rows, rows_hash ${short(d.rows_hash)}, evidence full`,
        );
      },
    },
    {
      name: "pagination",
      goal: "pages of 2 carry the same ResultDigest; verify-digest recomputes rows_hash over all pages",
      async run(c, ev) {
        const hashes = new Set<unknown>();
        for (let off = 0; off < EVENTS; off += 2) {
          const p = await h.ok([
            "query",
            "result",
            "--service",
            c.api!,
            "--result-id",
            c.rid!,
            "--offset",
            String(off),
            "--limit",
            "2",
          ]);
          hashes.add((p.result_digest as Record<string, unknown>).rows_hash);
        }
        check(hashes.size === 1, `pages carry ${hashes.size} different rows_hash values`);
        const v = await h.ok([
          "query",
          "verify-digest",
          "--service",
          c.api!,
          "--result-id",
          c.rid!,
          "--page-size",
          "2",
        ]);
        check(v.verified === true, "verify-digest did not verify");
        ev.push(
          `verify-digest: ${v.rows_fetched} rows in ${v.pages} pages, rows_hash ${short(v.recomputed)}`,
        );
      },
    },
    {
      name: "descriptor",
      goal: "the normalized descriptor is recorded on record/query/requests",
      async run(c, ev) {
        const d = await h.json(`${c.api}/api/query/descriptor/${c.queryId}`);
        const rec = d.record_event as Record<string, unknown>;
        check(rec?.stream === "record/query/requests", `record_event.stream ${rec?.stream}`);
        const desc = d.descriptor as Record<string, unknown>;
        check(desc.version === 1, `descriptor version ${desc.version}`);
        ev.push(
          `descriptor ${c.queryId}: record/query/requests stream_seq ${rec.seq}, receipt ${
            short(rec.receipt_id)
          }`,
        );
      },
    },
    {
      name: "spot-evidence",
      goal: "spot evidence at sample_rate 0.5 completes with a deterministic sample",
      async run(c, ev) {
        const a = await h.ok([
          ...submit(c, { ...base(c), evidence: { mode: "spot", sample_rate: 0.5 } }),
          "--wait",
        ]);
        check(a.status === "completed", `spot query: status ${a.status}`);
        ev.push(`spot query ${short(a.result_id)}: completed`);
      },
    },
    {
      name: "refusals",
      goal: "a bad descriptor exits 4 invalid_query_descriptor; a reused query_id exits 4 duplicate_query_id",
      async run(c, ev) {
        await h.refused(submit(c, { ...base(c), evidence: { mode: "spot" } }), "invalid_query_descriptor");
        await h.refused(
          submit(c, { ...base(c), query_id: c.queryId, evidence: { mode: "none" } }),
          "duplicate_query_id",
        );
        ev.push("spot without sample_rate: invalid_query_descriptor; reused query_id: duplicate_query_id");
      },
    },
  ];
}

export async function querySuite(h: Harness): Promise<void> {
  h.report.beginSuite(SUITE, QUERY_GOAL);
  let c: QueryCtx | undefined;
  const ok = await h.step(
    SUITE,
    "setup",
    "a hub, a service client running veen query serve, a producer",
    async (ev) => {
      const { url } = await h.suiteHub(ev, "query", {}, "query");
      const service = await keygen(h, "query-service");
      const producer = await keygen(h, "query-producer");
      c = {
        url,
        service,
        producer,
        queryId: `q-selftest-${h.runId}`,
        stream: h.stream("record/app/selftest"),
      };
      const child = h.spawnBackground([
        "query",
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--hub",
        url,
        "--client",
        service.dir,
        "--json",
      ]);
      const line = await firstLine(child);
      let listening: unknown;
      try {
        listening = (JSON.parse(line) as Record<string, unknown>).listening;
      } catch {
        listening = undefined;
      }
      check(
        typeof listening === "string",
        `veen query serve printed ${JSON.stringify(line)} instead of its address`,
      );
      c.api = listening;
      ev.push(`veen query serve: ${listening} (pid ${child.pid})`);
    },
    { critical: true },
  );
  if (!ok || c === undefined) return;
  for (const s of steps(h)) await h.step(SUITE, s.name, s.goal, (ev) => s.run(c!, ev));
}
