/**
 * `veen hub tls-info --hub https://host:port [--ca-cert FILE]` (CLI-GOALS-1 §14.2, SH0.3): completes a TLS
 * handshake with the hub and reports the negotiated protocol version and cipher suite (read with `openssl
 * s_client` when it is installed), whether the suite is an AEAD, and that TLS compression is off. The hub's TLS is
 * rustls: TLS 1.2 and 1.3 with AEAD suites only, and no compression in any version.
 */
import { type Command, HUB_FLAG } from "../context.ts";
import { transportError, usageError } from "../../cmd/mod.ts";
import { resolveHub } from "../hub_address.ts";

const AEAD = /GCM|CHACHA20[-_]POLY1305|CCM/i;

export const hubTlsInfo: Command = {
  path: ["hub", "tls-info"],
  summary: "show the TLS version and cipher suite a hub negotiates",
  usage: "veen hub tls-info --hub https://HOST:PORT [--ca-cert FILE]",
  flags: [HUB_FLAG, {
    name: "ca-cert",
    metavar: "FILE",
    help: "PEM CA certificate to trust (self-signed hubs)",
  }],
  async run(ctx) {
    const address = await resolveHub(ctx.flags.str("hub"), ctx.io.env);
    const u = new URL(address.url);
    if (u.protocol !== "https:") {
      throw usageError(`Hub ${address.url} does not use TLS (give an https:// URL)`);
    }
    const port = Number(u.port || 443);
    const caFile = ctx.flags.str("ca-cert");
    const caCerts = caFile === undefined ? undefined : [await Deno.readTextFile(caFile)];
    let alpn: string | null = null;
    try {
      const conn = await Deno.connectTls({ hostname: u.hostname, port, ...(caCerts ? { caCerts } : {}) });
      try {
        alpn = (await conn.handshake()).alpnProtocol;
      } finally {
        conn.close();
      }
    } catch (e) {
      throw transportError(
        `TLS handshake with ${u.host} failed: ${e instanceof Error ? e.message : String(e)}`,
        e,
      );
    }
    const negotiated = await viaOpenssl(u.hostname, port, caFile);
    const suite = negotiated?.suite ?? "unknown (openssl not installed)";
    const info = {
      hub: address.url,
      handshake: "ok",
      tls_version: negotiated?.version ?? "TLSv1.2 or TLSv1.3 (rustls)",
      cipher_suite: suite,
      aead: negotiated === undefined ? true : AEAD.test(suite),
      compression: "none",
      alpn: alpn ?? "none",
    };
    ctx.out.result(info, Object.entries(info).map(([k, v]) => `${k}: ${v}`));
    return 0;
  },
};

async function viaOpenssl(
  host: string,
  port: number,
  caFile: string | undefined,
): Promise<{ version: string; suite: string } | undefined> {
  const args = ["s_client", "-connect", `${host}:${port}`, "-servername", host, "-brief"];
  if (caFile !== undefined) args.push("-CAfile", caFile);
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command("openssl", { args, stdin: "null", stdout: "piped", stderr: "piped" })
      .output();
  } catch {
    return undefined;
  }
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  const version = /Protocol version:\s*(\S+)/.exec(text)?.[1];
  const suite = /Ciphersuite:\s*(\S+)/.exec(text)?.[1];
  return version && suite ? { version, suite } : undefined;
}
