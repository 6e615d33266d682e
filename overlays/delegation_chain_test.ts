/** Delegated chains are verified link by link; any failing link means not applied (D2). */
import assert from "node:assert/strict";
import { authRef, type CapToken, issueCapToken, signingKeyFromSeed, toHex } from "../core/mod.ts";
import { checkDelegation } from "./delegation_chain.ts";
import { DELEGATED_EXECUTION } from "./operation_profiles.ts";
import type { OperationRecord } from "./operation_log.ts";

const key = (n: number) => signingKeyFromSeed(new Uint8Array(32).fill(n));
const [P, M, A] = [key(1), key(2), key(3)];
const cap = (from: typeof P, to: typeof P) =>
  issueCapToken({
    issuerSecret: from.secret,
    issuerPk: from.public,
    subjectPk: to.public,
    streamIds: [new Uint8Array(32)],
    ttl: 60,
  });

function record(chain: CapToken[], principal = P.public): OperationRecord {
  const body = {
    principal_identity: principal,
    agent_identity: A.public,
    delegation_chain: chain.map(authRef),
    operation_schema: new Uint8Array(32),
    operation_body: null,
  };
  DELEGATED_EXECUTION.encode(body);
  return {
    seq: 1,
    msgId: new Uint8Array(32),
    clientId: A.public,
    hubTs: 0,
    codec: DELEGATED_EXECUTION,
    body,
  };
}

Deno.test("checkDelegation: principal → middle → agent applies; a broken or unknown link does not", () => {
  const c1 = cap(P, M);
  const c2 = cap(M, A);
  const known = new Map([c1, c2].map((c) => [toHex(authRef(c)), c]));
  const resolve = (ref: Uint8Array) => known.get(toHex(ref));
  assert.equal(checkDelegation(record([c1, c2]), resolve).applied, true);
  const skip = checkDelegation(record([c1, cap(P, A)]), (r) => resolve(r) ?? cap(P, A));
  assert.equal(skip.applied, false);
  assert.match(skip.reason!, /link 1: issuer is not the previous capability's subject/);
  assert.match(
    checkDelegation(record([c1, c2], M.public), resolve).reason!,
    /link 0: issuer is not principal/,
  );
  assert.match(
    checkDelegation(record([c1, cap(M, M)]), (r) => resolve(r) ?? cap(M, M)).reason!,
    /link 1: subject/,
  );
  assert.match(checkDelegation(record([c1, c2]), () => undefined).reason!, /no cap_token/);
  const forged = { ...c2, sigChain: [new Uint8Array(64)] };
  assert.match(
    checkDelegation(record([c1, c2]), (r) => toHex(r) === toHex(authRef(c2)) ? forged : resolve(r)).reason!,
    /link 1: /,
  );
  assert.equal(checkDelegation(record([]), resolve).applied, false);
});
