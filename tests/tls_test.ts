/** The hub over TLS (SH0.3) and `veen hub tls-info` (CLI-GOALS-1 §14.2). Needs openssl to make test certificates. */
import assert from "node:assert/strict";
import { captureIo, cliMain } from "../cli/mod.ts";
import { startTestHub } from "./fixture.ts";

async function openssl(args: string[]): Promise<void> {
  const r = await new Deno.Command("openssl", { args, stdout: "null", stderr: "piped" }).output();
  if (!r.success) throw new Error(new TextDecoder().decode(r.stderr));
}

/** A test CA and a server certificate for 127.0.0.1 signed by it (webpki refuses a CA used as the server cert). */
async function testPki(dir: string): Promise<{ ca: string; cert: string; key: string }> {
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  await openssl([
    "req",
    "-x509",
    ...ec,
    "-days",
    "2",
    "-subj",
    "/CN=veen test CA",
    "-keyout",
    `${dir}/ca.key`,
    "-out",
    `${dir}/ca.pem`,
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign",
  ]);
  await openssl([
    "req",
    ...ec,
    "-subj",
    "/CN=localhost",
    "-keyout",
    `${dir}/key.pem`,
    "-out",
    `${dir}/req.csr`,
  ]);
  await Deno.writeTextFile(
    `${dir}/ext.cnf`,
    "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
  );
  await openssl([
    "x509",
    "-req",
    "-in",
    `${dir}/req.csr`,
    "-CA",
    `${dir}/ca.pem`,
    "-CAkey",
    `${dir}/ca.key`,
    "-CAcreateserial",
    "-days",
    "2",
    "-extfile",
    `${dir}/ext.cnf`,
    "-out",
    `${dir}/cert.pem`,
  ]);
  return { ca: `${dir}/ca.pem`, cert: `${dir}/cert.pem`, key: `${dir}/key.pem` };
}

Deno.test("a hub with tls_cert and tls_key serves HTTPS with TLS 1.2+ AEAD suites, and tls-info reports them", async () => {
  const dir = await Deno.makeTempDir();
  const { ca, cert, key } = await testPki(dir);
  const hub = await startTestHub(dir, { tlsCert: cert, tlsKey: key });
  try {
    assert.match(hub.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const client = Deno.createHttpClient({ caCerts: [await Deno.readTextFile(ca)] });
    const health = await (await fetch(`${hub.url}/healthz`, { client })).json();
    assert.equal(health.ok, true);
    client.close();
    await assert.rejects(() => fetch(`${hub.url}/healthz`), "an untrusted certificate is refused");
    const io = captureIo();
    const code = await cliMain(["hub", "tls-info", "--hub", hub.url, "--ca-cert", ca, "--json"], io);
    assert.equal(code, 0, io.err.join(""));
    const info = JSON.parse(io.out.join(""));
    assert.match(info.tls_version, /TLSv1\.[23]/);
    assert.equal(info.aead, true);
    assert.equal(info.compression, "none");
  } finally {
    await hub.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("tls_cert without tls_key, or an unreadable certificate, is refused at start with the path", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await assert.rejects(
      () => startTestHub(dir, { tlsCert: `${dir}/nope.pem`, tlsKey: `${dir}/nope.key` }),
      /nope\.pem/,
    );
    const { validateConfig, defaultConfig } = await import("../hub/config.ts");
    assert.throws(() => validateConfig({ ...defaultConfig(dir), tlsCert: "x.pem" }), /together/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
