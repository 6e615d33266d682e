/**
 * The one way ops/ talks to a cluster: the `kubectl` found on PATH (or `$VEEN_KUBECTL`), always with
 * `--context CONTEXT` first. kubectl failures become CommandErrors: unreachable cluster or missing kubectl → exit 2
 * (E.UNAVAILABLE); NotFound → E.NOT_FOUND, Forbidden/Unauthorized → E.AUTH, AlreadyExists → E.DUP, other API
 * errors → E.CHECK (exit 4); an unknown context → usage (exit 1).
 */
import type { CommandError } from "../cmd/mod.ts";
import { check, malformed, type OpsIo, transport, usage } from "./io.ts";

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Finds an executable named `kubectl` on the io's PATH (or $VEEN_KUBECTL). */
function findKubectl(io: OpsIo): string {
  const explicit = io.env("VEEN_KUBECTL");
  if (explicit !== undefined && explicit !== "") return explicit;
  for (const dir of (io.env("PATH") ?? "").split(":")) {
    if (dir === "") continue;
    const p = `${dir}/kubectl`;
    try {
      const st = Deno.statSync(p);
      if (st.isFile && st.mode !== null && (st.mode & 0o111) !== 0) return p;
    } catch {
      // not here
    }
  }
  throw transport("kubectl not found on PATH (install kubectl or set VEEN_KUBECTL)");
}

const TRANSPORT_PATTERNS = [
  /Unable to connect to the server/i,
  /connection refused/i,
  /The connection to the server .* was refused/i,
  /no such host/i,
  /i\/o timeout/i,
  /dial tcp/i,
  /couldn't get current server API group list/i,
  /the server is currently unable to handle the request/i,
  /net\/http: TLS handshake timeout/i,
];

/** The CommandError for a failed kubectl call. */
export function kubectlError(res: KubectlResult, what: string): CommandError {
  const text = res.stderr.trim() || res.stdout.trim() || `exit status ${res.code}`;
  const first = text.split("\n").find((l) => /error/i.test(l)) ?? text.split("\n")[0]!;
  const detail = `${what}: ${first.trim()}`;
  if (/context "[^"]*" does not exist|no context exists with the name/i.test(text)) return usage(detail);
  if (/\(NotFound\)/.test(text)) return check("E.NOT_FOUND", detail);
  if (/\((Forbidden|Unauthorized)\)/.test(text)) return check("E.AUTH", detail);
  if (/\(AlreadyExists\)/.test(text)) return check("E.DUP", detail);
  if (TRANSPORT_PATTERNS.some((re) => re.test(text))) return transport(detail);
  return check("E.CHECK", detail);
}

export class Kubectl {
  readonly io: OpsIo;
  readonly context: string;
  readonly verbose: boolean;
  #path: string | undefined;

  constructor(io: OpsIo, context: string, verbose = false) {
    this.io = io;
    this.context = context;
    this.verbose = verbose;
  }

  argv(args: string[], namespace?: string): string[] {
    return [
      "--context",
      this.context,
      ...(namespace === undefined ? [] : ["--namespace", namespace]),
      ...args,
    ];
  }

  #spawn(argv: string[], stdin: boolean): Deno.ChildProcess {
    this.#path ??= findKubectl(this.io);
    if (this.verbose) this.io.writeErr(`+ kubectl ${argv.join(" ")}\n`);
    try {
      return new Deno.Command(this.#path, {
        args: argv,
        stdin: stdin ? "piped" : "null",
        stdout: "piped",
        stderr: "piped",
        env: this.io.childEnv,
      }).spawn();
    } catch (e) {
      throw transport(`cannot run ${this.#path}: ${(e as Error).message}`);
    }
  }

  /** Runs kubectl and collects its output (never throws on a non-zero exit). */
  async run(args: string[], opts: { namespace?: string; stdin?: string } = {}): Promise<KubectlResult> {
    const child = this.#spawn(this.argv(args, opts.namespace), opts.stdin !== undefined);
    if (opts.stdin !== undefined) {
      const w = child.stdin.getWriter();
      await w.write(new TextEncoder().encode(opts.stdin));
      await w.close();
    }
    const out = await child.output();
    const dec = new TextDecoder();
    return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  }

  /** Runs kubectl and returns stdout, or throws the mapped CommandError. */
  async ok(args: string[], what: string, opts: { namespace?: string; stdin?: string } = {}): Promise<string> {
    const res = await this.run(args, opts);
    if (res.code !== 0) throw kubectlError(res, what);
    return res.stdout;
  }

  /** Runs kubectl and parses its JSON answer. */
  // deno-lint-ignore no-explicit-any
  async json(args: string[], what: string, opts: { namespace?: string } = {}): Promise<any> {
    const text = await this.ok([...args, "-o", "json"], what, opts);
    if (text.trim() === "") return { kind: "List", items: [] };
    try {
      return JSON.parse(text);
    } catch {
      throw malformed(`${what}: kubectl printed something that is not JSON`);
    }
  }

  /**
   * Runs kubectl with binary stdin and stdout: stdin read from the file `stdinFile`, stdout written to the file
   * `stdoutFile` (created 0600, must not exist), as they stream (backups of any size; `kube backup|restore`).
   */
  async files(
    args: string[],
    opts: { namespace?: string; stdinFile?: string; stdoutFile?: string },
  ): Promise<KubectlResult> {
    const child = this.#spawn(this.argv(args, opts.namespace), opts.stdinFile !== undefined);
    const feed = opts.stdinFile === undefined
      ? Promise.resolve()
      // A kubectl that stops reading early reports why through its exit status and stderr.
      : Deno.open(opts.stdinFile, { read: true }).then((f) => f.readable.pipeTo(child.stdin)).catch(() => {});
    const drain = opts.stdoutFile === undefined
      ? child.stdout.cancel()
      : Deno.open(opts.stdoutFile, { write: true, createNew: true, mode: 0o600 }).then(async (f) => {
        await child.stdout.pipeTo(f.writable);
      });
    const [, , err, st] = await Promise.all([feed, drain, new Response(child.stderr).text(), child.status]);
    return { code: st.code, stdout: "", stderr: err };
  }

  /**
   * Runs kubectl passing its stdout and stderr through unchanged, byte for byte, as they arrive (logs).
   * Returns kubectl's exit code and the tail of its stderr.
   */
  async passthrough(args: string[], opts: { namespace?: string } = {}): Promise<KubectlResult> {
    const child = this.#spawn(this.argv(args, opts.namespace), false);
    let errTail = "";
    const pump = async (s: ReadableStream<Uint8Array>, write: (b: Uint8Array) => void, keep: boolean) => {
      for await (const chunk of s) {
        write(chunk);
        if (keep) errTail = (errTail + new TextDecoder().decode(chunk)).slice(-4096);
      }
    };
    await Promise.all([
      pump(child.stdout, (b) => this.io.writeOut(b), false),
      pump(child.stderr, (b) => this.io.writeErr(b), true),
    ]);
    const st = await child.status;
    return { code: st.code, stdout: "", stderr: errTail };
  }
}
