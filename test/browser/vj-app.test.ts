// The VJ page end to end in headless Chromium (Debian's chromium via playwright-core), loaded
// from the compiled binary: type, generate, see the prompt, the stage change and the trust
// panel; Fix with AI compiled by the real WebGL; every panel reachable at desktop, tablet and
// phone sizes; a refused microphone; no console errors (a CSP violation would be one); and
// screenshots in dist/screenshots/ for people to look at.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { buildBinary } from "../../scripts/build.ts";
import { startAuditor, type AuditorProcess } from "../helpers/auditor-process.ts";
import { chromiumAvailable, launchChromium, requireChromium } from "../helpers/chromium.ts";

const root = join(import.meta.dir, "../..");
const SCREENSHOTS = join(root, "dist/screenshots");
export const SCREENSHOT = join(SCREENSHOTS, "vj-app.png");
const available = chromiumAvailable;
requireChromium("the VJ page browser test");

const TRANSCRIPT = "a neon jellyfish drifting over a flooded cathedral at sunset";

/** Where an element is and whether a person can see it: on screen, rendered, not covered. */
async function onScreen(page: Page, selector: string) {
  return page.evaluate((sel) => {
    const el = document.querySelector<HTMLElement>(sel);
    if (!el) return { selector: sel, found: false };
    // The page, or the drawer it sits in, scrolls it into view as a person would.
    el.scrollIntoView({ block: "center", inline: "nearest" });
    const box = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    // The middle of its first line box: an inline element that wraps has gaps in its bounding box.
    const first = el.getClientRects()[0] ?? box;
    const hit = document.elementFromPoint(
      first.left + first.width / 2,
      first.top + first.height / 2,
    );
    return {
      selector: sel,
      found: true,
      rendered:
        style.display !== "none" &&
        style.visibility !== "hidden" &&
        box.width > 0 &&
        box.height > 0,
      inViewport:
        box.left >= 0 && box.top >= 0 && box.right <= innerWidth && box.bottom <= innerHeight,
      uncovered: hit !== null && (hit === el || el.contains(hit)),
    };
  }, selector);
}

async function expectOnScreen(page: Page, selectors: string[]) {
  for (const selector of selectors) {
    expect(await onScreen(page, selector)).toEqual({
      selector,
      found: true,
      rendered: true,
      inViewport: true,
      uncovered: true,
    });
  }
}

/** Opens a <details> section of the tools panel by its summary, if it is closed. */
async function openSection(page: Page, name: string) {
  const summary = page.locator(`summary:has-text('${name}')`);
  if (!(await summary.evaluate((s) => (s.parentElement as HTMLDetailsElement).open)))
    await summary.click();
}

describe.skipIf(!available)("the VJ page in Chromium, served by the binary", () => {
  let server: AuditorProcess;
  let browser: Browser;
  let binarySha256: string;

  beforeAll(async () => {
    const built = await buildBinary(root);
    binarySha256 = built.sha256;
    server = await startAuditor({ command: [built.path], env: { AUDITOR_TEE: "dev" } });
    browser = await launchChromium();
    mkdirSync(SCREENSHOTS, { recursive: true });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  /** A page at a viewport size that records console errors, with one prompt generated. */
  async function openGenerated(width: number, height: number, init?: () => void) {
    const page = await browser.newPage({ viewport: { width, height } });
    const problems: string[] = [];
    page.on("console", (m) => void (m.type() === "error" && problems.push(m.text())));
    page.on("pageerror", (e) => problems.push(String(e)));
    if (init) await page.addInitScript(init);
    await page.goto(`${server.url}/`);
    await page.waitForFunction(() => document.getElementById("trust-kid")?.textContent !== "…");
    await page.fill("#transcript", TRANSCRIPT);
    await page.click("#generate");
    await page.waitForSelector("#history li", { state: "attached", timeout: 10_000 });
    return { page, problems };
  }

  test("type a sentence, generate: prompt, stage and trust panel; Fix with AI compiled by WebGL", async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const problems: string[] = [];
    page.on("console", (m) => void (m.type() === "error" && problems.push(m.text())));
    page.on("pageerror", (e) => problems.push(String(e)));
    await page.goto(`${server.url}/`);
    await page.waitForFunction(() => document.getElementById("trust-kid")?.textContent !== "…");
    const stageBefore = await page.evaluate(() =>
      (document.getElementById("stage") as HTMLCanvasElement).toDataURL(),
    );

    await page.fill("#transcript", TRANSCRIPT);
    await page.fill("#style-tags", "artist:moebius");
    await page.click("#generate");
    await page.waitForSelector("#history li", { timeout: 10_000 });
    await page.waitForTimeout(1_700); // the stage cross-fades over 1.5 s

    expect(await page.textContent("#prompt")).toContain(TRANSCRIPT);
    expect(await page.textContent("#prompt-meta")).toContain("local");
    expect(
      await page.evaluate(() =>
        (document.getElementById("stage") as HTMLCanvasElement).toDataURL(),
      ),
    ).not.toBe(stageBefore);
    expect(await page.textContent("#trust-binary")).toBe(binarySha256);
    expect(await page.textContent("#trust-mode")).toContain("Dev mode");
    expect(await page.textContent("#trust-connection")).toContain("End-to-end sealed");
    expect(await page.textContent("#trust-egress")).toContain("openrouter.ai");
    expect(await page.isHidden("#error")).toBe(true);

    // A syntax error the local fixer (no keys) cannot repair: said plainly, source kept,
    // no preview, and the compiler log's trailing NUL is not shown.
    await openSection(page, "Shader");
    const broken =
      "precision mediump float;\nvoid main() {\n  gl_FragColor = vec4(0.6, 0.2, 1.0, 1.0)\n}";
    await page.fill("#shader-source", broken);
    await page.click("#shader-fix");
    await page.waitForFunction(() =>
      document.getElementById("shader-status")!.textContent!.startsWith("Not fixed"),
    );
    const status = (await page.textContent("#shader-status"))!;
    expect(status).toMatch(
      /^Not fixed: the local fixer \(no LLM key is configured\) found nothing to change\. ERROR: 0:\d+: .*syntax error/,
    );
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the test looks for them
    expect(status).not.toMatch(/[\u0000-\u0008\u000b-\u001f]/);
    expect(await page.inputValue("#shader-source")).toBe(broken);
    expect(await page.isHidden("#shader-preview")).toBe(true);

    // GLSL ES 3.00 removed gl_FragColor: WebGL2 refuses this one, and the local fix compiles.
    await page.fill(
      "#shader-source",
      "#version 300 es\nvoid main() {\n  gl_FragColor = vec4(0.6, 0.2, 1.0, 1.0);\n}",
    );
    await page.click("#shader-compile");
    expect(await page.getAttribute("#shader-status", "data-ok")).toBe("false");
    await page.click("#shader-fix");
    await page.waitForFunction(() =>
      document.getElementById("shader-status")!.textContent!.startsWith("Fixed by"),
    );
    expect(await page.getAttribute("#shader-status", "data-ok")).toBe("true");
    expect(await page.inputValue("#shader-source")).toContain("out vec4 fragColor;");
    await expectOnScreen(page, ["#shader-preview"]);

    await openSection(page, "Music cue");
    await page.fill("#mood", "euphoric");
    await page.click("#dj-button");
    await page.waitForFunction(() =>
      document.getElementById("dj-output")!.textContent!.includes("bpm"),
    );
    await openSection(page, "YouTube");
    await page.click("#yt-button");
    await page.waitForFunction(() => document.getElementById("yt-title")!.textContent !== "");
    expect(await page.textContent("#yt-title")).toContain("neon jellyfish");

    await page.screenshot({ path: SCREENSHOT });
    expect(problems).toEqual([]);
    await page.close();
  }, 60_000);

  // What a person needs from each panel, checked on screen at each size.
  const PANELS = {
    trust: ["#trust-mode", "#trust-binary", "#trust-egress li", "#trust-report"],
    history: ["#history li"],
    tools: ["#dj-button", "#shader-source", "#shader-fix", "#yt-button"],
    controls: [
      "#transcript",
      "#mic",
      "#style-tags",
      "input[name='vj'][value='remix']",
      "#generate",
      "#live",
    ],
  } as const;

  for (const [width, height] of [
    [1280, 800],
    [768, 1024],
    [390, 844],
  ] as const) {
    test(`at ${width}×${height} every panel is reachable and its content on screen`, async () => {
      const { page, problems } = await openGenerated(width, height);
      const narrow = width <= 900;
      for (const [panel, selectors] of Object.entries(PANELS)) {
        const toggle = `#toggle-${panel}`;
        if (narrow && panel !== "controls") {
          await page.click(toggle);
          expect(await page.getAttribute(toggle, "aria-expanded")).toBe("true");
          // Focus moved into the drawer.
          expect(
            await page.evaluate(
              (id) => document.getElementById(id)!.contains(document.activeElement),
              panel === "trust" ? "trust" : `${panel}-panel`,
            ),
          ).toBe(true);
        }
        if (panel === "tools")
          for (const section of ["Music cue", "Shader", "YouTube"])
            await openSection(page, section);
        await expectOnScreen(page, [...selectors]);
        await page.screenshot({ path: join(SCREENSHOTS, `vj-${width}x${height}-${panel}.png`) });
        if (narrow && panel !== "controls") {
          await page.keyboard.press("Escape");
          expect(await page.getAttribute(toggle, "aria-expanded")).toBe("false");
          expect(await page.evaluate(() => document.activeElement?.id)).toBe(toggle.slice(1));
          expect(await page.isHidden(panel === "trust" ? "#trust" : `#${panel}-panel`)).toBe(true);
        }
      }
      // The desktop layout keeps every panel in view at once; narrow ones show no panel toggles it does not need.
      expect(await page.isVisible("#toggle-history")).toBe(narrow);
      expect(problems).toEqual([]);
      await page.close();
    }, 60_000);
  }

  test("a refused microphone: listening stops once, Listen is up, Retry listens again", async () => {
    // Chromium's real recognition streams audio to Google's servers, which this machine cannot
    // reach, so a stand-in with the same API replaces it and fails exactly as Chrome does when
    // the microphone is refused: an "error" event (not-allowed), then "end".
    const { page, problems } = await openGenerated(390, 844, () => {
      const speech = { starts: 0 };
      class RefusedRecognition {
        continuous = false;
        interimResults = false;
        lang = "";
        onresult = null;
        onerror: ((event: { error: string }) => void) | null = null;
        onend: (() => void) | null = null;
        start() {
          speech.starts++;
          setTimeout(() => {
            this.onerror?.({ error: "not-allowed" });
            this.onend?.();
          }, 0);
        }
        stop() {}
      }
      Object.assign(window, {
        SpeechRecognition: RefusedRecognition,
        webkitSpeechRecognition: RefusedRecognition,
        speech,
      });
    });
    await page.evaluate(() => {
      const counter = { writes: 0 };
      new MutationObserver((records) => void (counter.writes += records.length)).observe(
        document.getElementById("error-text")!,
        { childList: true, characterData: true, subtree: true },
      );
      Object.assign(window, { counter });
    });
    const counts = () =>
      page.evaluate(() => ({
        writes: (window as any).counter.writes as number,
        starts: (window as any).speech.starts as number,
      }));
    await page.click("#mic");
    await page.waitForSelector("#error", { state: "visible" });
    await page.waitForTimeout(500); // a restart loop would rewrite the message thousands of times meanwhile
    expect(await counts()).toEqual({ writes: 1, starts: 1 });
    expect(await page.getAttribute("#mic", "aria-pressed")).toBe("false");
    expect(await page.textContent("#error-text")).toContain(
      "The microphone is blocked for this page",
    );
    await expectOnScreen(page, ["#error-text", "#error-retry"]);
    await page.screenshot({ path: join(SCREENSHOTS, "vj-390x844-mic-denied.png") });

    await page.click("#error-retry");
    await page.waitForFunction(() => (window as any).speech.starts === 2);
    await page.waitForTimeout(500);
    // Retry retried listening (refused again, reported once more), not Generate.
    expect(await counts()).toEqual({ writes: 3, starts: 2 });
    expect(await page.locator("#history li").count()).toBe(1);
    expect(problems).toEqual([]);
    await page.close();
  }, 60_000);
});
