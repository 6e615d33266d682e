/** `veen selftest` suites and `veen bench`. */
import { EXIT } from "../core/mod.ts";

export function selftestMain(_args: string[]): Promise<number> {
  console.error("E.UNAVAILABLE: veen selftest is not available in this build yet");
  return Promise.resolve(EXIT.SELFTEST);
}

export function benchMain(_args: string[]): Promise<number> {
  console.error("E.UNAVAILABLE: veen bench is not available in this build yet");
  return Promise.resolve(EXIT.USAGE);
}
