// Which browser origins may call the API. Any origin ("*") is a development convenience only:
// in a real TEE the operator names the app's origins, so a stray page cannot drive its functions.
import type { TeeProvider } from "../tee/index.ts";

export class CorsConfigError extends Error {
  override name = "CorsConfigError";
}

export function resolveCorsOrigins(
  configured: string[] | undefined,
  provider: TeeProvider,
): string[] {
  if (configured === undefined) return provider === "dev" ? ["*"] : [];
  if (configured.includes("*") && provider !== "dev") {
    throw new CorsConfigError(
      'AUDITOR_CORS_ORIGINS="*" is allowed only with the dev TEE; list the app\'s origins instead',
    );
  }
  for (const origin of configured) {
    // No userinfo, query or fragment: an origin is scheme://host[:port] and nothing else.
    if (origin !== "*" && !/^https?:\/\/[^/\s@?#]+$/.test(origin)) {
      const shown = origin.includes("@")
        ? "a value with credentials (user:password@)"
        : `"${origin}"`;
      throw new CorsConfigError(
        `AUDITOR_CORS_ORIGINS: ${shown} is not an origin (scheme://host[:port], no path)`,
      );
    }
  }
  return configured;
}
