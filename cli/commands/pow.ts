/**
 * `veen pow request` and `veen pow solve` (CLI-GOALS-2 §5.2; docs/protocol.md "Proof of work"): fetch a hub
 * challenge, and find the least nonce from 0 upward whose `Ht("veen/pow", challenge || u64be(nonce))` starts with
 * D zero bits. `pow solve` gives up after `--max-iterations` nonces with exit 4 (`E.POW_UNSOLVED`).
 */
import { POW_DIFFICULTY_MAX, powHash, toHex, u64be } from "../../core/mod.ts";
import { parseHex32 } from "../../cmd/mod.ts";
import { type Command, connectFromFlags, HUB_DATA_DIR_FLAG, HUB_FLAG } from "../context.ts";
import { solveOrFail } from "../pow_client.ts";

export const powRequest: Command = {
  path: ["pow", "request"],
  summary: "ask a hub for a proof-of-work challenge",
  usage: "veen pow request --hub H [--difficulty D]",
  details:
    "Prints the challenge (hex), its difficulty (the larger of --difficulty and the hub's pow_difficulty) " +
    "and expires_at (Unix seconds; a challenge is valid for at most 5 minutes on the hub that issued it).",
  flags: [
    HUB_FLAG,
    HUB_DATA_DIR_FLAG,
    { name: "difficulty", metavar: "D", help: `difficulty to ask for (0..${POW_DIFFICULTY_MAX})` },
  ],
  async run(ctx) {
    const d = ctx.flags.int("difficulty", { max: POW_DIFFICULTY_MAX });
    const s = await connectFromFlags(ctx);
    const c = await s.http.powChallenge(d);
    const json = { challenge: toHex(c.challenge), difficulty: c.difficulty, expires_at: c.expiresAt };
    ctx.out.result(json, [`challenge: ${json.challenge}`, `difficulty: ${c.difficulty}`]);
    return 0;
  },
};

export const powSolve: Command = {
  path: ["pow", "solve"],
  summary: "solve a proof-of-work challenge (exit 4 when --max-iterations nonces do not)",
  usage: "veen pow solve --challenge HEX32 --difficulty D [--max-iterations N]",
  flags: [
    { name: "challenge", metavar: "HEX32", required: true, help: "the challenge (from pow request)" },
    { name: "difficulty", metavar: "D", required: true, help: "leading zero bits required" },
    { name: "max-iterations", metavar: "N", help: "try at most N nonces, 0..N-1 (default: no bound)" },
  ],
  run(ctx) {
    const challenge = parseHex32(ctx.flags.req("challenge"), "--challenge");
    const d = ctx.flags.int("difficulty", { max: POW_DIFFICULTY_MAX })!;
    const max = ctx.flags.int("max-iterations", { min: 1 }) ?? Number.MAX_SAFE_INTEGER;
    const nonce = solveOrFail(challenge, d, max);
    const nonceHex = toHex(u64be(nonce));
    ctx.out.result({ nonce, nonce_hex: nonceHex, hash_prefix_ok: true }, [
      `nonce: ${nonce}`,
      `nonce_hex: ${nonceHex}`,
      `hash: ${toHex(powHash(challenge, nonce))}`,
    ]);
    return Promise.resolve(0);
  },
};
