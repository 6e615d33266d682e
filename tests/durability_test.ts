/**
 * Durability barrier tests: the hub's fdatasync/fsync calls are gated or logged through the store's `sync` hook
 * (hub/files.ts Syncer), so these fail if a RECEIPT, an /authorize answer or a CHECKPOINT leaves before the
 * bytes it vouches for are synced (kill -9 cannot show it: the page cache survives a process kill).
 */
import assert from "node:assert/strict";
import { encodeCapToken, issueCapToken, streamIdFor, toHex } from "../core/mod.ts";
import type { RunningHub } from "../hub/mod.ts";
import { openDiskStore } from "../hub/disk_store.ts";
import { OS_SYNC, type Syncer } from "../hub/files.ts";
import { http, postCbor, startTestHub, submit, Writer } from "./fixture.ts";

/** A Syncer that logs every call and completion and, while held, delays every sync until released. */
class GatedSync implements Syncer {
  readonly events: string[] = [];
  /** Which syncs are held (matched against "file <path>" / "dir <path>"); null: none. */
  #held: RegExp | null = /./;
  #pending: (() => void)[] = [];
  #watchers: { pred: (e: string) => boolean; resolve: () => void }[] = [];

  constructor(private readonly root: string) {}

  #rel(path: string): string {
    return path.startsWith(`${this.root}/`) ? path.slice(this.root.length + 1) : path;
  }

  note(e: string): void {
    this.events.push(e);
    this.#watchers = this.#watchers.filter((w) => (w.pred(e) ? (w.resolve(), false) : true));
  }

  /** Resolves once an event matching `re` has been logged. */
  waitFor(re: RegExp): Promise<void> {
    if (this.events.some((e) => re.test(e))) return Promise.resolve();
    return new Promise((resolve) => this.#watchers.push({ pred: (e) => re.test(e), resolve }));
  }

  #gate(what: string, run: () => Promise<void>): Promise<void> {
    this.note(`call ${what}`);
    const go = async () => {
      await run();
      this.note(`done ${what}`);
    };
    if (this.#held === null || !this.#held.test(what)) return go();
    return new Promise((resolve, reject) => this.#pending.push(() => go().then(resolve, reject)));
  }

  file(f: Deno.FsFile, path: string): Promise<void> {
    return this.#gate(`file ${this.#rel(path)}`, () => OS_SYNC.file(f, path));
  }

  dir(path: string): Promise<void> {
    return this.#gate(`dir ${this.#rel(path)}`, () => OS_SYNC.dir(path));
  }

  hold(which = /./): void {
    this.#held = which;
  }

  release(): void {
    this.#held = null;
    for (const p of this.#pending.splice(0)) p();
  }
}

async function withGatedHub(
  o: Parameters<typeof startTestHub>[1],
  fn: (hub: RunningHub, sync: GatedSync, dir: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "veen-durable-" });
  const sync = new GatedSync(dir);
  sync.release(); // start-up writes pass; each test holds the gate where it matters
  const store = await openDiskStore(dir, {
    sync,
    ...(o?.segmentBytes ? { segmentBytes: o.segmentBytes } : {}),
  });
  const hub = await startTestHub(dir, o, { store });
  try {
    await fn(hub, sync, dir);
  } finally {
    sync.release();
    await hub.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** Several full round trips through the same hub: work that a released RECEIPT would not wait behind. */
async function roundTrips(hub: RunningHub, n = 3): Promise<void> {
  for (let i = 0; i < n; i++) await (await fetch(`${hub.url}/healthz`)).body?.cancel();
}

/** Starts `req`, records "answered" when it settles, and returns its result. */
function track<T>(sync: GatedSync, req: Promise<T>): { done: () => boolean; result: Promise<T> } {
  let settled = false;
  const result = req.finally(() => {
    settled = true;
    sync.note("answered");
  });
  return { done: () => settled, result };
}

Deno.test("no RECEIPT leaves before both log segment files and, for new files, both directories are synced", async () => {
  await withGatedHub({}, async (hub, sync) => {
    const w = new Writer("durable/a");
    sync.hold();
    const req = track(sync, submit(hub.url, w.msg()));
    await sync.waitFor(/^call file receipts\//);
    await sync.waitFor(/^call file payloads\//);
    await roundTrips(hub);
    assert.equal(req.done(), false, "the RECEIPT left before its log records were synced");
    sync.release();
    assert.equal((await req.result).status, 200);
    const answered = sync.events.indexOf("answered");
    for (
      const re of [
        /^done file receipts\//,
        /^done file payloads\//,
        /^done dir receipts$/,
        /^done dir payloads$/,
      ]
    ) {
      const i = sync.events.findIndex((e) => re.test(e));
      assert.ok(i >= 0 && i < answered, `${re} before the RECEIPT: ${sync.events.join(", ")}`);
    }
  });
});

Deno.test("after a rotation the first RECEIPT waits for the new files and both directories to be synced", async () => {
  await withGatedHub({ segmentBytes: 4096 }, async (hub, sync) => {
    const w = new Writer("durable/rot");
    let files = new Set<string>();
    for (let i = 0; i < 40; i++) {
      const from = sync.events.length;
      const r = track(sync, submit(hub.url, w.msg({ bodyLen: 400 })));
      assert.equal((await r.result).status, 200);
      const ev = sync.events.slice(from, sync.events.lastIndexOf("answered"));
      const now = new Set(ev.filter((e) => e.startsWith("done file ")).map((e) => e.slice(10)));
      assert.equal(now.size, 2, `both families synced before RECEIPT ${i + 1}: ${ev.join(", ")}`);
      if (files.size > 0 && [...now].some((f) => !files.has(f))) {
        for (const d of ["done dir receipts", "done dir payloads"]) {
          assert.ok(ev.includes(d), `${d} before the first RECEIPT of a new segment: ${ev.join(", ")}`);
        }
      }
      files = now;
    }
    assert.ok(sync.events.some((e) => /file receipts\/00000002/.test(e)), "the test rotated at least twice");
  });
});

Deno.test("no /authorize answer before its admission record is synced; no CHECKPOINT served before its record is", async () => {
  await withGatedHub({ checkpointEvery: 1 }, async (hub, sync) => {
    const w = new Writer("durable/adm");
    const tok = issueCapToken({
      issuerSecret: hub.hubKey.secret,
      issuerPk: hub.hubKey.public,
      subjectPk: w.key.public,
      streamIds: [streamIdFor("durable/adm")],
      ttl: 3600,
    });
    sync.hold();
    const req = track(sync, postCbor(hub.url, "/authorize", encodeCapToken(tok)));
    await sync.waitFor(/^call file admissions\.cborseq$/);
    await roundTrips(hub);
    assert.equal(req.done(), false, "/authorize answered before its record was synced");
    sync.release();
    assert.equal((await req.result).status, 200);
    assert.ok(sync.events.indexOf("done file admissions.cborseq") < sync.events.indexOf("answered"));

    const label = toHex(w.label);
    sync.hold(/checkpoints/); // the entry becomes durable; the CHECKPOINT that follows is held
    assert.equal((await submit(hub.url, w.msg())).status, 200);
    await sync.waitFor(/^call file checkpoints\.cborseq$/);
    await roundTrips(hub);
    assert.equal((await http(`${hub.url}/checkpoint_latest?label=${label}`)).status, 404);
    sync.release();
    await sync.waitFor(/^done file checkpoints\.cborseq$/);
    await hub.close(); // drains the checkpointer
  });
});
