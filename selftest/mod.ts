/** `veen selftest` suites and `veen bench`. */
import { EXIT } from "../core/mod.ts";

export function selftestMain(_args: string[]): Promise<number> {
  console.error("E.UNAVAILABLE: veen selftest is not available in this build yet");
  return Promise.resolve(EXIT.SELFTEST);
}

export { benchMain } from "./bench.ts";
