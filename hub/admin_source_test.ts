/**
 * The admin source's key (hub/admin_source.ts): configured, or read from the source's /info at first need and pinned
 * in DIR/admin_source.json, kept when the source later presents another key, replaced when admin_source names
 * another URL; only that key may replicate admin labels, and local admin submits are refused naming the source.
 */
import assert from "node:assert/strict";
import { hubIdFor, signingKeyFromSeed, toHex, VeenError } from "../core/mod.ts";
import { ADMIN_SOURCE_FILE, AdminSource } from "./admin_source.ts";
import { Logger } from "./logger.ts";

const KEY_A = signingKeyFromSeed(new Uint8Array(32).fill(1)).public;
const KEY_B = signingKeyFromSeed(new Uint8Array(32).fill(2)).public;
const quiet = new Logger("error", "hub", "standalone", () => {});

/** A loopback server whose /info presents `key.pk` (changeable); counts the requests. */
function infoServer(key: { pk: Uint8Array }) {
  const seen = { n: 0 };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, () => {
    seen.n++;
    return Response.json({ hub_pk: toHex(key.pk) });
  });
  return { url: `http://127.0.0.1:${server.addr.port}`, seen, close: () => server.shutdown() };
}

const codeOfSync = (f: () => void) => {
  try {
    f();
    return "ok";
  } catch (e) {
    return e instanceof VeenError ? `${e.code}: ${e.detail}` : String(e);
  }
};

const codeOf = async (p: Promise<unknown>) => {
  try {
    await p;
    return "ok";
  } catch (e) {
    return e instanceof VeenError ? `${e.code}: ${e.detail}` : String(e);
  }
};

Deno.test("admin source: the key is pinned at first contact and kept when /info later presents another", async () => {
  const dir = await Deno.makeTempDir({ prefix: "veen-admin-source-" });
  const key = { pk: KEY_A };
  const s = infoServer(key);
  try {
    const src = new AdminSource({ url: s.url + "/", dataDir: dir, log: quiet });
    assert.equal(src.known(), undefined);
    assert.deepEqual(await src.key(), KEY_A);
    const pin = JSON.parse(await Deno.readTextFile(`${dir}/${ADMIN_SOURCE_FILE}`));
    assert.deepEqual(pin, { url: s.url, hub_pk: toHex(KEY_A) });
    src.checkSender(hubIdFor(KEY_A));
    assert.match(codeOfSync(() => src.checkSender(hubIdFor(KEY_B))), /^E\.AUTH: .*is not the admin source$/);
    // Another hub answers at the URL now: a new AdminSource (a restart) keeps the pinned key without asking.
    key.pk = KEY_B;
    const asked = s.seen.n;
    const again = new AdminSource({ url: s.url, dataDir: dir, log: quiet });
    assert.deepEqual(await again.key(), KEY_A);
    assert.equal(s.seen.n, asked);
    assert.match(
      codeOfSync(() => again.checkSender(hubIdFor(KEY_B))),
      new RegExp(`written at "${s.url}" \\(hub ${toHex(hubIdFor(KEY_A))}\\); hub ${toHex(hubIdFor(KEY_B))}`),
    );
    // A pin of another URL is replaced at the next contact.
    const moved = new AdminSource({ url: s.url + "/x", dataDir: dir, log: quiet });
    assert.deepEqual(await moved.key(), KEY_B);
  } finally {
    await s.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("admin source: a configured key is used without asking; an unreachable source is E.UNAVAILABLE and pins nothing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "veen-admin-source-" });
  const s = infoServer({ pk: KEY_A });
  const url = s.url;
  await s.close();
  try {
    const configured = new AdminSource({ url, key: KEY_B, dataDir: dir, log: quiet });
    assert.deepEqual(configured.known(), KEY_B);
    configured.checkSender(hubIdFor(KEY_B));
    const src = new AdminSource({ url, dataDir: dir, log: quiet });
    assert.match(codeOfSync(() => src.checkSender(hubIdFor(KEY_A))), /^E\.UNAVAILABLE: .*has not been asked/);
    assert.match(await codeOf(src.key()), /^E\.UNAVAILABLE: The admin source ".*" cannot be asked/);
    await assert.rejects(Deno.stat(`${dir}/${ADMIN_SOURCE_FILE}`), Deno.errors.NotFound);
    assert.throws(
      () => src.refuseSubmit(),
      (e: VeenError) =>
        e.code === "E.AUTH" && e.detail.startsWith(`Admin records of this realm are written at "${url}"`),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
