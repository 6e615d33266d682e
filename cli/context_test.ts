import assert from "node:assert/strict";
import { captureIo, CommandError, Output, parseFlags } from "../cmd/mod.ts";
import { CLIENT_FLAG, clientDir, type CommandContext, nowSec } from "./context.ts";

function ctx(args: string[], env: Record<string, string> = {}): CommandContext {
  const io = captureIo(env, { now: () => 1_700_000_123_456 });
  return {
    flags: parseFlags(args, [CLIENT_FLAG]),
    io,
    out: new Output(io, { json: false, quiet: false, verbose: false }),
    timeoutMs: 1,
    argv: args,
  };
}

Deno.test("clientDir() takes --client, then VEEN_CLIENT, else a usage error", () => {
  assert.equal(clientDir(ctx(["--client", "/a"], { VEEN_CLIENT: "/b" })), "/a");
  assert.equal(clientDir(ctx([], { VEEN_CLIENT: "/b" })), "/b");
  assert.throws(() => clientDir(ctx([])), CommandError);
  assert.equal(nowSec(ctx([])), 1_700_000_123);
});
