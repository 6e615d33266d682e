import assert from "node:assert/strict";
import { decodeCapToken, toHex } from "../../core/mod.ts";
import { runCli, withScenario } from "../testing/run.ts";

Deno.test("cap issue → cap authorize prints auth_ref; send --cap passes admission; without it E.AUTH", async () => {
  await withScenario({ admission: true }, async (s) => {
    const admin = await s.client("admin");
    const c = await s.client("c1");
    const cap = `${s.root}/cap.cbor`;
    const issued = await runCli([
      "cap",
      "issue",
      "--issuer",
      admin,
      "--subject",
      `${c}/identity_card.pub`,
      "--stream",
      "core/capped",
      "--ttl",
      "600",
      "--rate",
      "5/s,10",
      "--out",
      cap,
      "--json",
    ]);
    assert.equal(issued.code, 0, issued.stderr);
    const token = decodeCapToken(await Deno.readFile(cap));
    assert.deepEqual(token.allow.rate, { perSec: 5, burst: 10 });
    assert.equal(token.allow.ttl, 600);
    const ref = issued.json().auth_ref as string;

    const denied = await runCli([
      "send",
      "--hub",
      s.hub.url,
      "--client",
      c,
      "--stream",
      "core/capped",
      "--body",
      "{}",
    ]);
    assert.equal(denied.code, 4);
    assert.match(denied.stderr, /^E\.AUTH/);

    const auth = await runCli(["cap", "authorize", "--hub", s.hub.url, "--cap", cap, "--client", c]);
    assert.equal(auth.code, 0, auth.stderr);
    assert.match(auth.stdout, new RegExp(`^auth_ref: ${ref}\nexpires_at: [0-9]+\n$`));

    const sent = await runCli([
      "send",
      "--hub",
      s.hub.url,
      "--client",
      c,
      "--stream",
      "core/capped",
      "--body",
      "{}",
      "--cap",
      cap,
    ]);
    assert.equal(sent.code, 0, sent.stderr);
    const shown = await runCli([
      "stream",
      "--hub",
      s.hub.url,
      "--client",
      c,
      "--stream",
      "core/capped",
      "--json",
    ]);
    const item = (shown.json().items as Record<string, unknown>[])[0]!;
    assert.equal(item.auth_ref, ref);
    assert.equal((item.payload_hdr as Record<string, unknown>).cap_ref, ref);

    const status = await runCli(["cap", "status", "--cap", cap, "--hub", s.hub.url, "--client", c, "--json"]);
    assert.equal(status.code, 0, status.stderr);
    const st = status.json();
    assert.equal(st.auth_ref, ref);
    assert.equal(st.chain_valid, true);
    assert.equal(st.hub_known, true);
    assert.equal(st.hub_currently_valid, true);
    assert.equal(st.locally_within_ttl, true);
  });
});

Deno.test("cap issue accepts a hex subject and a client directory; bad input is a usage error", async () => {
  await withScenario({}, async (s) => {
    const admin = await s.client("admin");
    const c = await s.client("c");
    const card = JSON.parse(await Deno.readTextFile(`${c}/identity_card.pub`));
    const a = await runCli([
      "cap",
      "issue",
      "--issuer",
      admin,
      "--subject",
      card.client_id,
      "--stream",
      "a",
      "--stream",
      "b",
      "--ttl",
      "5",
      "--out",
      `${s.root}/a.cbor`,
    ]);
    const b = await runCli([
      "cap",
      "issue",
      "--issuer",
      admin,
      "--subject",
      c,
      "--stream",
      "b",
      "--stream",
      "a",
      "--ttl",
      "5",
      "--out",
      `${s.root}/b.cbor`,
    ]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    assert.equal(
      toHex(await Deno.readFile(`${s.root}/a.cbor`)),
      toHex(await Deno.readFile(`${s.root}/b.cbor`)),
    );
    const issue = (...flags: string[]) =>
      runCli(["cap", "issue", "--issuer", admin, "--subject", c, ...flags, "--out", `${s.root}/x`]);
    assert.equal((await issue("--stream", "a", "--ttl", "x")).code, 1);
    assert.equal((await issue("--stream", "a", "--ttl", "1", "--rate", "fast")).code, 1);
    assert.equal((await issue("--ttl", "1")).code, 1);
    // A ttl no hub can install (issued_at + ttl beyond 2^53-1) is refused as a usage error.
    const huge = await issue("--stream", "a", "--ttl", String(Number.MAX_SAFE_INTEGER));
    assert.equal(huge.code, 1);
    assert.match(huge.stderr, /--ttl must be an integer from 0 to [0-9]+, not "9007199254740991"/);
    assert.equal(await Deno.stat(`${s.root}/x`).then(() => true, () => false), false);
    const unknown = await runCli(["cap", "status", "--cap", `${s.root}/a.cbor`, "--hub", s.hub.url]);
    assert.equal(unknown.code, 0, unknown.stderr);
    assert.match(unknown.stdout, /hub_known: false/);
    assert.equal((await runCli(["cap", "frobnicate"])).code, 1);
  });
});
