import { deepStrictEqual, rejects, strictEqual } from "node:assert";
import { VeenError } from "../core/mod.ts";
import { readBodyCapped, requestTarget } from "./http.ts";

Deno.test("requestTarget: the path and query new URL gives, for plain and normalised targets", () => {
  for (
    const url of [
      "http://127.0.0.1:8080/submit",
      "http://127.0.0.1:8080/stream?label=ab&from=1&with_proof=1",
      "http://[::1]:80/proof?label=00&seq=3",
      "http://h/",
      "http://h",
      "http://h?x=1",
      "http://h/a/../submit",
      "http://h/./healthz?x=1",
      "http://h/attachments/%41b",
      "http://h/p?x=1#frag",
      "http://h/p#frag",
    ]
  ) {
    const u = new URL(url);
    deepStrictEqual(requestTarget(url), { path: u.pathname, query: u.search.slice(1) }, url);
  }
});

function post(body: BodyInit, contentLength?: number): Request {
  const headers = contentLength === undefined ? {} : { "content-length": String(contentLength) };
  return new Request("http://h/submit", { method: "POST", body, headers });
}

Deno.test("readBodyCapped: content-length bodies up to the cap; over it is E.SIZE before reading", async () => {
  deepStrictEqual(await readBodyCapped(post(new Uint8Array([1, 2, 3]), 3), 3), new Uint8Array([1, 2, 3]));
  strictEqual((await readBodyCapped(post(new Uint8Array(0), 0), 3)).length, 0);
  await rejects(
    readBodyCapped(post(new Uint8Array(4), 4), 3),
    (e: unknown) =>
      e instanceof VeenError && e.code === "E.SIZE" && /4 bytes exceeds the 3-byte/.test(e.message),
  );
});

Deno.test("readBodyCapped: a streamed body without content-length is capped while it is read", async () => {
  const stream = (chunks: number[]) =>
    new ReadableStream<Uint8Array>({
      start(c) {
        chunks.forEach((n, i) => c.enqueue(new Uint8Array(n).fill(i + 1)));
        c.close();
      },
    });
  deepStrictEqual(await readBodyCapped(post(stream([2, 1])), 3), new Uint8Array([1, 1, 2]));
  await rejects(
    readBodyCapped(post(stream([2, 2])), 3),
    (e: unknown) => e instanceof VeenError && e.code === "E.SIZE" && /exceeds the 3-byte/.test(e.message),
  );
});
