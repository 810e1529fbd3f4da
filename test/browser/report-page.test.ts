// The report page in headless Chromium: GET /report/:app as a browser asks for it is a readable
// page rendered from the report object, under the strict CSP, whose script checks the claims
// with the served SDK. In dev mode every check holds but says "not attested"; on the fake dstack
// guest agent the quote-bound ones say "checked"; a tampered egress log is caught. Screenshots
// go to dist/screenshots/ for people to look at.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Browser, ConsoleMessage } from "playwright-core";
import { startAuditor, tempDir, type AuditorProcess } from "../helpers/auditor-process.ts";
import { chromiumAvailable, launchChromium, requireChromium } from "../helpers/chromium.ts";
import { startFakeDstack, type FakeDstack } from "../fixtures/fake-dstack.ts";

const SCREENSHOTS = join(import.meta.dir, "../../dist/screenshots");
const available = chromiumAvailable;
const CHECKS = ["statement", "binding", "source", "egress-log", "receipt"];

requireChromium("the report page browser test");

/** Opens the report page, waits for its checks and returns each row's state and detail. */
async function openReport(browser: Browser, url: string, viewport = { width: 1280, height: 900 }) {
  const page = await browser.newPage({ viewport });
  const problems: string[] = [];
  // The one refusal the page asks for (the receipt check) is the only failed load allowed.
  const deliberate = (m: ConsoleMessage) =>
    m.location().url.endsWith("/invoke/generate-prompt") && m.text().includes("400");
  page.on(
    "console",
    (m) =>
      void (
        m.type() === "error" &&
        !deliberate(m) &&
        problems.push(`${m.text()} ${m.location().url}`)
      ),
  );
  page.on("pageerror", (e) => problems.push(String(e)));
  const response = await page.goto(`${url}/report/etherea`);
  await page.waitForFunction(() => document.body.dataset.checked === "true", undefined, {
    timeout: 20_000,
  });
  const rows = await page.$$eval("[data-check]", (items) =>
    Object.fromEntries(
      items.map((li) => [
        (li as HTMLElement).dataset.check,
        {
          state: (li as HTMLElement).dataset.state,
          detail: li.querySelector(".detail")!.textContent,
        },
      ]),
    ),
  );
  return {
    page,
    problems,
    response: response!,
    rows: rows as Record<string, { state: string; detail: string }>,
  };
}

describe.skipIf(!available)("the report page in Chromium", () => {
  let browser: Browser;
  let dev: AuditorProcess;
  beforeAll(async () => {
    browser = await launchChromium();
    dev = await startAuditor({ env: { AUDITOR_TEE: "dev" } });
    mkdirSync(SCREENSHOTS, { recursive: true });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await dev?.stop();
  });

  test("dev mode: a readable page under the CSP; every check holds and says not attested", async () => {
    const { page, problems, response, rows } = await openReport(browser, dev.url);
    expect(response.headers()["content-type"]).toBe("text/html; charset=utf-8");
    expect(response.headers()["content-security-policy"]).toContain("script-src 'self'");
    expect(await page.textContent("h1")).toBe("Data-flow report: etherea");
    expect(await page.textContent(".banner")).toContain("Not attested");
    // The data-flow table names the destinations and whether each is in use now.
    const flow = (await page.textContent("#data-flow"))!;
    expect(flow).toContain("https://openrouter.ai");
    expect(flow).toContain("not in use now");
    expect(Object.keys(rows)).toEqual(CHECKS);
    for (const id of ["statement", "binding", "source", "receipt"])
      expect(rows[id]!.state).toBe("not attested");
    expect(rows["egress-log"]!.state).toBe("checked");
    expect(rows.receipt!.detail).toContain("lists no egress");
    expect(rows.source!.detail).toMatch(/^\d+ files hash to treeSha256/);

    await page.click("#hash-every-file");
    await page.waitForFunction(
      () =>
        document.querySelector<HTMLElement>('[data-check="source"]')!.dataset.state !== "checking",
    );
    expect(await page.textContent('[data-check="source"] .detail')).toMatch(
      /^all \d+ served files hash as listed/,
    );
    await page.screenshot({ path: join(SCREENSHOTS, "report-page.png"), fullPage: false });
    expect(problems).toEqual([]);
    await page.close();
  }, 60_000);

  test("phone size: no part of the page is wider than the screen", async () => {
    const { page, problems } = await openReport(browser, dev.url, { width: 390, height: 844 });
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(
      390,
    );
    await page.screenshot({ path: join(SCREENSHOTS, "report-page-phone.png") });
    expect(problems).toEqual([]);
    await page.close();
  }, 60_000);

  test("a broken egress log chain is reported as failed, naming the seq", async () => {
    const page = await browser.newPage();
    // Another entry's digest in place of the first entry's: the chain must break at seq 1.
    await page.route("**/egress-log*", async (route) => {
      const response = await route.fetch();
      const body = await response.json();
      body.head = { seq: 1, digest: "ab".repeat(32) };
      body.entries = [
        {
          seq: 1,
          prev: "0".repeat(64),
          digest: "ab".repeat(32),
          time: "t",
          app: "etherea",
          fn: "f",
          method: "POST",
          scheme: "https",
          host: "x",
          path: "/",
          queryKeys: [],
          status: 200,
          requestBytes: 0,
          responseBytes: 0,
          requestSha256: null,
          responseSha256: null,
          durationMs: 0,
          allowed: true,
        },
      ];
      await route.fulfill({ response, json: body });
    });
    await page.goto(`${dev.url}/report/etherea`);
    await page.waitForFunction(() => document.body.dataset.checked === "true");
    expect(await page.getAttribute('[data-check="egress-log"]', "data-state")).toBe("failed");
    expect(await page.textContent('[data-check="egress-log"] .detail')).toContain(
      "breaks at seq 1",
    );
    await page.close();
  }, 60_000);

  test("JSON stays the default for clients that do not ask for HTML; markdown by Accept", async () => {
    const plain = await fetch(`${dev.url}/report/etherea`);
    expect(plain.headers.get("content-type")).toStartWith("application/json");
    expect(plain.headers.get("vary")).toContain("accept");
    const markdown = await fetch(`${dev.url}/report/etherea`, {
      headers: { accept: "text/markdown" },
    });
    expect(markdown.headers.get("content-type")).toStartWith("text/markdown");
    const html = await fetch(`${dev.url}/report/etherea?format=html`, {
      headers: { accept: "application/json" },
    });
    expect(html.headers.get("content-type")).toStartWith("text/html");
  });
});

describe.skipIf(!available)("the report page on the fake dstack guest agent", () => {
  let browser: Browser;
  let fake: FakeDstack;
  let server: AuditorProcess;
  beforeAll(async () => {
    browser = await launchChromium();
    const socketPath = join(tempDir(), "dstack.sock");
    fake = await startFakeDstack({ socketPath });
    server = await startAuditor({
      env: { AUDITOR_TEE: "dstack", DSTACK_SIMULATOR_ENDPOINT: socketPath },
    });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await fake?.close();
  });

  test("the quote-bound checks say checked, and the banner says attested", async () => {
    const { page, problems, rows } = await openReport(browser, server.url);
    expect(await page.textContent(".banner")).toContain("Attested");
    for (const id of CHECKS) expect(rows[id]!.state).toBe("checked");
    expect(rows.statement!.detail).toContain(
      "Intel signature chain and the measurements are for auditor verify",
    );
    expect(problems).toEqual([]);
    await page.close();
  }, 60_000);
});
