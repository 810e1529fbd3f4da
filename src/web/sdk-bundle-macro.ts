// A Bun macro: builds the browser SDK (sdk/client) at bundle time and inlines it, so the binary
// serves exactly the SDK it was built with (and a server run from source, the current one).
import { join } from "node:path";
import { buildForBrowser, shortHash } from "./browser-build.ts";

export interface SdkBundle {
  /** Minified ESM, ending with its sourceMappingURL comment. */
  js: string;
  map: string;
  /** First 16 hex of SHA-256 over the code, for the immutable file name. */
  hash: string;
}

export function sdkBundle(): SdkBundle {
  const { code, map } = buildForBrowser(
    join(import.meta.dir, "../../sdk/client/index.ts"),
    "the SDK bundle",
    true,
  );
  const body = code.replace(/\n?\/\/# sourceMappingURL=.*\s*$/, "");
  const hash = shortHash(body);
  return { js: `${body}\n//# sourceMappingURL=auditor-sdk.${hash}.js.map\n`, map: map!, hash };
}
