/**
 * `veen selftest hardened` (CLI-GOALS-2 §8.3, spec 002 §5 SH1+): against a hub with proof of work on
 * (pow_difficulty 10, max_msg_bytes 4096), or a deployed hub with `--hub URL`:
 *
 * - oversized MSGs and oversized garbage are 413 E.SIZE and the hub stays healthy;
 * - malformed CBOR (carrying valid PoW cookies, so it reaches the structure stage) is 413 E.SIZE, no crash;
 * - bounds first: `veen_sig_verify_attempts_total` did not move for any of that input, and `veen hub
 *   admission-log` shows the refusals at stages 0 and 1, `veen hub admission` the four stages;
 * - proof of work: `veen pow request` + `veen pow solve`, a send with that cookie, its replay refused with
 *   E.AUTH, a batch of sends (cookies solved by the CLI) all accepted, the same MSGs without a cookie all refused
 *   with 403 E.AUTH.
 */
import { concat, encodeMsg, formatPowCookie, fromHex, solvePow, u32be } from "../core/mod.ts";
import { Crafter } from "./craft.ts";
import {
  check,
  describeAnswer,
  expectError,
  fail,
  type Harness,
  type HubHandle,
  processAlive,
  StepSkipped,
} from "./harness.ts";
import { arr, keygen, num, sendArgs, stopAfterStep, str } from "./core_steps/context.ts";

const SUITE = "hardened";
export const HARDENED_GOAL =
  "SH1+ staged admission: oversized and malformed input is E.SIZE before any signature work, the hub stays up, " +
  "proof-of-work cookies are required, single use and solvable by the CLI (CLI-GOALS-2 §8.3)";

const POW_DIFFICULTY = 10;
const MAX_MSG_BYTES = 4096;
const BATCH = 5;

interface HardenedCtx {
  url: string;
  hub: HubHandle | undefined;
  info: Record<string, unknown>;
  client: string;
  powDifficulty: number;
  /** veen_sig_verify_attempts_total before the garbage steps. */
  sigBefore: number;
  /** Garbage requests sent by the oversize and malformed steps. */
  garbage: number;
}

/** veen_sig_verify_attempts_total from GET /metrics. */
async function sigAttempts(h: Harness, url: string): Promise<number> {
  const r = await h.http(`${url}/metrics`);
  const m = /^veen_sig_verify_attempts_total (\d+)$/m.exec(new TextDecoder().decode(r.body));
  if (m === null) fail("GET /metrics has no veen_sig_verify_attempts_total");
  return Number(m[1]);
}

/** A solved `Veen-PoW` header from GET /pow/challenge (none when the hub does not require PoW). */
async function cookieHeader(h: Harness, c: HardenedCtx): Promise<Record<string, string>> {
  if (c.powDifficulty === 0) return {};
  const j = await h.json(`${c.url}/pow/challenge`);
  const challenge = fromHex(str(j.challenge, "challenge"), 32);
  const nonce = solvePow(challenge, num(j.difficulty, "difficulty"))!;
  return { "veen-pow": formatPowCookie({ challenge, nonce: BigInt(nonce) }) };
}

function postRaw(h: Harness, url: string, body: Uint8Array, headers: Record<string, string> = {}) {
  return h.http(`${url}/submit`, {
    method: "POST",
    body: body as BodyInit,
    headers: { "content-type": "application/cbor", ...headers },
  });
}

async function healthy(h: Harness, c: HardenedCtx, ev: string[]): Promise<void> {
  const health = await h.json(`${c.url}/healthz`);
  check(health.ok === true, "the hub is not healthy after the input above");
  if (c.hub !== undefined) check(processAlive(c.hub.pid), `hub pid ${c.hub.pid} is gone`);
  ev.push("GET /healthz: ok true (the hub stayed up)");
}

export async function hardenedSuite(h: Harness): Promise<void> {
  h.report.beginSuite(SUITE, HARDENED_GOAL);
  const c: HardenedCtx = {
    url: "",
    hub: undefined,
    info: {},
    client: "",
    powDifficulty: 0,
    sigBefore: 0,
    garbage: 0,
  };
  await h.step(SUITE, "setup", "start a hub with proof of work on, create a client", async (ev) => {
    ({ url: c.url, hub: c.hub, info: c.info } = await h.suiteHub(
      ev,
      "hardened",
      {
        admission: "off",
        env: { VEEN_POW_DIFFICULTY: String(POW_DIFFICULTY), VEEN_MAX_MSG_BYTES: String(MAX_MSG_BYTES) },
      },
      `pow_difficulty ${POW_DIFFICULTY}, max_msg_bytes ${MAX_MSG_BYTES}`,
    ));
    c.powDifficulty = typeof c.info.pow_difficulty === "number" ? c.info.pow_difficulty : 0;
    if (c.hub !== undefined) {
      check(
        c.powDifficulty === POW_DIFFICULTY,
        `GET /info pow_difficulty ${c.powDifficulty}, configured ${POW_DIFFICULTY}`,
      );
    }
    const st = await h.ok(["hub", "status", "--hub", c.url]);
    check(
      st.pow === (c.powDifficulty > 0),
      `veen hub status says pow ${st.pow}, /info pow_difficulty ${c.powDifficulty}`,
    );
    ev.push(
      `veen hub status: pow ${st.pow}, pow_difficulty ${st.pow_difficulty}; max_msg_bytes ${c.info.max_msg_bytes}`,
    );
    c.client = (await keygen(h, "hardened")).dir;
    c.sigBefore = await sigAttempts(h, c.url);
    ev.push(`veen_sig_verify_attempts_total before: ${c.sigBefore}`);
  }, { critical: true });

  await h.step(
    SUITE,
    "oversized",
    "oversized MSGs and garbage are 413 E.SIZE; the hub stays responsive",
    async (ev) => {
      const max = num(c.info.max_msg_bytes, "GET /info max_msg_bytes");
      const w = new Crafter(`${h.opts.seed}/${h.runId}/hardened`, h.stream("hardened/size"));
      const over = w.bytesOfSize(max + 1);
      ev.push(
        `MSG of ${over.length} bytes: ${
          expectError(await postRaw(h, c.url, over, await cookieHeader(h, c)), "E.SIZE", "oversized MSG")
        }`,
      );
      const garbage = h.rng.bytes(max * 4);
      ev.push(
        `${garbage.length} random bytes: ${
          expectError(
            await postRaw(h, c.url, garbage, await cookieHeader(h, c)),
            "E.SIZE",
            "oversized garbage",
          )
        }`,
      );
      // Without a declared length the body is cut off while it is read.
      const chunked = new ReadableStream<Uint8Array>({
        start(ctl) {
          ctl.enqueue(h.rng.bytes(max));
          ctl.enqueue(h.rng.bytes(max));
          ctl.close();
        },
      });
      const r = await h.http(`${c.url}/submit`, {
        method: "POST",
        body: chunked,
        headers: { "content-type": "application/cbor", ...(await cookieHeader(h, c)) },
      });
      ev.push(
        `${2 * max} streamed bytes without Content-Length: ${
          expectError(r, "E.SIZE", "streamed oversized body")
        }`,
      );
      c.garbage += 3;
      await healthy(h, c, ev);
    },
  );

  await h.step(
    SUITE,
    "malformed",
    "malformed CBOR (with valid PoW cookies) is 413 E.SIZE, no crash",
    async (ev) => {
      const w = new Crafter(`${h.opts.seed}/${h.runId}/hardened-m`, h.stream("hardened/malformed"));
      const good = w.bytes();
      const cases: [string, Uint8Array][] = [
        ["empty body", new Uint8Array(0)],
        ["a lone break byte", new Uint8Array([0xff])],
        ["a truncated MSG", good.subarray(0, good.length - 7)],
        ["a MSG with a trailing byte", concat(good, new Uint8Array([0]))],
        ["a map instead of an array", new Uint8Array([0xa1, 0x01, 0x02])],
        ["an array of 10 wrong types", new Uint8Array([0x8a, ...new Array(10).fill(0x60)])],
        ["a non-minimal length prefix", concat(new Uint8Array([0x9a]), u32be(10), good.subarray(1))],
        ["random bytes", h.rng.bytes(512)],
      ];
      for (const [what, body] of cases) {
        const r = await postRaw(h, c.url, body, await cookieHeader(h, c));
        ev.push(`${what} (${body.length} bytes): ${expectError(r, "E.SIZE", what)}`);
        c.garbage++;
      }
      await healthy(h, c, ev);
    },
  );

  await h.step(
    SUITE,
    "bounds-first",
    "no signature was verified for any of that input (veen_sig_verify_attempts_total)",
    async (ev) => {
      const after = await sigAttempts(h, c.url);
      ev.push(
        `veen_sig_verify_attempts_total: ${c.sigBefore} before, ${after} after ${c.garbage} garbage requests`,
      );
      if (after !== c.sigBefore) {
        if (h.deployed) {
          throw new StepSkipped(
            `the deployed hub verified ${after - c.sigBefore} signatures meanwhile (other traffic?)`,
          );
        }
        fail(
          `the hub started ${
            after - c.sigBefore
          } signature verifications for input that is not a well-formed MSG`,
        );
      }
      const log = await h.ok([
        "hub",
        "admission-log",
        "--hub",
        c.url,
        "--codes",
        "E.SIZE",
        "--limit",
        String(c.garbage),
      ]);
      const events = arr(log.events, "admission-log events");
      check(
        events.length === c.garbage,
        `veen hub admission-log lists ${events.length} E.SIZE refusals, expected ${c.garbage}`,
      );
      const stages = new Set(events.map((e) => e.stage));
      check(
        [...stages].every((s) => s === "stage0-prefilter" || s === "stage1-structure"),
        `E.SIZE refusals at stages ${
          [...stages].join(", ")
        }; expected only stage0-prefilter and stage1-structure`,
      );
      ev.push(
        `veen hub admission-log --codes E.SIZE: ${events.length} events at ${[...stages].sort().join(", ")}`,
      );
      const adm = await h.ok(["hub", "admission", "--hub", c.url]);
      const names = arr(adm.stages, "admission stages").map((s) => s.name);
      check(
        names.join(",") === "stage0-prefilter,stage1-structure,stage2-crypto-auth,stage3-commit",
        `veen hub admission lists stages ${names.join(", ")}`,
      );
      ev.push(`veen hub admission: ${names.join(" → ")}`);
    },
  );

  await h.step(
    SUITE,
    "pow",
    "pow request + pow solve; sends with PoW accepted, without it E.AUTH, a replay E.AUTH",
    async (ev) => {
      if (c.powDifficulty === 0) {
        throw new StepSkipped(
          "the hub does not require proof of work (pow_difficulty 0)",
        );
      }
      const stream = h.stream("hardened/pow");
      const req = await h.ok(["pow", "request", "--hub", c.url]);
      const challenge = str(req.challenge, "pow request challenge");
      const d = num(req.difficulty, "pow request difficulty");
      const solved = await h.ok(["pow", "solve", "--challenge", challenge, "--difficulty", String(d)]);
      check(solved.hash_prefix_ok === true, "pow solve did not report hash_prefix_ok");
      ev.push(
        `veen pow request: difficulty ${d}; veen pow solve: nonce ${solved.nonce} (0x${solved.nonce_hex})`,
      );
      const pair = ["--pow-challenge", challenge, "--pow-nonce", String(solved.nonce)];
      const first = await h.ok([...sendArgs(c.url, c.client, stream), "--body", '{"n":0}', ...pair]);
      ev.push(`veen send --pow-challenge --pow-nonce: stream_seq ${first.stream_seq}`);
      const replay = await h.refused([
        ...sendArgs(c.url, c.client, stream),
        "--body",
        '{"n":"replay"}',
        ...pair,
      ], "E.AUTH");
      ev.push(`the same (challenge, nonce) again: exit 4 E.AUTH (${replay.detail})`);
      let accepted = 0;
      for (let i = 1; i <= BATCH; i++) {
        const r = await h.cli([...sendArgs(c.url, c.client, stream), "--body", `{"n":${i}}`]);
        if (r.code === 0) accepted++;
      }
      check(accepted === BATCH, `${accepted} of ${BATCH} sends with PoW solved by the CLI were accepted`);
      ev.push(`${BATCH} × veen send (the CLI solves a fresh challenge each): ${accepted} accepted`);
      const w = new Crafter(`${h.opts.seed}/${h.runId}/hardened-p`, h.stream("hardened/nopow"));
      let refused = 0;
      for (let i = 0; i < BATCH; i++) {
        const r = await postRaw(h, c.url, encodeMsg(w.msg()));
        if (r.status === 200) fail(`a MSG without a Veen-PoW cookie was ACCEPTED (${describeAnswer(r)})`);
        expectError(r, "E.AUTH", "MSG without a Veen-PoW cookie");
        refused++;
      }
      ev.push(`${BATCH} MSGs without a Veen-PoW cookie: ${refused} × 403 E.AUTH`);
      // One cookie pays for one MSG: a batch is refused whole, before its body is read.
      const batch = concat(...Array.from({ length: BATCH }, () => encodeMsg(w.msg())));
      const br = await h.http(`${c.url}/submit_batch`, {
        method: "POST",
        body: batch as BodyInit,
        headers: { "content-type": "application/cbor-seq", ...(await cookieHeader(h, c)) },
      });
      if (br.status === 200) fail(`a /submit_batch request was ACCEPTED under proof of work`);
      ev.push(
        `/submit_batch of ${BATCH} MSGs with a valid cookie: ${expectError(br, "E.AUTH", "batch under PoW")}`,
      );
      const log = await h.ok(["hub", "admission-log", "--hub", c.url, "--codes", "E.AUTH", "--limit", "1"]);
      const [last] = arr(log.events, "admission-log events");
      check(
        last?.stage === "stage0-prefilter",
        `the last E.AUTH refusal was logged at ${last?.stage}, not stage0-prefilter`,
      );
      ev.push(`veen hub admission-log --codes E.AUTH: ${last!.detail}`);
    },
  );

  if (c.hub !== undefined) {
    await h.step(SUITE, "shutdown", "stop the hub", async (ev) => {
      await stopAfterStep(h, c.hub!, ev);
      check(c.hub!.stopped, "the hub did not stop");
    });
  }
}
