import assert from "node:assert/strict";
import { rejectsCode } from "../tests/util.ts";
import { DEFAULT_PROFILE_ID_HEX, encodeErrorBody, hubIdFor, toHex, VeenError } from "../core/mod.ts";
import { CommandError } from "../cmd/mod.ts";
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

const kind = (k: string) => (e: unknown) => e instanceof CommandError && e.kind === k;

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

Deno.test("HubHttp reads answers with a size cap suited to the route (malformed beyond it)", async () => {
  const MiB = 1024 * 1024;
  let sent = 0;
  /** A body of `total` bytes in 64 KiB chunks, made only as the client reads it. */
  const body = (total: number) => {
    sent = 0;
    return new ReadableStream<Uint8Array>({
      pull(c) {
        if (sent >= total) return c.close();
        c.enqueue(new Uint8Array(64 * 1024).fill(0xff));
        sent += 64 * 1024;
      },
    });
  };
  const tooBig = (max: number) => (e: unknown) =>
    kind("malformed")(e) && (e as CommandError).code === "E.SIZE" &&
    (e as CommandError).detail.includes(`with more than ${max} bytes`);
  await withServer(
    (req) => new Response(body(new URL(req.url).pathname === "/stream" ? 5 * MiB : 40 * MiB)),
    async (url) => {
      await assert.rejects(() => new HubHttp(url).info(), tooBig(4 * MiB));
      assert.ok(sent < 16 * MiB, `the hub was read ${sent} bytes into a 4 MiB cap`);
      // A 5 MiB /stream page is within that route's bound (and then not CBOR, so malformed for another reason).
      await assert.rejects(
        () => new HubHttp(url).streamPage(new Uint8Array(32), 1),
        (e: unknown) => kind("malformed")(e) && !tooBig(64 * MiB)(e),
      );
      assert.equal(sent, 5 * MiB);
    },
  );
  await withServer(() => new Response(new Uint8Array(5 * MiB) as BodyInit), async (url) => {
    await assert.rejects(() => new HubHttp(url).metrics(), tooBig(4 * MiB));
  });
});

Deno.test("HubHttp reports refused connections and timeouts as transport failures (exit 2)", async () => {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, () => new Response("x"));
  const port = (server.addr as Deno.NetAddr).port;
  await server.shutdown();
  await assert.rejects(() => new HubHttp(`http://127.0.0.1:${port}`, 2000).info(), kind("transport"));
  // The server answers only once the client has given up.
  let gaveUp!: () => void;
  const late = new Promise<void>((r) => (gaveUp = r));
  await withServer(async () => {
    await late;
    return new Response("late");
  }, async (url) => {
    try {
      await assert.rejects(
        () => new HubHttp(url, 50).info(),
        (e: unknown) => kind("transport")(e) && /within 50 ms/.test((e as CommandError).detail),
      );
    } finally {
      gaveUp();
    }
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
