// Debian's Chromium for the browser tests, driven by playwright-core. In CI (CI=true) a missing
// browser is a failing test; elsewhere the browser suites skip with a message.
import { test, expect } from "bun:test";
import { existsSync } from "node:fs";
import type { Browser } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";
export const chromiumAvailable = existsSync(CHROMIUM);

/** Call once per browser test file, at its top level. */
export function requireChromium(what: string): void {
  if (chromiumAvailable) return;
  const message = `${CHROMIUM} not found: install Debian's chromium (apt-get install chromium) to run ${what}; .ci/run does`;
  if (process.env.CI) test("Chromium is installed", () => expect(message).toBe("chromium present"));
  else console.warn(`skipping ${what}: ${message}`);
}

/**
 * Headless, without the background services that reach for Google's hosts (this machine's
 * closed network refuses them, many at a time).
 */
export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import("playwright-core");
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--no-sandbox",
      "--headless",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
}
