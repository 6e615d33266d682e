/**
 * SH1+ end to end on real hubs (spec 002 §5, docs/protocol.md "Admission stages", "Proof of work"): stage 0
 * refuses by size, peer address and PoW cookie before any CBOR decoding, garbage never reaches signature
 * verification (the counter), PoW cookies are single use, this hub's and unexpired, and the admission routes
 * report the stages and the refusals.
 */
import assert from "node:assert/strict";
import { STAGE_NAMES } from "../hub/admission_stages.ts";
import { encodeMsg, formatPowCookie, fromHex, solvePow } from "../core/mod.ts";
import type { RunningHub } from "../hub/mod.ts";
import { errorCode, http, type HttpResult, submit, withHub, Writer } from "./fixture.ts";

async function json(url: string): Promise<Record<string, unknown>> {
  const r = await http(url);
  assert.equal(r.status, 200, url);
  return JSON.parse(new TextDecoder().decode(r.body));
}

/** A solved `Veen-PoW` header value from `hub`'s /pow/challenge. */
async function cookie(hub: { url: string }): Promise<string> {
  const c = await json(`${hub.url}/pow/challenge`);
  const challenge = fromHex(c.challenge as string, 32);
  const nonce = solvePow(challenge, c.difficulty as number)!;
  return formatPowCookie({ challenge, nonce: BigInt(nonce) });
}

function submitWith(
  hub: { url: string },
  body: Uint8Array,
  headers: Record<string, string>,
): Promise<HttpResult> {
  return http(`${hub.url}/submit`, {
    method: "POST",
    body: body as BodyInit,
    headers: { "content-type": "application/cbor", ...headers },
  });
}

async function sigAttempts(hub: RunningHub): Promise<number> {
  const text = new TextDecoder().decode((await http(`${hub.url}/metrics`)).body);
  const m = /^veen_sig_verify_attempts_total (\d+)$/m.exec(text);
  assert.ok(m, "veen_sig_verify_attempts_total is in /metrics");
  return Number(m[1]);
}

function refusedWith(r: HttpResult, status: number, code: string): string {
  assert.equal(r.status, status);
  assert.equal(errorCode(r), code);
  return code;
}

Deno.test("SH1+: garbage (bad CBOR, oversize, bad or missing PoW) never reaches signature verification", async () => {
  await withHub({ powDifficulty: 4, limits: { maxMsgBytes: 4096 } }, async (hub) => {
    const w = new Writer("sh1/bounds-first", 11);
    assert.equal(await sigAttempts(hub), 0);
    const ok = await cookie(hub);
    refusedWith(await submitWith(hub, new Uint8Array([0xff, 0x00, 0x13]), { "veen-pow": ok }), 413, "E.SIZE");
    const big = encodeMsg(w.msg({ clientSeq: 1, bodyLen: 5000 }));
    refusedWith(await submitWith(hub, big, { "veen-pow": await cookie(hub) }), 413, "E.SIZE");
    refusedWith(await submit(hub.url, w.msg({ clientSeq: 1 })), 403, "E.AUTH");
    refusedWith(
      await submitWith(hub, encodeMsg(w.msg({ clientSeq: 1 })), { "veen-pow": "00.1" }),
      403,
      "E.AUTH",
    );
    assert.equal(await sigAttempts(hub), 0, "no signature was verified for any of them");
    const r = await submitWith(hub, encodeMsg(w.msg({ clientSeq: 1 })), { "veen-pow": await cookie(hub) });
    assert.equal(r.status, 200);
    assert.equal(await sigAttempts(hub), 1);
  });
});

Deno.test("SH1+: a PoW cookie is single use, this hub's, and valid until its challenge expires", async () => {
  const clock = { ms: Date.now() };
  await withHub({ powDifficulty: 3 }, async (other) => {
    const dir = await Deno.makeTempDir({ prefix: "veen-test-" });
    const { startTestHub } = await import("./fixture.ts");
    const hub = await startTestHub(dir, { powDifficulty: 3 }, { now: () => clock.ms });
    try {
      const info = await json(`${hub.url}/info`);
      assert.equal(info.pow_difficulty, 3);
      const w = new Writer("sh1/pow", 12);
      const c = await cookie(hub);
      assert.equal((await submitWith(hub, encodeMsg(w.msg()), { "veen-pow": c })).status, 200);
      const replay = await submitWith(hub, encodeMsg(w.msg()), { "veen-pow": c });
      refusedWith(replay, 403, "E.AUTH");
      assert.match(new TextDecoder().decode(replay.body), /already used/);
      w.seq--;
      refusedWith(
        await submitWith(hub, encodeMsg(w.msg()), { "veen-pow": await cookie(other) }),
        403,
        "E.AUTH",
      );
      w.seq--;
      const late = await cookie(hub);
      clock.ms += 300_000;
      refusedWith(await submitWith(hub, encodeMsg(w.msg()), { "veen-pow": late }), 403, "E.AUTH");
      w.seq--;
      assert.equal(
        (await submitWith(hub, encodeMsg(w.msg()), { "veen-pow": await cookie(hub) })).status,
        200,
      );
      // The refusals are in the admission log, at stage 0, without a decoded MSG.
      const log = await json(`${hub.url}/admission/log?codes=E.AUTH`);
      const events = log.events as Record<string, unknown>[];
      assert.equal(events.length, 3);
      for (const e of events) {
        assert.equal(e.stage, "stage0-prefilter");
        assert.equal(e.label_prefix, null);
        assert.equal(e.client_id_prefix, null);
      }
      assert.match(
        events.map((e) => e.detail).join("|"),
        /already used\|.*not issued by this hub.*\|.*expired at/,
      );
    } finally {
      await hub.close();
      await Deno.remove(dir, { recursive: true });
    }
  });
});

Deno.test("SH1+: ip_deny wins over ip_allow; a peer outside ip_allow is refused with 403 E.AUTH", async () => {
  const w = new Writer("sh1/ip", 13);
  await withHub({ ipAllow: ["127.0.0.0/8"], ipDeny: ["127.0.0.1"] }, async (hub) => {
    const r = await submit(hub.url, w.msg({ clientSeq: 1 }));
    refusedWith(r, 403, "E.AUTH");
    assert.match(new TextDecoder().decode(r.body), /denied \(ip_deny 127\.0\.0\.1\)/);
  });
  await withHub({ ipAllow: ["10.0.0.0/8", "::1"] }, async (hub) => {
    refusedWith(await submit(hub.url, w.msg({ clientSeq: 1 })), 403, "E.AUTH");
  });
  await withHub({ ipAllow: ["127.0.0.0/31"], ipDeny: ["127.0.0.2/32"] }, async (hub) => {
    assert.equal((await submit(hub.url, w.msg({ clientSeq: 1 }))).status, 200);
  });
});

Deno.test("SH1+: GET /admission lists the four stages with limits and recent error rates", async () => {
  await withHub({ stage2QueueMax: 7, queueMax: 99, maxBodyReads: 33 }, async (hub) => {
    const w = new Writer("sh1/admission", 14);
    assert.equal((await submit(hub.url, w.msg())).status, 200);
    const bad = w.msg();
    bad.sig[0]! ^= 1;
    refusedWith(await submit(hub.url, bad), 409, "E.SIG");
    const a = await json(`${hub.url}/admission`);
    const stages = a.stages as Record<string, unknown>[];
    assert.deepEqual(stages.map((s) => s.name), [...STAGE_NAMES]);
    assert.deepEqual(stages.map((s) => s.max_queue_depth), [33, 0, 7, 99]);
    const s2 = stages[2]!;
    assert.equal(s2.enabled, true);
    assert.deepEqual(s2.recent_err_rates, {
      "E.SIZE": 0,
      "E.SIG": 0.5,
      "E.AUTH": 0,
      "E.CAP": 0,
      "E.RATE": 0,
    });
    const log = await json(`${hub.url}/admission/log?limit=5`);
    const [e] = log.events as Record<string, unknown>[];
    assert.equal(e!.code, "E.SIG");
    assert.equal(e!.stage, "stage2-crypto-auth");
    assert.match(e!.label_prefix as string, /^[0-9a-f]{8}$/);
    assert.match(e!.client_id_prefix as string, /^[0-9a-f]{8}$/);
  });
});
