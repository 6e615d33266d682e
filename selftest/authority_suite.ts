/**
 * `veen selftest authority` (spec 000 §8.2: the Job `veen-selftest-authority` in veen-system runs `veen-selftest
 * authority --hub http://veen-authority:8080`): the authority hub serves and is ready, reports role `authority`,
 * signs its realm descriptor, and every admin label it holds (stream_fed_admin, stream_revocation,
 * stream_label_class, stream_schema_meta) has RECEIPTs and a latest CHECKPOINT signed by its key. Without --hub it
 * starts its own hub with `--profile authority`. Read-only against a deployed hub.
 */
import {
  decodeCborSeq,
  decodeCheckpoint,
  decodeRealmDescriptor,
  fromHex,
  receiptFromCbor,
  toHex,
  verifyCheckpointSig,
  verifyReceiptSig,
} from "../core/mod.ts";
import { check, fail, type Harness } from "./harness.ts";

const SUITE = "authority";
export const AUTHORITY_GOAL =
  "the authority hub serves, is ready, reports role authority and signs its realm descriptor and every admin " +
  "record it holds (spec 000 §8.2)";

export async function authoritySuite(h: Harness): Promise<void> {
  let url = "";
  let hubPk: Uint8Array = new Uint8Array(0);
  let adminLabels: Uint8Array[] = [];
  await h.step(SUITE, "serve", "the authority hub answers /healthz and /readyz", async (ev) => {
    const got = await h.suiteHub(
      ev,
      "authority",
      { env: { VEEN_PROFILE: "authority" } },
      "--profile authority",
    );
    url = got.url;
    hubPk = fromHex(String(got.info.hub_pk), 32, "hub_pk");
    const health = await h.json(`${url}/healthz`);
    check(health.ok === true, `/healthz ok is ${health.ok}`);
    const ready = await h.http(`${url}/readyz`);
    check(ready.status === 200, `/readyz answered ${ready.status}`);
    ev.push(`/healthz ok, /readyz 200, hub_pk ${toHex(hubPk).slice(0, 16)}…`);
  }, { critical: true });
  await h.step(SUITE, "role", "GET /info reports role authority", async (ev) => {
    const info = await h.json(`${url}/info`);
    check(
      info.role === "authority",
      `role is "${info.role}", not "authority" (start the hub with --profile authority)`,
    );
    ev.push(`/info role ${info.role}`);
  });
  await h.step(SUITE, "realm", "the realm descriptor is signed by the hub key", async (ev) => {
    const r = await h.http(`${url}/realm`);
    check(r.status === 200, `/realm answered ${r.status}`);
    const d = decodeRealmDescriptor(r.body, hubPk);
    adminLabels = d.adminLabels;
    ev.push(`realm "${d.realmName}" with ${d.adminLabels.length} admin labels, hub_sig verifies`);
  });
  await h.step(
    SUITE,
    "admin-records",
    "every admin record's RECEIPT and latest CHECKPOINT verify",
    async (ev) => {
      check(adminLabels.length === 4, "no admin labels (the realm step failed)");
      for (const label of adminLabels) {
        const hex = toHex(label);
        const page = await h.http(`${url}/stream?label=${hex}`);
        check(page.status === 200, `/stream ${hex.slice(0, 8)} answered ${page.status}`);
        const items = decodeCborSeq(page.body, "/stream page");
        for (const it of items) {
          const rc = receiptFromCbor((it as unknown[])[0] as never);
          if (!verifyReceiptSig(rc, hubPk)) {
            fail(
              `label ${hex.slice(0, 8)} seq ${rc.streamSeq}: RECEIPT hub_sig`,
            );
          }
        }
        const cp = await h.http(`${url}/checkpoint_latest?label=${hex}`);
        if (items.length > 0 && cp.status === 200) {
          check(
            verifyCheckpointSig(decodeCheckpoint(cp.body), hubPk),
            `label ${hex.slice(0, 8)}: CHECKPOINT hub_sig`,
          );
        }
        ev.push(
          `admin label ${hex.slice(0, 8)}: ${items.length} RECEIPTs verify${
            cp.status === 200 ? ", CHECKPOINT verifies" : ""
          }`,
        );
      }
    },
  );
}
