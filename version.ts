/** The program version and the git commit it was built from (`veen version`). */
export const VERSION = "0.1.0";

/** Commit hash: VEEN_GIT_HASH (set by the compile task), else read from the checkout's .git, else "unknown". */
export function gitHash(): string {
  const env = Deno.env.get("VEEN_GIT_HASH");
  if (env) return env.slice(0, 12);
  try {
    const root = new URL("./", import.meta.url);
    if (root.protocol !== "file:") return "unknown";
    const head = Deno.readTextFileSync(new URL(".git/HEAD", root)).trim();
    if (!head.startsWith("ref: ")) return head.slice(0, 12);
    const ref = head.slice(5);
    try {
      return Deno.readTextFileSync(new URL(`.git/${ref}`, root)).trim().slice(0, 12);
    } catch {
      const packed = Deno.readTextFileSync(new URL(".git/packed-refs", root));
      const line = packed.split("\n").find((l) => l.endsWith(" " + ref));
      return line ? line.slice(0, 12) : "unknown";
    }
  } catch {
    return "unknown";
  }
}

export function versionLine(): string {
  return `veen ${VERSION} (git ${gitHash()})`;
}
