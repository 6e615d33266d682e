import assert from "node:assert/strict";
import { runCli, withScenario } from "../testing/run.ts";

Deno.test("attachment verify checks a file by index and fails for a changed file or a swapped index", async () => {
  await withScenario({}, async (s) => {
    const c = await s.client("c");
    const f0 = `${s.root}/zero.bin`;
    const f1 = `${s.root}/one.bin`;
    await Deno.writeFile(f0, new Uint8Array(3000).map((_, i) => i % 251));
    await Deno.writeTextFile(f1, "second attachment");
    const msg = `${s.root}/msg.cbor`;
    const sent = await runCli([
      "send",
      "--hub",
      s.hub.url,
      "--client",
      c,
      "--stream",
      "core/att",
      "--body",
      '{"k":"v"}',
      "--attach",
      f0,
      "--attach",
      f1,
      "--dump-raw",
      msg,
      `${s.root}/r.cbor`,
    ]);
    assert.equal(sent.code, 0, sent.stderr);
    const v = (file: string, index: string, ...extra: string[]) =>
      runCli([
        "attachment",
        "verify",
        "--msg",
        msg,
        "--file",
        file,
        "--index",
        index,
        "--client",
        c,
        ...extra,
      ]);
    const ok0 = await v(f0, "0");
    assert.equal(ok0.code, 0, ok0.stderr);
    assert.match(ok0.stdout, /^attachment: ok\nindex: 0\n/);
    assert.equal((await v(f1, "1")).code, 0);
    assert.equal(
      (await runCli(["verify-attachment", "--msg", msg, "--file", f1, "--index", "1", "--client", c])).code,
      0,
    );
    // swapped index
    const swapped = await v(f0, "1");
    assert.equal(swapped.code, 4);
    assert.match(swapped.stderr, /^E\.SIG: The file's coid/);
    // changed file
    await Deno.writeTextFile(`${s.root}/changed.bin`, "second attachmenT");
    assert.equal((await v(`${s.root}/changed.bin`, "1")).code, 4);
    assert.equal((await v(f1, "7")).code, 4);
    // the ciphertext as stored by the hub verifies too
    const coid = /attachment 1: coid ([0-9a-f]{64})/.exec(sent.stdout)![1]!;
    const ct = new Uint8Array(await (await fetch(`${s.hub.url}/attachments/${coid}`)).arrayBuffer());
    await Deno.writeFile(`${s.root}/ct.bin`, ct);
    const ctOk = await v(`${s.root}/ct.bin`, "1", "--json");
    assert.equal(ctOk.code, 0, ctOk.stdout);
    assert.equal(ctOk.json().form, "ciphertext");
    // Without --index the file may be any attachment; the answer names the index that matched.
    const any = (file: string) =>
      runCli(["attachment", "verify", "--msg", msg, "--file", file, "--client", c, "--json"]);
    const any1 = await any(f1);
    assert.equal(any1.code, 0, any1.stdout);
    assert.equal(any1.json().index, 1);
    assert.equal(any1.json().form, "plaintext");
    assert.equal((await any(f0)).json().index, 0);
    const anyCt = await any(`${s.root}/ct.bin`);
    assert.equal(anyCt.json().index, 1);
    assert.equal(anyCt.json().form, "ciphertext");
    const none = await any(`${s.root}/changed.bin`);
    assert.equal(none.code, 4);
    assert.match(none.json().detail as string, /matches none of the MSG's 2 attachment coids/);
    // another client cannot open the MSG
    const other = await s.client("other");
    const foreign = await runCli([
      "attachment",
      "verify",
      "--msg",
      msg,
      "--file",
      f0,
      "--index",
      "0",
      "--client",
      other,
    ]);
    assert.equal(foreign.code, 4);
    assert.match(foreign.stderr, /^E\.AUTH/);
  });
});
