/**
 * Keeps the `/submit_batch` requests of one client in client_seq order at the sequencer, when it can (docs/protocol.md
 * "Bulk submit"). A client with several requests in flight sends consecutive client_seqs on several connections;
 * their bodies may finish arriving in either order. A request that is ready to be sequenced waits until every
 * request of the same client (label, client_id of its first MSG) that holds a smaller first client_seq, and was
 * already past its structure checks, has been sequenced or has ended. Requests that arrive later are not waited
 * for: then the later seqs fail E.SEQ and the client sends them again, as without this. Waits only ever go to a
 * smaller first client_seq, so they cannot form a cycle.
 */

/** One request between its structure checks and its sequencing. */
export interface BatchTicket {
  key: string;
  first: number;
  sequenced: Promise<void>;
  release: () => void;
}

export class BatchOrder {
  readonly #open = new Map<string, Set<BatchTicket>>();

  /** Registers a request whose first MSG is client_seq `first` of the client `key`. */
  enter(key: string, first: number): BatchTicket {
    let release!: () => void;
    const t: BatchTicket = { key, first, sequenced: new Promise<void>((r) => (release = r)), release };
    let set = this.#open.get(key);
    if (set === undefined) this.#open.set(key, set = new Set());
    set.add(t);
    return t;
  }

  /** Resolves once the client's open requests with a smaller first client_seq have been sequenced or ended. */
  async turn(t: BatchTicket): Promise<void> {
    const before = [...this.#open.get(t.key) ?? []].filter((o) => o !== t && o.first < t.first);
    if (before.length > 0) await Promise.all(before.map((o) => o.sequenced));
  }

  /** The request was sequenced or ended (idempotent). */
  leave(t: BatchTicket): void {
    t.release();
    const set = this.#open.get(t.key);
    if (set?.delete(t) && set.size === 0) this.#open.delete(t.key);
  }

  /** Clients with a request open (for tests). */
  get size(): number {
    return this.#open.size;
  }
}
