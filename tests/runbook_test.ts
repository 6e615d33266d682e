/**
 * docs/operations.md "Runbook" as a script: every block of its Start, Stop, Upgrade, Rotate the hub key and Recover
 * from a refused start sections runs line by line (`sh -c`, with `veen` on PATH being this checkout) against a real
 * hub on a loopback port; each line must exit 0, or N when it ends with `# exit N`. Lines for root, systemd or a
 * cluster (`sudo`, `systemctl`, `kubectl`) are skipped. Between the sections the test checks what they promise:
 * an acknowledged entry survives stop, upgrade, key rotation and recovery; the key changes; the refused start
 * changes nothing and the backup brings the hub back.
 */
import assert from "node:assert/strict";
import { toHex } from "../core/mod.ts";
import { selfCommand } from "../hub/mod.ts";
import { http, submit, Writer } from "./fixture.ts";
import { snapshotDir } from "./util.ts";

const DOC = new URL("../docs/operations.md", import.meta.url);

/** The ```sh blocks of each `### ` section of the Runbook. */
function runbook(text: string): Map<string, string[]> {
  const body = text.split("\n## Runbook\n")[1]!.split("\n## ")[0]!;
  const out = new Map<string, string[]>();
  for (const part of body.split("\n### ").slice(1)) {
    const title = part.split("\n")[0]!.trim();
    const lines = [...part.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((m) => m[1]!.split("\n"));
    out.set(title, lines.filter((l) => l.trim() !== ""));
  }
  return out;
}

interface Env {
  root: string;
  vars: Record<string, string>;
  ran: string[];
}

async function runLine(e: Env, line: string): Promise<string> {
  const m = /^(.*?)\s*(?:#\s*(.*))?$/.exec(line)!;
  const cmd = m[1]!;
  const expected = /^exit (\d+)/.exec(m[2] ?? "")?.[1];
  if (/^(sudo|systemctl|kubectl)\b/.test(cmd)) return "";
  const r = await new Deno.Command("sh", { args: ["-c", cmd], env: e.vars, stdout: "piped", stderr: "piped" })
    .output();
  const dec = new TextDecoder();
  const out = dec.decode(r.stdout) + dec.decode(r.stderr);
  assert.equal(r.code, expected === undefined ? 0 : Number(expected), `${cmd}\n${out}`);
  e.ran.push(cmd);
  return out;
}

async function section(e: Env, doc: Map<string, string[]>, title: string): Promise<string[]> {
  const lines = doc.get(title);
  assert.ok(lines !== undefined && lines.length > 0, `docs/operations.md Runbook has no "${title}" block`);
  const outs: string[] = [];
  for (const l of lines) outs.push(await runLine(e, l));
  return outs;
}

Deno.test("the operations runbook: start, stop, upgrade, rotate the key and recover from a refused start", async () => {
  const doc = runbook(await Deno.readTextFile(DOC));
  const root = await Deno.makeTempDir({ prefix: "veen-runbook-" });
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  const self = selfCommand();
  await Deno.mkdir(`${root}/bin`);
  await Deno.writeTextFile(
    `${root}/bin/veen`,
    `#!/bin/sh\nexec ${[self.cmd, ...self.args].map((a) => `'${a}'`).join(" ")} "$@"\n`,
    { mode: 0o755 },
  );
  await Deno.writeTextFile(`${root}/hub.toml`, `[hub]\nlisten = "127.0.0.1:${port}"\nlog_level = "warn"\n`);
  const url = `http://127.0.0.1:${port}`;
  const e: Env = {
    root,
    vars: {
      PATH: `${root}/bin:${Deno.env.get("PATH")}`,
      DIR: `${root}/data`,
      CONFIG: `${root}/hub.toml`,
      URL: url,
      BACKUP: `${root}/backup`,
    },
    ran: [],
  };
  const dir = e.vars.DIR!;
  const w = new Writer("runbook/orders", 31);
  const served = async (receipt: Uint8Array) => {
    const r = await http(`${url}/receipt?label=${toHex(w.label)}&seq=1`);
    assert.deepEqual([r.status, r.body], [200, receipt], "the acknowledged entry is served unchanged");
  };
  try {
    await section(e, doc, "Start");
    const acked = await submit(url, w.msg({ bodyLen: 200 }));
    assert.equal(acked.status, 200);
    for (let i = 0; i < 20; i++) assert.equal((await submit(url, w.msg({ bodyLen: 200 }))).status, 200);
    await section(e, doc, "Stop");
    assert.equal(await fetch(`${url}/healthz`).then(() => "up", () => "down"), "down");

    await section(e, doc, "Upgrade");
    await served(acked.body);

    const keyBefore = await Deno.readFile(`${dir}/hub_key`);
    const outs = await section(e, doc, "Rotate the hub key");
    assert.notDeepEqual(await Deno.readFile(`${dir}/hub_key`), keyBefore, "a new hub key");
    assert.ok(outs.some((o) => o.includes("hub_pk")), outs.join("\n"));
    await served(acked.body);

    // An offline backup, then damage that a start cannot attribute to a crash: a flipped byte in the log with
    // the index gone (so the start must read the log).
    assert.equal(
      (await new Deno.Command("sh", {
        args: ["-c", 'veen hub stop --data-dir "$DIR" && cp -a "$DIR" "$BACKUP"'],
        env: e.vars,
      }).output()).code,
      0,
    );
    const segs = [...Deno.readDirSync(`${dir}/payloads`)].map((f) => f.name).filter((n) =>
      n.endsWith(".cborseq")
    );
    const seg = `${dir}/payloads/${segs.sort().at(-1)}`;
    const bytes = await Deno.readFile(seg);
    bytes[Math.floor(bytes.length / 2)]! ^= 0x20;
    await Deno.writeFile(seg, bytes);
    for (const f of Deno.readDirSync(dir)) {
      if (f.name.startsWith("index.kv")) await Deno.remove(`${dir}/${f.name}`);
    }
    const damaged = await snapshotDir(dir, true);
    const lines = doc.get("Recover from a refused start")!;
    const startOut = await runLine(e, lines[0]!);
    assert.match(startOut, /E\.UNAVAILABLE: .*Damaged record in payloads\/\d+\.cborseq at offset \d+/);
    const after = await snapshotDir(dir, true);
    const changed = [...new Set([...Object.keys(after), ...Object.keys(damaged)])].filter((k) =>
      after[k] !== damaged[k]
    );
    // The process's own files (its log and the lock it took) are not stored data.
    assert.deepEqual(
      changed.filter((k) => k !== "hub.log" && k !== "lock"),
      [],
      "a refused start changes nothing",
    );
    const fsckOut = await runLine(e, lines[1]!);
    assert.match(fsckOut, /fsck FAILED: .*payloads\/\d+\.cborseq@\d+/);
    for (const line of lines.slice(2)) await runLine(e, line);
    await served(acked.body);
    await Deno.stat(`${dir}.damaged`);
    for (const t of ["Start", "Stop", "Upgrade", "Rotate the hub key", "Recover from a refused start"]) {
      assert.ok(doc.has(t), t);
    }
    assert.ok(e.ran.some((c) => c.startsWith("curl ")), "the readiness check ran");
  } finally {
    await new Deno.Command("sh", { args: ["-c", 'veen hub stop --data-dir "$DIR"'], env: e.vars }).output();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("docs/operations.md lists exactly the files and modes veen keygen writes", async () => {
  const text = await Deno.readTextFile(DOC);
  const row = text.split("\n").find((l) => l.includes("`~/.local/share/veen/<name>/`"))!;
  assert.ok(row !== undefined, "the client identity row");
  const [, modeCell, whatCell] = row.split("|").map((c) => c.trim()).filter((c) => c !== "");
  const files = [...whatCell!.matchAll(/`([^`]+)`/g)].map((m) => m[1]!).sort();
  const dirMode = Number.parseInt(/(\d{4})/.exec(modeCell!)![1]!, 8);
  const fileMode = Number.parseInt(/all (\d{4})/.exec(whatCell!)![1]!, 8);
  const root = await Deno.makeTempDir({ prefix: "veen-keygen-doc-" });
  try {
    const self = selfCommand();
    const r = await new Deno.Command(self.cmd, { args: [...self.args, "keygen", "--out", `${root}/alice`] })
      .output();
    assert.equal(r.code, 0, new TextDecoder().decode(r.stderr));
    const written = [...Deno.readDirSync(`${root}/alice`)].map((f) => f.name).sort();
    assert.deepEqual(written, files);
    assert.equal((await Deno.stat(`${root}/alice`)).mode! & 0o777, dirMode);
    for (const f of written) assert.equal((await Deno.stat(`${root}/alice/${f}`)).mode! & 0o777, fileMode, f);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
