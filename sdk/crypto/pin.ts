// The pin rule, one definition for the SDK, the extracted-runtime channel and `auditor verify`:
// a pin is an identity key (base64url SEC1) or its kid, and a key is trusted only when a pin
// names it. Browser-safe.
import { fromBase64Url } from "./encoding.ts";
import { keyId } from "./keys.ts";

/** The two spellings of one identity key a pin may use. */
export interface PinnableKey {
  identityKey: string;
  kid: string;
}

/** A pinned key is an identity key (base64url SEC1) or its kid. */
export function isPinned(key: PinnableKey, pinnedKeys: readonly string[]): boolean {
  return pinnedKeys.some((pin) => pin === key.kid || pin === key.identityKey);
}

/** The identity key a pin names, when the pin is the key itself (not just its kid). */
export function pinnedIdentityKey(
  pinnedKeys: readonly string[],
): { key: Uint8Array; kid: string } | undefined {
  for (const pin of pinnedKeys) {
    if (pin.length < 80) continue;
    try {
      const key = fromBase64Url(pin);
      if (key.length === 65) return { key, kid: keyId(key) };
    } catch {
      // not a key: a kid, or garbage the statement will not match
    }
  }
  return undefined;
}
