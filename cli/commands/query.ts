/**
 * `veen query serve|submit|status|result|verify-digest` (spec 001 query-api §7; docs/query-api.md).
 *
 * serve: runs the Query API service (cli/query_service.ts) on a loopback `--listen` address with the read keys of
 * `--client`, until SIGINT/SIGTERM or `--for-ms`. The other commands are its HTTP clients (`--service URL`, default
 * $VEEN_QUERY_SERVICE): an error answer exits 4 with the service's error_code as the code. verify-digest fetches
 * every page and recomputes rows_hash over all rows: a mismatch (or a digest that changes between pages) exits 4.
 */
import { MAX_TIMER_MS } from "../../core/mod.ts";
import { type ResultDigest, rowsHash } from "../../overlays/mod.ts";
import { CommandError, transportError, usageError } from "../../cmd/mod.ts";
import { parseJsonFlag } from "../body.ts";
import {
  CLIENT_FLAG,
  clientDir,
  type Command,
  type CommandContext,
  HUB_FLAG,
  HUB_KEY_FLAG,
  loadKeys,
  PASSPHRASE_FLAG,
} from "../context.ts";
import { readInputFile } from "../files.ts";
import { MAX_PAGE, startQueryService } from "../query_service.ts";

const SERVICE_FLAG = {
  name: "service",
  metavar: "URL",
  help: "Query API service URL (default: $VEEN_QUERY_SERVICE)",
};
const TOKEN_FLAG = {
  name: "token-env",
  metavar: "VAR",
  help: "environment variable holding the bearer token",
};
const RESULT_FLAG = { name: "result-id", metavar: "RID", required: true, help: "result_id from submit" };

function tokenOf(ctx: CommandContext): string | undefined {
  const v = ctx.flags.str("token-env");
  if (v === undefined) return undefined;
  const t = ctx.io.env(v);
  if (t === undefined || t === "") {
    throw usageError(`Environment variable "${v}" named by --token-env is not set`);
  }
  return t;
}

/** One request to the service: the JSON answer of a 2xx, else a check failure carrying its error_code. */
async function call(
  ctx: CommandContext,
  method: string,
  path: string,
  body?: string,
): Promise<Record<string, unknown>> {
  const base = ctx.flags.str("service") ?? ctx.io.env("VEEN_QUERY_SERVICE");
  if (base === undefined || base === "") {
    throw usageError("Missing required flag --service (or set VEEN_QUERY_SERVICE)");
  }
  const token = tokenOf(ctx);
  let res: Response;
  try {
    res = await fetch(`${base.replace(/\/$/, "")}${path}`, {
      method,
      signal: AbortSignal.timeout(ctx.timeoutMs),
      headers: {
        ...(body === undefined ? {} : { "content-type": "application/json" }),
        ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      },
      ...(body === undefined ? {} : { body }),
    });
  } catch (e) {
    throw transportError(`Query service at ${base} is unreachable (${(e as Error).message})`, e);
  }
  let answer: Record<string, unknown>;
  try {
    answer = await res.json() as Record<string, unknown>;
  } catch (e) {
    throw transportError(`Query service answered ${res.status} without JSON`, e);
  }
  if (!res.ok) {
    const code = typeof answer.error_code === "string" ? answer.error_code : `http_${res.status}`;
    throw new CommandError("check", String(answer.message ?? res.statusText), {
      code,
      report: { json: { status: res.status, error_code: code, message: answer.message ?? null } },
    });
  }
  return answer;
}

const rid = (ctx: CommandContext) => encodeURIComponent(ctx.flags.req("result-id"));

export const queryServe: Command = {
  path: ["query", "serve"],
  summary: "run the Query API service on a loopback address with this client's read keys",
  usage:
    "veen query serve --listen 127.0.0.1:PORT --hub H --client DIR [--allow-scope PREFIX]... [--token-env VAR] [--for-ms N]",
  flags: [
    { name: "listen", metavar: "HOST:PORT", required: true, help: "loopback address (port 0 picks one)" },
    HUB_FLAG,
    CLIENT_FLAG,
    {
      name: "allow-scope",
      metavar: "PREFIX",
      multiple: true,
      help: "stream-name prefix a scope may name (default any)",
    },
    { ...TOKEN_FLAG, help: "environment variable holding the bearer token every request must carry" },
    { name: "for-ms", metavar: "N", help: "stop after N milliseconds (default: until SIGINT or SIGTERM)" },
    HUB_KEY_FLAG,
    PASSPHRASE_FLAG,
  ],
  async run(ctx) {
    const dir = clientDir(ctx);
    const forMs = ctx.flags.int("for-ms", { min: 1, max: MAX_TIMER_MS });
    const keys = await loadKeys(ctx, dir);
    const svc = await startQueryService({
      ctx,
      dir,
      keys,
      listen: ctx.flags.req("listen"),
      token: tokenOf(ctx),
      allowScope: ctx.flags.list("allow-scope"),
      onEvent: (e) => ctx.out.item(e, [Object.entries(e).map(([k, v]) => `${k} ${v}`).join(", ")]),
    });
    ctx.out.item({ listening: svc.url }, [`listening on ${svc.url}`]);
    const stop = Promise.withResolvers<void>();
    const onSignal = () => stop.resolve();
    Deno.addSignalListener("SIGINT", onSignal);
    Deno.addSignalListener("SIGTERM", onSignal);
    const timer = forMs === undefined ? undefined : setTimeout(onSignal, forMs);
    try {
      await stop.promise;
    } finally {
      clearTimeout(timer);
      Deno.removeSignalListener("SIGINT", onSignal);
      Deno.removeSignalListener("SIGTERM", onSignal);
      await svc.close();
    }
    return 0;
  },
};

export const querySubmit: Command = {
  path: ["query", "submit"],
  summary: "submit a QueryDescriptor; with --wait, wait for its final state",
  usage:
    "veen query submit --service URL (--descriptor JSON | --descriptor-file FILE) [--wait] [--poll-ms N] [--token-env VAR]",
  flags: [
    SERVICE_FLAG,
    { name: "descriptor", metavar: "JSON", help: "the (partial) QueryDescriptor" },
    { name: "descriptor-file", metavar: "FILE", help: "file holding the QueryDescriptor" },
    { name: "wait", arity: 0, help: "poll status until completed or failed (failed exits 4)" },
    { name: "poll-ms", metavar: "N", help: "polling interval with --wait (default 100)" },
    TOKEN_FLAG,
  ],
  async run(ctx) {
    const inline = ctx.flags.str("descriptor");
    const file = ctx.flags.str("descriptor-file");
    if ((inline === undefined) === (file === undefined)) {
      throw usageError("Give one of --descriptor or --descriptor-file");
    }
    const text = inline ?? new TextDecoder().decode(await readInputFile(file!, "descriptor"));
    parseJsonFlag(text, inline === undefined ? "--descriptor-file" : "--descriptor");
    const pollMs = ctx.flags.int("poll-ms", { min: 1, max: MAX_TIMER_MS }) ?? 100;
    let a = await call(ctx, "POST", "/api/query/submit", text);
    if (ctx.flags.bool("wait")) {
      const deadline = ctx.io.now() + ctx.timeoutMs;
      while (a.status !== "completed" && a.status !== "failed") {
        if (ctx.io.now() >= deadline) {
          throw usageError(`Result "${a.result_id}" still ${a.status} after ${ctx.timeoutMs} ms`);
        }
        await ctx.io.sleep(pollMs);
        a = await call(ctx, "GET", `/api/query/status/${encodeURIComponent(String(a.result_id))}`);
      }
      if (a.status === "failed") {
        throw new CommandError("check", String(a.message), {
          code: String(a.error_code),
          report: { json: a },
        });
      }
    }
    ctx.out.fields({ query_id: a.query_id, result_id: a.result_id, status: a.status });
    return 0;
  },
};

export const queryStatus: Command = {
  path: ["query", "status"],
  summary: "print a query result's state (pending, running, completed, failed)",
  usage: "veen query status --service URL --result-id RID [--token-env VAR]",
  flags: [SERVICE_FLAG, RESULT_FLAG, TOKEN_FLAG],
  async run(ctx) {
    ctx.out.fields(await call(ctx, "GET", `/api/query/status/${rid(ctx)}`));
    return 0;
  },
};

export const queryResult: Command = {
  path: ["query", "result"],
  summary: "print one page of a completed result with its ResultDigest",
  usage: "veen query result --service URL --result-id RID [--offset N] [--limit N] [--token-env VAR]",
  flags: [
    SERVICE_FLAG,
    RESULT_FLAG,
    { name: "offset", metavar: "N", help: "first row (default 0)" },
    { name: "limit", metavar: "N", help: `rows per page, 1..${MAX_PAGE} (default ${MAX_PAGE})` },
    TOKEN_FLAG,
  ],
  async run(ctx) {
    const offset = ctx.flags.int("offset") ?? 0;
    const limit = ctx.flags.int("limit", { min: 1, max: MAX_PAGE }) ?? MAX_PAGE;
    const a = await call(ctx, "GET", `/api/query/result/${rid(ctx)}?offset=${offset}&limit=${limit}`);
    const d = a.result_digest as ResultDigest;
    const rows = a.rows as unknown[];
    ctx.out.result(a, [
      `query_id: ${d.query_id}`,
      `row_count: ${d.row_count}`,
      `rows_hash: ${d.rows_hash}`,
      `evidence: ${d.evidence_policy.mode}`,
      ...rows.map((r) => JSON.stringify(r)),
    ]);
    return 0;
  },
};

export const queryVerifyDigest: Command = {
  path: ["query", "verify-digest"],
  summary: "fetch every page of a result and recompute rows_hash and row_count against its ResultDigest",
  usage: "veen query verify-digest --service URL --result-id RID [--page-size N] [--token-env VAR]",
  flags: [
    SERVICE_FLAG,
    RESULT_FLAG,
    { name: "page-size", metavar: "N", help: `rows per request, 1..${MAX_PAGE} (default ${MAX_PAGE})` },
    TOKEN_FLAG,
  ],
  async run(ctx) {
    const size = ctx.flags.int("page-size", { min: 1, max: MAX_PAGE }) ?? MAX_PAGE;
    const rows: Record<string, unknown>[] = [];
    let digest: ResultDigest | undefined;
    let pages = 0;
    for (;;) {
      const a = await call(ctx, "GET", `/api/query/result/${rid(ctx)}?offset=${rows.length}&limit=${size}`);
      pages++;
      const d = a.result_digest as ResultDigest;
      if (digest !== undefined && JSON.stringify(d) !== JSON.stringify(digest)) {
        throw new CommandError("check", `ResultDigest changed between pages (page ${pages})`, {
          code: "digest_mismatch",
        });
      }
      digest = d;
      const page = a.rows as Record<string, unknown>[];
      rows.push(...page);
      if (!(a.page as { has_more: boolean }).has_more || page.length === 0) break;
    }
    const recomputed = rowsHash(rows);
    const json = {
      query_id: digest.query_id,
      result_id: digest.result_id,
      row_count: digest.row_count,
      rows_fetched: rows.length,
      pages,
      rows_hash: digest.rows_hash,
      recomputed,
    };
    if (recomputed !== digest.rows_hash || rows.length !== digest.row_count) {
      throw new CommandError(
        "check",
        `rows_hash over ${rows.length} rows is ${recomputed}, the digest says ${digest.rows_hash} over ${digest.row_count}`,
        {
          code: "digest_mismatch",
          report: { json, lines: Object.entries(json).map(([k, v]) => `${k}: ${v}`) },
        },
      );
    }
    ctx.out.result({ ...json, verified: true }, [
      `rows_hash: ${recomputed} (${rows.length} rows in ${pages} page(s)) matches the ResultDigest`,
    ]);
    return 0;
  },
};

export const QUERY_COMMANDS: readonly Command[] = [
  queryServe,
  querySubmit,
  queryStatus,
  queryResult,
  queryVerifyDigest,
];
