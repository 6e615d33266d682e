/**
 * The client side of SH1+ proof of work (CLI-GOALS-2 §5.2-5.3, docs/protocol.md "Proof of work"): which
 * `Veen-PoW` cookie a submit carries. With `--pow-challenge` and `--pow-nonce` the given cookie, as is; with
 * `--pow-challenge` alone it is solved here at `--pow-difficulty` (default: the hub's). Otherwise, when the hub
 * requires proof of work (learned from GET /info's `pow_difficulty`) or `--pow-difficulty` asks for it, every
 * submit fetches a fresh challenge and solves it; and a submit refused with E.AUTH for proof of work is retried
 * once with a solved fresh challenge (a hub that turned PoW on after /info was read). The MSG bytes never change.
 */
import { formatPowCookie, POW_DIFFICULTY_MAX, solvePow, toHex, VeenError } from "../core/mod.ts";
import { CommandError, parseHex32, parseUint } from "../cmd/mod.ts";
import type { Flags } from "../cmd/mod.ts";

/** A challenge as GET /pow/challenge answers it. */
export interface PowChallenge {
  challenge: Uint8Array;
  difficulty: number;
  expiresAt: number;
}

/** What the policy needs from the hub connection. */
export interface PowSource {
  powChallenge(difficulty?: number): Promise<PowChallenge>;
}

/** Most nonces an automatic solve tries: 2^(d+8), so a solvable difficulty fails only with odds of e^-256. */
const autoBound = (d: number) => 2 ** Math.min(d + 8, 52);

/** Solves or gives up with exit 4 (`E.POW_UNSOLVED`), naming the bound. */
export function solveOrFail(challenge: Uint8Array, difficulty: number, maxIterations: number): number {
  const nonce = solvePow(challenge, difficulty, maxIterations);
  if (nonce === undefined) {
    throw new CommandError(
      "check",
      `No nonce below ${maxIterations} solves difficulty ${difficulty} for challenge ${toHex(challenge)}`,
      { code: "E.POW_UNSOLVED" },
    );
  }
  return nonce;
}

export class PowPolicy {
  /** The hub's required difficulty (GET /info `pow_difficulty`; 0 when off or unknown). */
  hubDifficulty = 0;

  constructor(
    private readonly o: { challenge?: Uint8Array; nonce?: bigint; difficulty?: number } = {},
  ) {}

  /** The `--pow-challenge`, `--pow-nonce` and `--pow-difficulty` flags of a send-like command. */
  static fromFlags(f: Flags): PowPolicy {
    const challenge = f.str("pow-challenge");
    const nonce = f.str("pow-nonce");
    const difficulty = f.str("pow-difficulty");
    if (nonce !== undefined && challenge === undefined) {
      throw new CommandError("usage", "--pow-nonce needs --pow-challenge");
    }
    if (nonce !== undefined && (!/^(0|[1-9][0-9]{0,19})$/.test(nonce) || BigInt(nonce) >= 1n << 64n)) {
      throw new CommandError("usage", `--pow-nonce must be a decimal u64, not "${nonce}"`);
    }
    return new PowPolicy({
      ...(challenge === undefined ? {} : { challenge: parseHex32(challenge, "--pow-challenge") }),
      ...(nonce === undefined ? {} : { nonce: BigInt(nonce) }),
      ...(difficulty === undefined
        ? {}
        : { difficulty: parseUint(difficulty, "--pow-difficulty", { max: POW_DIFFICULTY_MAX }) }),
    });
  }

  /** The header of the first attempt, or undefined to send without one. */
  async first(hub: PowSource): Promise<string | undefined> {
    const { challenge, nonce } = this.o;
    if (challenge !== undefined && nonce !== undefined) return formatPowCookie({ challenge, nonce });
    const d = Math.max(this.o.difficulty ?? 0, this.hubDifficulty);
    if (challenge !== undefined) {
      return formatPowCookie({ challenge, nonce: BigInt(solveOrFail(challenge, d, autoBound(d))) });
    }
    return d > 0 ? await this.fresh(hub, d) : undefined;
  }

  /**
   * After a refusal `e` of the first attempt: a fresh solved cookie for one retry when the hub refused for proof of
   * work and the cookie was not the user's own; undefined otherwise.
   */
  async retry(hub: PowSource, e: unknown): Promise<string | undefined> {
    if (!(e instanceof VeenError) || e.code !== "E.AUTH" || !/proof of work|PoW|veen-pow/i.test(e.detail)) {
      return undefined;
    }
    if (this.o.nonce !== undefined) return undefined;
    return await this.fresh(hub, this.o.difficulty ?? 0);
  }

  async fresh(hub: PowSource, difficulty: number): Promise<string> {
    const c = await hub.powChallenge(difficulty);
    return formatPowCookie({
      challenge: c.challenge,
      nonce: BigInt(solveOrFail(c.challenge, c.difficulty, autoBound(c.difficulty))),
    });
  }
}
