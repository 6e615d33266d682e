import assert from "node:assert/strict";
import { rejectsCode } from "../tests/util.ts";
import { DEFAULT_PROFILE_ID_HEX, encodeErrorBody, hubIdFor, toHex, VeenError } from "../core/mod.ts";
import { CliError } from "./exit_codes.ts";
import { HubHttp } from "./http_client.ts";

async function withServer(
  handler: (req: Request) => Response | Promise<Response>,
  f: (url: string) => Promise<void>,
) {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, handler);
  try {
    await f(`http://127.0.0.1:${(server.addr as Deno.NetAddr).port}`);
  } finally {
    await server.shutdown();
  }
}

const kind = (k: string) => (e: unknown) => e instanceof CliError && e.kind === k;

Deno.test("HubHttp turns a CBOR error body into that VeenError (with Retry-After)", async () => {
  await withServer(
    () =>
      new Response(encodeErrorBody(new VeenError("E.RATE", "slow down")) as BodyInit, {
        status: 429,
        headers: { "retry-after": "3" },
      }),
    async (url) => {
      const e = await rejectsCode(() => new HubHttp(url).submit(new Uint8Array([1])), "E.RATE");
      assert.equal(e.retryAfter, 3);
    },
  );
});

Deno.test("HubHttp reports undecodable answers as malformed (exit 3)", async () => {
  await withServer(() => new Response("oops", { status: 500 }), async (url) => {
    await assert.rejects(() => new HubHttp(url).info(), kind("malformed"));
  });
  await withServer(() => new Response(new Uint8Array([0xa0]) as BodyInit), async (url) => {
    await assert.rejects(() => new HubHttp(url).submit(new Uint8Array([1])), kind("malformed"));
    await assert.rejects(() => new HubHttp(url).streamPage(new Uint8Array(32), 1), kind("malformed"));
  });
  const pk = new Uint8Array(32).fill(5);
  await withServer(
    () => Response.json({ hub_pk: toHex(pk), hub_id: "00".repeat(32), profile_id: DEFAULT_PROFILE_ID_HEX }),
    async (url) => {
      await assert.rejects(() => new HubHttp(url).info(), kind("malformed"));
    },
  );
  await withServer(
    () =>
      Response.json({ hub_pk: toHex(pk), hub_id: toHex(hubIdFor(pk)), profile_id: DEFAULT_PROFILE_ID_HEX }),
    async (url) => {
      const info = await new HubHttp(url).info();
      assert.deepEqual(info.hubPk, pk);
      assert.equal(info.routingKey.length, 0);
    },
  );
});

Deno.test("HubHttp reports refused connections and timeouts as transport failures (exit 2)", async () => {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, () => new Response("x"));
  const port = (server.addr as Deno.NetAddr).port;
  await server.shutdown();
  await assert.rejects(() => new HubHttp(`http://127.0.0.1:${port}`, 2000).info(), kind("transport"));
  await withServer(async () => {
    await new Promise((r) => setTimeout(r, 300));
    return new Response("late");
  }, async (url) => {
    await assert.rejects(
      () => new HubHttp(url, 50).info(),
      (e: unknown) => kind("transport")(e) && /within 50 ms/.test((e as CliError).detail),
    );
  });
});

Deno.test("checkpointLatest() is undefined on E.NOT_FOUND", async () => {
  await withServer(
    () => new Response(encodeErrorBody(new VeenError("E.NOT_FOUND", "none")) as BodyInit, { status: 404 }),
    async (url) => {
      assert.equal(await new HubHttp(url).checkpointLatest(new Uint8Array(32)), undefined);
    },
  );
});
