// Bearer credentials: reading `Authorization: Bearer <token>`, and checking a presented key
// against a configured list without timing telling which key nearly matched.
import type { Context, MiddlewareHandler } from "hono";
import { secretEquals } from "../crypto/index.ts";
import { apiError } from "./errors.ts";

export function bearer(c: Context): string | undefined {
  const header = c.req.header("authorization");
  const match = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
  return match?.[1];
}

/** Whether `key` is one of `keys`, comparing against every one of them. */
export function keyAccepted(key: string, keys: readonly string[]): boolean {
  let ok = false;
  for (const candidate of keys) ok = secretEquals(key, candidate) || ok;
  return ok;
}

/**
 * Only for the operator: a key from AUDITOR_OPERATOR_KEYS. No keys configured is 403 (the
 * operator has not turned these on), no key 401 with a Bearer challenge, a wrong one 403.
 */
export function operatorOnly(keys: readonly string[]): MiddlewareHandler {
  return async (c, next) => {
    if (keys.length === 0)
      return apiError(
        c,
        403,
        "operator_disabled",
        "this needs an operator key, and none is configured (AUDITOR_OPERATOR_KEYS)",
      );
    const key = bearer(c);
    if (!key) {
      c.header("www-authenticate", 'Bearer realm="auditor operator"');
      return apiError(c, 401, "unauthorized", "authorization: send Bearer <operator key>");
    }
    if (!keyAccepted(key, keys))
      return apiError(c, 403, "forbidden", "authorization: this operator key is not accepted");
    await next();
  };
}
