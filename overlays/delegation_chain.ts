/**
 * Delegated execution chains (spec-3 §4.3-4.4; overlay decisions: the first cap's issuer is the principal): a
 * delegated.execution.v1 is applied only when every link verifies, link by link (D2):
 * - each auth_ref of delegation_chain names a cap_token (resolved by the caller, e.g. `GET /cap`) whose
 *   `Ht("veen/cap", CBOR(token))` is that auth_ref and whose signature chain verifies;
 * - the first token's issuer is principal_identity;
 * - each next token's issuer is the previous token's subject (the previous cap allowed delegating to it);
 * - the last token's subject is agent_identity or the MSG's client_id.
 * D1: an empty chain is not applied.
 */
import { authRef, bytesEqual, type CapToken, toHex, verifyCapChain } from "../core/mod.ts";
import type { OperationRecord } from "./operation_log.ts";

export interface LinkCheck {
  auth_ref: string;
  ok: boolean;
  reason?: string;
}

export interface ChainCheck {
  applied: boolean;
  links: LinkCheck[];
  reason?: string;
}

/** Checks the chain of delegated execution `r`; `tokenOf` resolves an auth_ref (undefined when unknown). */
export function checkDelegation(
  r: OperationRecord,
  tokenOf: (ref: Uint8Array) => CapToken | undefined,
): ChainCheck {
  const chain = r.body.delegation_chain as Uint8Array[];
  if (chain.length === 0) return { applied: false, links: [], reason: "delegation_chain is empty (D1)" };
  const principal = r.body.principal_identity as Uint8Array;
  const agent = r.body.agent_identity as Uint8Array;
  const links: LinkCheck[] = [];
  let prev: CapToken | undefined;
  let failed: string | undefined;
  chain.forEach((ref, i) => {
    const why = linkProblem(ref, i, chain.length, tokenOf(ref), prev, principal, agent, r.clientId);
    links.push({
      auth_ref: toHex(ref),
      ok: why === undefined,
      ...(why === undefined ? {} : { reason: why }),
    });
    failed ??= why === undefined ? undefined : `link ${i}: ${why}`;
    prev = tokenOf(ref);
  });
  return { applied: failed === undefined, links, ...(failed === undefined ? {} : { reason: failed }) };
}

function linkProblem(
  ref: Uint8Array,
  i: number,
  n: number,
  t: CapToken | undefined,
  prev: CapToken | undefined,
  principal: Uint8Array,
  agent: Uint8Array,
  clientId: Uint8Array,
): string | undefined {
  if (t === undefined) return "no cap_token for this auth_ref";
  if (!bytesEqual(authRef(t), ref)) return "the cap_token does not hash to this auth_ref";
  try {
    verifyCapChain(t);
  } catch (e) {
    return `signature chain does not verify (${e instanceof Error ? e.message : e})`;
  }
  if (i === 0 && !bytesEqual(t.issuerPk, principal)) return "issuer is not principal_identity";
  if (i > 0 && prev !== undefined && !bytesEqual(t.issuerPk, prev.subjectPk)) {
    return "issuer is not the previous capability's subject";
  }
  if (i === n - 1 && !bytesEqual(t.subjectPk, agent) && !bytesEqual(t.subjectPk, clientId)) {
    return "subject is neither agent_identity nor the sender";
  }
  return undefined;
}
