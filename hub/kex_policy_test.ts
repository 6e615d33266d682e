import assert from "node:assert/strict";
import {
  adminStreamId,
  authRef,
  bytesEqual,
  decodeErrorBody,
  encodeCapToken,
  realmIdFor,
  toHex,
} from "../core/mod.ts";
import {
  errorCode,
  http,
  hubCap,
  postCbor,
  startTestHub,
  submit,
  withHub,
  Writer,
} from "../tests/fixture.ts";

const json = async (url: string) => {
  const r = await http(url);
  assert.equal(r.status, 200);
  assert.equal(r.headers.get("content-type")?.startsWith("application/json"), true);
  return JSON.parse(new TextDecoder().decode(r.body));
};

Deno.test("GET /kex-policy: the KEX1+ settings, null when unset, and the realm's revocation stream id", async () => {
  await withHub({}, async (hub) => {
    assert.deepEqual(await json(`${hub.url}/kex-policy`), {
      max_client_id_lifetime_sec: null,
      max_msgs_per_client_id_per_label: null,
      default_cap_ttl_sec: null,
      max_cap_ttl_sec: null,
      revocation_stream: toHex(adminStreamId("veen/revocation", realmIdFor("default"))),
      rotation_window_sec: null,
    });
  });
  await withHub({
    realm: "acme",
    maxClientIdLifetimeSec: 86400,
    maxMsgsPerClientIdPerLabel: 65536,
    defaultCapTtlSec: 3600,
    maxCapTtlSec: 7200,
    rotationWindowSec: 0,
  }, async (hub) => {
    assert.deepEqual(await json(`${hub.url}/kex-policy`), {
      max_client_id_lifetime_sec: 86400,
      max_msgs_per_client_id_per_label: 65536,
      default_cap_ttl_sec: 3600,
      max_cap_ttl_sec: 7200,
      revocation_stream: toHex(adminStreamId("veen/revocation", realmIdFor("acme"))),
      rotation_window_sec: 0,
    });
  });
});

Deno.test("max_cap_ttl_sec: /authorize installs a cap at exactly the bound and refuses one second more with E.CAP", async () => {
  await withHub({ admission: "on", maxCapTtlSec: 600 }, async (hub) => {
    const w = new Writer("t/kex-ttl", 5);
    const cap = (ttl: number) => hubCap(hub, w.key.public, "t/kex-ttl", ttl);
    assert.equal((await postCbor(hub.url, "/authorize", encodeCapToken(cap(600)))).status, 200);
    const r = await postCbor(hub.url, "/authorize", encodeCapToken(cap(601)));
    assert.deepEqual([r.status, errorCode(r)], [403, "E.CAP"]);
    assert.match(decodeErrorBody(r.body)!.detail, /ttl 601 exceeds this hub's max_cap_ttl_sec 600/);
    const unknown = await http(`${hub.url}/authorize?auth_ref=${toHex(authRef(cap(601)))}`);
    assert.equal(unknown.status, 404, "the refused cap was not installed");
  });
});

Deno.test("cap expiry: a MSG at exactly issued_at + ttl is admitted, one second later E.CAP", async () => {
  const dir = await Deno.makeTempDir({ prefix: "veen-kex-" });
  let nowMs = 1_700_000_000_000;
  const hub = await startTestHub(dir, { admission: "on" }, { now: () => nowMs });
  try {
    const w = new Writer("t/kex-exp", 6);
    const tok = hubCap(hub, w.key.public, "t/kex-exp", 60);
    assert.equal((await postCbor(hub.url, "/authorize", encodeCapToken(tok))).status, 200);
    nowMs += 60_999; // hub time issued_at + 60
    assert.equal((await submit(hub.url, w.msg({ authRef: authRef(tok) }))).status, 200);
    nowMs += 1;
    const r = await submit(hub.url, w.msg({ clientSeq: 2, authRef: authRef(tok) }));
    assert.deepEqual([r.status, errorCode(r)], [403, "E.CAP"]);
  } finally {
    await hub.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("GET /cap?auth_ref=HEX: the stored cap_token bytes of an authorized cap, 404 E.NOT_FOUND otherwise", async () => {
  await withHub({}, async (hub) => {
    const w = new Writer("t/kex-cap", 7);
    const tok = hubCap(hub, w.key.public, "t/kex-cap", 60);
    const bytes = encodeCapToken(tok);
    const ref = authRef(tok);
    let r = await http(`${hub.url}/cap?auth_ref=${toHex(ref)}`);
    assert.deepEqual([r.status, errorCode(r)], [404, "E.NOT_FOUND"]);
    assert.equal((await postCbor(hub.url, "/authorize", bytes)).status, 200);
    r = await http(`${hub.url}/cap?auth_ref=${toHex(ref)}`);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get("content-type"), "application/cbor");
    assert.ok(bytesEqual(r.body, bytes));
    r = await http(`${hub.url}/cap?auth_ref=zz`);
    assert.deepEqual([r.status, errorCode(r)], [413, "E.SIZE"], "as every malformed hex query parameter");
  });
});
