/** hub/admin_auth.ts: the signed operator request, its clock window, its binding to method and path, no replay. */
import { signingKeyFromSeed } from "../core/mod.ts";
import { throwsCode } from "../tests/util.ts";
import { AdminAuth, signAdminRequest } from "./admin_auth.ts";

Deno.test("an operator request verifies once, under the hub key, for its method and path, within the window", () => {
  const key = signingKeyFromSeed(new Uint8Array(32).fill(1));
  const now = 1_700_000_000;
  const auth = new AdminAuth(key.public, () => now * 1000);
  const h = signAdminRequest(key, "POST", "/admin/backup", now);
  auth.check(h, "POST", "/admin/backup");
  throwsCode(() => auth.check(h, "POST", "/admin/backup"), "E.AUTH");
  throwsCode(
    () => auth.check(signAdminRequest(key, "POST", "/admin/backup", now), "GET", "/admin/backup"),
    "E.AUTH",
  );
  throwsCode(() => auth.check(signAdminRequest(key, "POST", "/x", now), "POST", "/admin/backup"), "E.AUTH");
  throwsCode(
    () => auth.check(signAdminRequest(key, "POST", "/admin/backup", now - 301), "POST", "/admin/backup"),
    "E.AUTH",
  );
  const other = signingKeyFromSeed(new Uint8Array(32).fill(2));
  throwsCode(
    () => auth.check(signAdminRequest(other, "POST", "/admin/backup", now), "POST", "/admin/backup"),
    "E.AUTH",
  );
  throwsCode(() => auth.check(null, "POST", "/admin/backup"), "E.AUTH");
  throwsCode(() => auth.check("1.2.3", "POST", "/admin/backup"), "E.AUTH");
});
