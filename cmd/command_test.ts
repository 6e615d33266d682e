import assert from "node:assert/strict";
import { VeenError } from "../core/mod.ts";
import { type Command, commandHelp, lazy, type Program, rootHelp, runProgram } from "./command.ts";
import { usageError } from "./errors.ts";
import { captureIo } from "./io.ts";

const ran: string[][] = [];

const TABLE: Command[] = [
  {
    path: ["echo"],
    summary: "print the words",
    usage: "t echo WORD...",
    flags: [{ name: "upper", arity: 0, help: "upper-case" }],
    positionals: 3,
    run(ctx) {
      const words = ctx.flags.positionals.map((w) => ctx.flags.bool("upper") ? w.toUpperCase() : w);
      ran.push([...ctx.argv]);
      ctx.out.result({ words }, [words.join(" ")]);
      return Promise.resolve(0);
    },
  },
  {
    path: ["grp", "rate"],
    summary: "fail like a rate-limited hub",
    usage: "t grp rate",
    flags: [],
    run: () => Promise.reject(new VeenError("E.RATE", "slow down", { retryAfter: 7 })),
  },
  {
    path: ["boom"],
    summary: "a bug",
    usage: "t boom",
    flags: [],
    run: () => Promise.reject(new Error("boom")),
  },
  {
    path: ["grp", "lazy"],
    summary: "a handler loaded on first use",
    usage: "t grp lazy",
    flags: [],
    run: lazy(
      () => Promise.resolve({ h: () => Promise.reject(usageError("from the lazy module")) }),
      (m) => m.h,
    ),
  },
];

const PROGRAM: Program = {
  name: "t",
  sections: [{ title: "test", commands: TABLE }],
  defaultTimeoutMs: 5,
  prepare: (_cmd, argv) => Promise.resolve(argv.map((a) => a === "--shout" ? "--upper" : a)),
};

async function run(args: string[]) {
  const io = captureIo();
  const code = await runProgram(PROGRAM, args, io);
  return { code, out: io.stdout(), err: io.stderr() };
}

Deno.test("runProgram() finds the command, parses its flags after prepare(), and passes the raw arguments", async () => {
  const r = await run(["echo", "a", "--shout", "b"]);
  assert.deepEqual(r, { code: 0, out: "A B\n", err: "" });
  assert.deepEqual(ran.at(-1), ["a", "--upper", "b"]);
  assert.deepEqual(JSON.parse((await run(["--json", "echo", "x"])).out), { ok: true, words: ["x"] });
  assert.equal((await run(["--quiet", "echo", "x"])).out, "");
  // Every spelling the parser accepts sets the mode: -q, -v (an internal error's stack only with verbose).
  assert.equal((await run(["echo", "x", "-q"])).out, "");
  assert.deepEqual(JSON.parse((await run(["echo", "-json", "x"])).out), { ok: true, words: ["x"] });
  assert.match((await run(["boom", "-v"])).err, /^E\.INTERNAL: boom\n.*Error: boom/s);
  assert.equal((await run(["boom"])).err, "E.INTERNAL: boom\n");
});

Deno.test("runProgram() help: root, help CMD, CMD --help, group listing; no words is exit 1", async () => {
  assert.deepEqual(await run([]), { code: 1, out: rootHelp(PROGRAM) + "\n", err: "" });
  assert.equal((await run(["--help"])).code, 0);
  assert.deepEqual(await run(["help", "echo"]), {
    code: 0,
    out: commandHelp(TABLE[0]!, "t") + "\n",
    err: "",
  });
  assert.equal((await run(["echo", "--help"])).out, commandHelp(TABLE[0]!, "t") + "\n");
  const g = await run(["grp"]);
  assert.equal(g.code, 1);
  assert.match(g.out, /^ {2}t grp rate +fail like/m);
  assert.match(g.out, /^ {2}t grp lazy +a handler/m);
  assert.equal((await run(["grp", "--help"])).code, 0);
  assert.match(rootHelp(PROGRAM), /^ {2}grp +rate, lazy$/m);
});

Deno.test("runProgram() refuses unknown commands and subcommands with exit 1, also with --help", async () => {
  for (
    const args of [["nope"], ["nope", "--help"], ["grp", "nope"], ["grp", "nope", "--help"], ["help", "nope"]]
  ) {
    const r = await run(args);
    assert.equal(r.code, 1, args.join(" "));
    assert.equal(r.out, "", args.join(" "));
    assert.match(r.err, /^E\.USAGE: Unknown (sub)?command "(t grp )?nope"/, args.join(" "));
  }
  const flags = await run(["grp", "--x=1"]);
  assert.equal(flags.err, 'E.USAGE: "t grp" needs a subcommand (rate, lazy), got --x=1\n');
  assert.equal((await run(["echo", "a", "b", "c", "d"])).err, 'E.USAGE: Unexpected argument "d"\n');
  assert.equal((await run(["echo", "--timeout-ms", "0"])).code, 1);
});

Deno.test("runProgram() failures: CODE: detail on stderr, or one JSON document with retry_after under --json", async () => {
  assert.deepEqual(await run(["grp", "rate"]), { code: 4, out: "", err: "E.RATE: slow down\n" });
  const j = await run(["grp", "rate", "--json"]);
  assert.equal(j.code, 4);
  assert.deepEqual(JSON.parse(j.out), { ok: false, code: "E.RATE", detail: "slow down", retry_after: 7 });
  assert.deepEqual(await run(["grp", "lazy"]), { code: 1, out: "", err: "E.USAGE: from the lazy module\n" });
});
