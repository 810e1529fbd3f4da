// The operator's dashboard in headless Chromium, served from source: without a key only the
// public parts (attestation, the live egress log with its chain checked in the page); with the
// operator key, an invoke's egress entry and latency within a second of the call, a blocked
// attempt highlighted; a wrong key locks the page again. Screenshots in dist/screenshots/.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { startFakeLlm, type FakeLlm } from "../fixtures/fake-llm.ts";
import { startAuditor, type AuditorProcess } from "../helpers/auditor-process.ts";
import { chromiumAvailable, launchChromium, requireChromium } from "../helpers/chromium.ts";
import { sid } from "../helpers/session-id.ts";

const SCREENSHOTS = join(import.meta.dir, "../../dist/screenshots");
const available = chromiumAvailable;
const OPERATOR_KEY = "dashboard-operator-key-0123456789";

requireChromium("the dashboard browser test");

describe.skipIf(!available)("the dashboard in Chromium", () => {
  let browser: Browser;
  let server: AuditorProcess;
  let llm: FakeLlm;

  beforeAll(async () => {
    llm = startFakeLlm();
    server = await startAuditor({
      env: {
        AUDITOR_TEE: "dev",
        AUDITOR_OPERATOR_KEYS: OPERATOR_KEY,
        OPENROUTER_API_KEY: "sk-or-dashboard-test",
        OPENROUTER_BASE_URL: llm.openrouterBaseUrl,
      },
    });
    browser = await launchChromium();
    mkdirSync(SCREENSHOTS, { recursive: true });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    llm?.close();
  });

  async function open() {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const problems: string[] = [];
    page.on(
      "console",
      (m) => void (m.type() === "error" && problems.push(`${m.text()} ${m.location().url}`)),
    );
    page.on("pageerror", (e) => problems.push(String(e)));
    await page.goto(`${server.url}/dashboard`);
    await page.waitForFunction(
      () => document.getElementById("chain")!.dataset.state === "verified",
    );
    return { page, problems };
  }

  const invoke = async (transcript: string) => {
    const res = await fetch(`${server.url}/invoke/generate-prompt`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ session_id: sid("dashboard"), transcript }),
    });
    await res.text();
    return res.status;
  };
  const unlock = async (page: Page, key: string) => {
    await page.fill("#operator-key", key);
    await page.click("#key-form button[type=submit]");
  };

  test("without a key: only the public parts, the chain verified in the page", async () => {
    const { page, problems } = await open();
    expect(await page.isHidden("#operator")).toBe(true);
    expect(await page.textContent("#attestation")).toContain("not attested");
    expect(await page.textContent("#chain")).toContain("hash chain verified in this browser");
    // The public part is live without a key too.
    expect(await invoke("public part")).toBe(200);
    await page.waitForSelector("#egress tbody tr.allowed", { timeout: 1_000 });
    expect(problems).toEqual([]);
    await page.close();
  }, 30_000);

  test("with the operator key: an invoke's egress entry and latency within a second; a blocked attempt stands out", async () => {
    const { page, problems } = await open();
    await unlock(page, OPERATOR_KEY);
    await page.waitForSelector("#operator:not([hidden])");
    const seen = await page.$$eval("#egress tbody tr", (rows) => rows.length);

    expect(await invoke("a ship of lanterns")).toBe(200);
    // Both the streamed egress entry and the next snapshot arrive within a second of the answer.
    await page.waitForFunction(
      (n) => document.querySelectorAll("#egress tbody tr").length > n,
      seen,
      { timeout: 1_000 },
    );
    await page.waitForFunction(
      () => /generate-prompt/.test(document.querySelector("#functions tbody")?.textContent ?? ""),
      undefined,
      { timeout: 1_000 },
    );
    const entry = (await page.textContent("#egress tbody tr:first-child"))!;
    expect(entry).toContain("generate-prompt");
    expect(entry).toContain(`POST http://${new URL(llm.url).host}/api/v1/chat/completions`);
    const fnRow = (await page.textContent("#functions tbody tr:first-child"))!;
    expect(fnRow).toMatch(/\d+(\.\d+)? ms/);
    expect(fnRow).toContain("cerebras");

    // The upstream redirects to a host outside the policy: refused at that hop, highlighted.
    llm.script("openrouter", { kind: "redirect", location: "http://127.0.0.1:9/exfiltrate" });
    await invoke("redirected");
    await page.waitForSelector("#egress tbody tr.blocked", { timeout: 1_000 });
    expect(await page.textContent("#egress tbody tr.blocked")).toContain("127.0.0.1:9/exfiltrate");
    expect(await page.textContent("#chain")).toContain("hash chain verified in this browser");
    await page.waitForSelector("#egress-hosts tr.blocked");
    expect(await page.textContent("#errors")).toBeDefined();

    await page.screenshot({ path: join(SCREENSHOTS, "dashboard.png"), fullPage: true });
    // The key is kept in this tab only; the page never shows it.
    expect(await page.evaluate(() => localStorage.length)).toBe(0);
    expect(await page.content()).not.toContain(OPERATOR_KEY);
    expect(problems).toEqual([]);
    await page.close();
  }, 30_000);

  test("a wrong key is refused and the operational parts stay hidden", async () => {
    const { page } = await open();
    await unlock(page, "not-the-operator-key-0123456789");
    await page.waitForFunction(() =>
      /not accepted/.test(document.getElementById("key-status")!.textContent ?? ""),
    );
    expect(await page.isHidden("#operator")).toBe(true);
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    await page.screenshot({ path: join(SCREENSHOTS, "dashboard-public.png") });
    await page.close();
  }, 30_000);
});
