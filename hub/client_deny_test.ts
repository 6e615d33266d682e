import assert from "node:assert/strict";
import { authRef, decodeErrorBody, encodeCapToken, toHex, VeenError } from "../core/mod.ts";
import { errorCode, hubCap, postCbor, submit, withHub, Writer } from "../tests/fixture.ts";
import { ClientIdDenyList } from "./client_deny.ts";

Deno.test("ClientIdDenyList: listed keys (any case) are E.AUTH naming the list, others pass", () => {
  const bad = new Writer("t/deny", 3).key.public;
  const list = new ClientIdDenyList([toHex(bad).toUpperCase()]);
  assert.throws(
    () => list.check(bad),
    (e) => e instanceof VeenError && e.code === "E.AUTH" && /client_id_deny/.test(e.detail),
  );
  list.check(new Writer("t/deny", 4).key.public);
  new ClientIdDenyList([]).check(bad);
});

Deno.test("client_id_deny: a listed client_id is refused 403 E.AUTH at the capability stage, with admission off and on", async () => {
  const denied = new Writer("t/deny", 3);
  const allowed = new Writer("t/deny", 4);
  const detail = (r: { body: Uint8Array }) => decodeErrorBody(r.body)!.detail;
  await withHub({ clientIdDeny: [toHex(denied.key.public)] }, async (hub) => {
    const r = await submit(hub.url, denied.msg());
    assert.deepEqual([r.status, errorCode(r)], [403, "E.AUTH"]);
    assert.match(detail(r), /client_id_deny/);
    assert.equal((await submit(hub.url, allowed.msg())).status, 200);
  });
  await withHub({ admission: "on", clientIdDeny: [toHex(denied.key.public)] }, async (hub) => {
    const tok = hubCap(hub, denied.key.public, "t/deny", 600);
    assert.equal((await postCbor(hub.url, "/authorize", encodeCapToken(tok))).status, 200);
    // A valid capability does not lift the deny list, and the list is checked before the admission record.
    const r = await submit(hub.url, denied.msg({ clientSeq: 1, authRef: authRef(tok) }));
    assert.deepEqual([r.status, errorCode(r)], [403, "E.AUTH"]);
    assert.match(detail(r), /client_id_deny/);
  });
});
