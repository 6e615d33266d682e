/**
 * `POST /admin/backup` (CLI-GOALS-3 §2.7, docs/operations.md "Back up and restore"): an operator route, authorized
 * by a signature under the hub's own key (hub/admin_auth.ts). The answer is the backup file itself
 * (application/octet-stream, hub/backup_format.ts), streamed as it is taken (hub/backup.ts): the status is 200 once
 * the cut is taken, and a failure after that ends the body early, so the file lacks its closing checksum frame and
 * every reader refuses it. One backup at a time: a second request meanwhile is 429 E.RATE.
 */
import { VeenError } from "../core/mod.ts";
import { ADMIN_AUTH_HEADER, type AdminAuth } from "./admin_auth.ts";
import { type BackupSource, writeBackup } from "./backup.ts";
import type { Logger } from "./logger.ts";

export const BACKUP_PATH = "/admin/backup";

export class BackupService {
  #running = false;

  constructor(
    private readonly auth: AdminAuth,
    private readonly source: BackupSource,
    private readonly log: Logger,
  ) {}

  /** The streamed backup, or a refusal (E.AUTH, E.RATE, E.UNAVAILABLE) before any byte of it. */
  async handle(req: Request): Promise<Response> {
    this.auth.check(req.headers.get(ADMIN_AUTH_HEADER), "POST", BACKUP_PATH);
    if (this.#running) throw new VeenError("E.RATE", "A backup is already running", { retryAfter: 10 });
    this.#running = true;
    const pipe = new TransformStream<Uint8Array, Uint8Array>();
    const w = pipe.writable.getWriter();
    let started!: () => void;
    const first = new Promise<void>((r) => (started = r));
    const t0 = performance.now();
    const done = writeBackup(this.source, (chunk) => {
      started();
      return w.write(chunk);
    }).then(
      async (meta) => {
        this.log.info("backup taken", {
          labels: meta.labels.length,
          entries: meta.entries,
          ms: Math.round(performance.now() - t0),
        });
        await w.close();
      },
      async (e) => {
        this.log.warn("backup failed", { error: String(e) });
        await w.abort(e).catch(() => {});
        throw e;
      },
    ).finally(() => (this.#running = false));
    // The status waits for the cut: a store that cannot be backed up is refused with its error, not a cut body.
    await Promise.race([first, done]);
    done.catch(() => {});
    return new Response(pipe.readable, {
      status: 200,
      headers: { "content-type": "application/octet-stream" },
    });
  }
}
