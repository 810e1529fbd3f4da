// The VJ page at DOM level in happy-dom: the markup the server serves, the SDK bundle it serves,
// and the app module, against the real server on loopback.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Window, type HTMLElement as HappyHTMLElement } from "happy-dom";
import { mountApp, type AppView } from "../../src/web/app/app.ts";
import { sceneFor } from "../../src/web/app/stage.ts";
import type * as Sdk from "../../sdk/client/index.ts";
import { startAuditor, tempDir, type AuditorProcess } from "../helpers/auditor-process.ts";

let server: AuditorProcess;
let sdk: typeof Sdk;
let html: string;

beforeAll(async () => {
  server = await startAuditor({ env: { AUDITOR_TEE: "dev" } });
  html = await (await fetch(`${server.url}/`)).text();
  // The app must work with the SDK exactly as served.
  const file = join(tempDir(), "auditor-sdk.js");
  writeFileSync(file, await (await fetch(`${server.url}/sdk/auditor-sdk.js`)).text());
  sdk = await import(file);
});
afterAll(async () => {
  await server?.stop();
});

/** A page with the served markup, a fake clock for the live interval, and the app mounted. */
async function openPage(
  baseUrl = server.url,
  options: { sealed?: boolean; view?: Partial<AppView> & object; gl?: object } = {},
) {
  const window = new Window({ url: `${baseUrl}/` });
  window.document.write(html.replace(/<script[^>]*><\/script>/, "")); // the module entry is what we mount by hand
  if (options.gl) {
    const gl = options.gl;
    (
      window.document.getElementById("shader-preview") as unknown as { getContext: () => object }
    ).getContext = () => gl;
  }
  const ticks: (() => void)[] = [];
  const view: AppView = {
    setInterval: (handler) => ticks.push(handler),
    clearInterval: () => void ticks.splice(0),
    ...options.view,
  };
  const browserFetch = window.fetch.bind(window) as unknown as (
    input: string,
    init?: RequestInit,
  ) => Promise<Response>;
  let client = sdk.createClient({ baseUrl, fetch: browserFetch });
  if (options.sealed)
    client = sdk.createClient({
      baseUrl,
      fetch: browserFetch,
      pinnedKeys: [(await client.attestation()).statement.kid],
    });
  const app = mountApp(window.document as unknown as Document, view, client, options);
  const $ = (id: string) => window.document.getElementById(id) as HappyHTMLElement;
  const type = (id: string, value: string) =>
    (($(id) as unknown as HTMLInputElement).value = value);
  return {
    window,
    app,
    $,
    type,
    ticks,
    close: async () => {
      await app.trustChecked;
      await window.happyDOM.close();
    },
  };
}

const until = async (check: () => boolean, what: string) => {
  for (let i = 0; i < 200 && !check(); i++) await Bun.sleep(10);
  if (!check()) throw new Error(`timed out waiting for ${what}`);
};

describe("the VJ page", () => {
  test("type, generate: the prompt, its history entry and the trust panel appear", async () => {
    const page = await openPage(server.url, { sealed: true });
    try {
      page.type("transcript", "a cathedral of glass at dawn");
      page.type("style-tags", "artist:turrell");
      page.$("controls").dispatchEvent(new page.window.Event("submit", { cancelable: true }));
      await until(() => page.$("history").children.length === 1, "a history entry");
      expect(page.$("prompt").textContent).toContain("a cathedral of glass at dawn");
      // The answer's receipt was verified against the pinned key, and nothing left the TEE.
      expect(page.$("prompt-meta").textContent).toBe(
        "local · " +
          page.$("prompt-meta").textContent!.split(" · ")[1] +
          " · sealed · answered inside the TEE, no egress — receipt verified",
      );
      expect(page.$("history").textContent).toContain("local");
      expect((page.$("error") as unknown as HTMLElement).hidden).toBe(true);
      await until(
        () => page.$("trust-egress").textContent!.includes("openrouter.ai"),
        "the egress list",
      );
      expect(page.$("trust-mode").textContent).toContain("Dev mode");
      expect(page.$("trust-binary").textContent).toContain("running from source");
      expect(page.$("trust-connection").textContent).toContain("End-to-end sealed");
      expect(page.$("trust-egress").textContent).toContain("api.anthropic.com: 0 calls");
    } finally {
      await page.close();
    }
  });

  test("an empty transcript is explained, not sent", async () => {
    const page = await openPage();
    try {
      await page.app.generate();
      expect((page.$("error") as unknown as HTMLElement).hidden).toBe(false);
      expect(page.$("error-text").textContent).toContain("transcript is empty");
      expect(page.$("history").children.length).toBe(0);
    } finally {
      await page.close();
    }
  });

  test("a failing server shows a clear error state, and Retry recovers", async () => {
    let fail = true;
    const flaky = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: async (req) => {
        const url = new URL(req.url);
        if (fail && url.pathname.startsWith("/invoke/"))
          return Response.json(
            { error: "All LLM providers failed" },
            { status: 500, headers: { "access-control-allow-origin": "*" } },
          );
        const upstream = await fetch(`${server.url}${url.pathname}${url.search}`, {
          method: req.method,
          headers: req.headers,
          body: req.method === "GET" ? undefined : await req.text(),
        });
        return new Response(upstream.body, { status: upstream.status, headers: upstream.headers });
      },
    });
    const page = await openPage(`http://127.0.0.1:${flaky.port}`);
    try {
      page.type("transcript", "storm over the harbour");
      await page.app.generate();
      expect((page.$("error") as unknown as HTMLElement).hidden).toBe(false);
      expect(page.$("error-text").textContent).toContain("Prompt generation failed: 500");
      fail = false;
      page.$("error-retry").dispatchEvent(new page.window.Event("click"));
      await until(() => page.$("history").children.length === 1, "the retried prompt");
      expect((page.$("error") as unknown as HTMLElement).hidden).toBe(true);
    } finally {
      await page.close();
      flaky.stop(true);
    }
  });

  test("live mode generates on the interval only when the transcript moved on", async () => {
    const page = await openPage();
    try {
      page.type("transcript", "first words");
      const live = page.$("live") as unknown as HTMLInputElement;
      live.checked = true;
      page.$("live").dispatchEvent(new page.window.Event("change"));
      expect(page.$("live-status").textContent).toBe("Live");
      expect(page.ticks).toHaveLength(1);
      page.ticks[0]!();
      await until(() => page.$("history").children.length === 1, "the first live prompt");
      page.ticks[0]!(); // nothing new said: no call
      await Bun.sleep(50);
      expect(page.$("history").children.length).toBe(1);
      page.type("transcript", "first words and then some");
      page.ticks[0]!();
      await until(() => page.$("history").children.length === 2, "the second live prompt");
      live.checked = false;
      page.$("live").dispatchEvent(new page.window.Event("change"));
      expect(page.ticks).toHaveLength(0);
      expect(page.$("live-status").textContent).toBe("Idle");
    } finally {
      await page.close();
    }
  });
});

describe("the tools panel", () => {
  test("music cue, YouTube metadata, and a shader fixed through fix-shader", async () => {
    const page = await openPage();
    try {
      page.type("transcript", "rain over a neon harbour");
      await page.app.generate();
      page.type("mood", "calm");
      page.$("dj-button").dispatchEvent(new page.window.Event("click"));
      await until(() => page.$("dj-output").textContent!.includes("bpm"), "a music cue");
      expect(page.$("dj-output").textContent).toContain("84 bpm");
      page.$("yt-button").dispatchEvent(new page.window.Event("click"));
      await until(() => page.$("yt-title").textContent !== "", "YouTube metadata");
      expect(page.$("yt-title").textContent).toContain("rain over a neon harbour");
      // happy-dom has no WebGL: the answer comes back from the server, but is not called a fix.
      page.$("shader-fix").dispatchEvent(new page.window.Event("click"));
      await until(
        () => page.$("shader-status").textContent!.includes("Changed by"),
        "the changed shader",
      );
      expect(
        (page.$("shader-source") as unknown as HTMLTextAreaElement).value.startsWith(
          "precision mediump float;",
        ),
      ).toBe(true);
      expect(page.$("shader-status").textContent).toBe(
        "Changed by the local fixer (no LLM key is configured): added a default float precision. WebGL is not available in this browser: cannot check it.",
      );
      expect((page.$("shader-preview") as unknown as HTMLElement).hidden).toBe(true);
    } finally {
      await page.close();
    }
  });
});

/**
 * A stand-in for the browser's WebGL compiler (happy-dom has none; the Chromium test uses the
 * real one): a fragment shader compiles only with a float precision and without the typo
 * gl_FragColr, and logs end with a NUL and a BEL as drivers' logs can.
 */
function fakeWebGl() {
  const calls = { draws: 0, compiles: [] as string[] };
  const constants = {
    FRAGMENT_SHADER: 1,
    VERTEX_SHADER: 2,
    COMPILE_STATUS: 3,
    LINK_STATUS: 4,
    ACTIVE_UNIFORMS: 5,
    ARRAY_BUFFER: 6,
    STATIC_DRAW: 7,
    FLOAT: 8,
    TRIANGLES: 9,
  };
  const shaders = new Map<object, { type: number; source: string }>();
  const logOf = (source: string) =>
    /gl_FragColr/.test(source)
      ? "ERROR: 0:2: 'gl_FragColr' : undeclared identifier\n\u0000\u0007"
      : /precision\s+\w+\s+float/.test(source)
        ? ""
        : "ERROR: 0:1: '' : No precision specified for (float)\n\u0000";
  const gl: Record<string, unknown> = {
    ...constants,
    createShader: (type: number) => {
      const shader = {};
      shaders.set(shader, { type, source: "" });
      return shader;
    },
    shaderSource: (shader: object, source: string) => void (shaders.get(shader)!.source = source),
    compileShader: (shader: object) => void calls.compiles.push(shaders.get(shader)!.source),
    getShaderParameter: (shader: object) => {
      const { type, source } = shaders.get(shader)!;
      return type === constants.VERTEX_SHADER || logOf(source) === "";
    },
    getShaderInfoLog: (shader: object) => logOf(shaders.get(shader)!.source),
    createProgram: () => ({}),
    getProgramParameter: (_program: object, what: number) =>
      what === constants.LINK_STATUS ? true : 0,
    drawArrays: () => void calls.draws++,
  };
  const context = new Proxy(gl, {
    get: (target, key: string) => (key in target ? target[key] : () => undefined),
  });
  return { context, calls };
}

describe("Fix with AI (no LLM key: the local fixer)", () => {
  const setShader = (page: Awaited<ReturnType<typeof openPage>>, source: string) =>
    page.type("shader-source", source);
  const fix = async (page: Awaited<ReturnType<typeof openPage>>) => {
    const before = page.$("shader-status").textContent;
    page.$("shader-fix").dispatchEvent(new page.window.Event("click"));
    await until(
      () =>
        !(page.$("shader-fix") as unknown as HTMLButtonElement).disabled &&
        page.$("shader-status").textContent !== before,
      "the fix to finish",
    );
  };
  const preview = (page: Awaited<ReturnType<typeof openPage>>) =>
    page.$("shader-preview") as unknown as HTMLCanvasElement;
  const source = (page: Awaited<ReturnType<typeof openPage>>) =>
    (page.$("shader-source") as unknown as HTMLTextAreaElement).value;

  test("a fix that compiles replaces the source and shows the preview", async () => {
    const gl = fakeWebGl();
    const page = await openPage(server.url, { gl: gl.context });
    try {
      setShader(page, "void main() {\n  gl_FragColor = vec4(1.0);\n}");
      await fix(page);
      expect(page.$("shader-status").textContent).toBe(
        "Fixed by the local fixer (no LLM key is configured): added a default float precision. Compiles.",
      );
      expect(page.$("shader-status").dataset.ok).toBe("true");
      expect(source(page).startsWith("precision mediump float;\n")).toBe(true);
      expect(preview(page).hidden).toBe(false);
      expect(gl.calls.draws).toBe(1);
    } finally {
      await page.close();
    }
  });

  test("nothing the local fixer knows: says so plainly, keeps the source, shows the log without control characters", async () => {
    const page = await openPage(server.url, { gl: fakeWebGl().context });
    try {
      const broken = "precision mediump float;\nvoid main() {\n  gl_FragColr = vec4(1.0);\n}";
      setShader(page, broken);
      await fix(page);
      expect(page.$("shader-status").textContent).toBe(
        "Not fixed: the local fixer (no LLM key is configured) found nothing to change. ERROR: 0:2: 'gl_FragColr' : undeclared identifier",
      );
      // biome-ignore lint/suspicious/noControlCharactersInRegex: the test looks for them
      expect(page.$("shader-status").textContent).not.toMatch(/[\u0000-\u0008\u000b-\u001f]/);
      expect(page.$("shader-status").dataset.ok).toBe("false");
      expect(source(page)).toBe(broken);
      expect(preview(page).hidden).toBe(true);
    } finally {
      await page.close();
    }
  });

  test("an answer that still fails to compile is no fix: the source stays and the page says so", async () => {
    const page = await openPage(server.url, { gl: fakeWebGl().context });
    try {
      const broken = "void main() {\n  gl_FragColr = vec4(1.0);\n}";
      setShader(page, broken);
      await fix(page);
      expect(page.$("shader-status").textContent).toBe(
        "Not fixed: the answer from the local fixer (no LLM key is configured) does not compile either: ERROR: 0:2: 'gl_FragColr' : undeclared identifier",
      );
      expect(source(page)).toBe(broken);
      expect(preview(page).hidden).toBe(true);
    } finally {
      await page.close();
    }
  });

  test("a shader that compiles is not sent anywhere", async () => {
    const gl = fakeWebGl();
    const page = await openPage(server.url, { gl: gl.context });
    try {
      setShader(page, "precision mediump float;\nvoid main() { gl_FragColor = vec4(1.0); }");
      await fix(page);
      expect(page.$("shader-status").textContent).toBe("Compiles already: nothing to fix.");
      expect(preview(page).hidden).toBe(false);
    } finally {
      await page.close();
    }
  });
});

/**
 * A SpeechRecognition that behaves as Chrome's does when the microphone is refused: start()
 * is followed by an error event, then an end event. `grant` lets a later start succeed.
 */
function fakeRecognition(error: string) {
  const state = { starts: 0, stops: 0, grant: false };
  class FakeRecognition {
    continuous = false;
    interimResults = false;
    lang = "";
    onresult: ((event: unknown) => void) | null = null;
    onerror: ((event: { error: string }) => void) | null = null;
    onend: (() => void) | null = null;
    start() {
      state.starts++;
      setTimeout(() => {
        if (state.grant)
          this.onresult?.({
            resultIndex: 0,
            results: [{ isFinal: true, 0: { transcript: "the crowd is singing" } }],
          });
        else {
          this.onerror?.({ error });
          this.onend?.();
        }
      }, 0);
    }
    stop() {
      state.stops++;
    }
  }
  return { SpeechRecognition: FakeRecognition, state };
}

describe("the microphone", () => {
  for (const error of ["not-allowed", "service-not-allowed", "audio-capture", "network"]) {
    test(`${error}: listening stops, Listen is up, one message written once`, async () => {
      const speech = fakeRecognition(error);
      const page = await openPage(server.url, {
        view: { SpeechRecognition: speech.SpeechRecognition } as Partial<AppView>,
      });
      try {
        let writes = 0;
        new page.window.MutationObserver((records) => void (writes += records.length)).observe(
          page.$("error-text") as never,
          { childList: true, characterData: true, subtree: true },
        );
        const mic = page.$("mic");
        expect(mic.hidden).toBe(false);
        mic.dispatchEvent(new page.window.Event("click"));
        await until(
          () => !(page.$("error") as unknown as HTMLElement).hidden,
          "the microphone error",
        );
        await Bun.sleep(200); // a restart loop would rewrite the message many times meanwhile
        expect(writes).toBe(1);
        expect(speech.state.starts).toBe(1);
        expect(mic.getAttribute("aria-pressed")).toBe("false");
        expect(page.$("error-text").textContent).toContain("press Retry");
        expect((page.$("error-retry") as unknown as HTMLElement).hidden).toBe(false);
      } finally {
        await page.close();
      }
    });
  }

  test("Retry listens again (not Generate), and a granted microphone then fills the transcript", async () => {
    const speech = fakeRecognition("not-allowed");
    const page = await openPage(server.url, {
      view: { SpeechRecognition: speech.SpeechRecognition } as Partial<AppView>,
    });
    try {
      page.type("transcript", "already typed");
      page.$("mic").dispatchEvent(new page.window.Event("click"));
      await until(
        () => !(page.$("error") as unknown as HTMLElement).hidden,
        "the microphone error",
      );
      expect(page.$("error-text").textContent).toContain("The microphone is blocked for this page");
      speech.state.grant = true;
      page.$("error-retry").dispatchEvent(new page.window.Event("click"));
      await until(
        () => (page.$("transcript") as unknown as HTMLTextAreaElement).value.includes("singing"),
        "the spoken phrase",
      );
      expect(speech.state.starts).toBe(2);
      expect((page.$("error") as unknown as HTMLElement).hidden).toBe(true);
      expect(page.$("mic").getAttribute("aria-pressed")).toBe("true");
      expect(page.$("history").children.length).toBe(0); // Retry did not generate
    } finally {
      await page.close();
    }
  });

  test("an empty transcript offers no Retry: there is nothing to retry", async () => {
    const page = await openPage();
    try {
      await page.app.generate();
      expect((page.$("error-retry") as unknown as HTMLElement).hidden).toBe(true);
    } finally {
      await page.close();
    }
  });
});

describe("the panels on a narrow screen", () => {
  const narrow = { matchMedia: () => ({ matches: true }) } as Partial<AppView>;

  test("each button opens its drawer with focus inside; Escape closes it and focus returns", async () => {
    const page = await openPage(server.url, { view: narrow });
    try {
      const doc = page.window.document;
      for (const [toggle, panel] of [
        ["toggle-trust", "trust"],
        ["toggle-history", "history-panel"],
        ["toggle-tools", "tools-panel"],
      ] as const) {
        page.$(toggle).dispatchEvent(new page.window.Event("click"));
        const drawer = page.$(panel);
        expect(drawer.hasAttribute("data-open")).toBe(true);
        expect(drawer.getAttribute("role")).toBe("dialog");
        expect(page.$(toggle).getAttribute("aria-expanded")).toBe("true");
        expect(drawer.contains(doc.activeElement)).toBe(true);
        expect((page.$("scrim") as unknown as HTMLElement).hidden).toBe(false);
        doc.dispatchEvent(new page.window.KeyboardEvent("keydown", { key: "Escape" }));
        expect(drawer.hasAttribute("data-open")).toBe(false);
        expect(page.$(toggle).getAttribute("aria-expanded")).toBe("false");
        expect(doc.activeElement).toBe(page.$(toggle));
        expect((page.$("scrim") as unknown as HTMLElement).hidden).toBe(true);
      }
    } finally {
      await page.close();
    }
  });

  test("one drawer at a time; Tab stays inside it; the scrim and Close close it", async () => {
    const page = await openPage(server.url, { view: narrow });
    try {
      const doc = page.window.document;
      page.$("toggle-trust").dispatchEvent(new page.window.Event("click"));
      page.$("toggle-history").dispatchEvent(new page.window.Event("click"));
      expect(page.$("trust").hasAttribute("data-open")).toBe(false);
      expect(page.$("history-panel").hasAttribute("data-open")).toBe(true);
      page.$("scrim").dispatchEvent(new page.window.Event("click"));
      expect(page.$("history-panel").hasAttribute("data-open")).toBe(false);

      page.$("toggle-trust").dispatchEvent(new page.window.Event("click"));
      const report = page.$("trust-report");
      const close = page.$("trust").querySelector("[data-panel-close]") as HappyHTMLElement;
      report.focus();
      doc.dispatchEvent(new page.window.KeyboardEvent("keydown", { key: "Tab", cancelable: true }));
      expect(doc.activeElement).toBe(close);
      doc.dispatchEvent(
        new page.window.KeyboardEvent("keydown", { key: "Tab", shiftKey: true, cancelable: true }),
      );
      expect(doc.activeElement).toBe(report);
      close.dispatchEvent(new page.window.Event("click"));
      expect(page.$("trust").hasAttribute("data-open")).toBe(false);
      expect(doc.activeElement).toBe(page.$("toggle-trust"));
    } finally {
      await page.close();
    }
  });

  test("on a wide screen Trust folds its column in place", async () => {
    const page = await openPage();
    try {
      page.$("toggle-trust").dispatchEvent(new page.window.Event("click"));
      expect((page.$("trust") as unknown as HTMLElement).hidden).toBe(true);
      expect(page.$("toggle-trust").getAttribute("aria-expanded")).toBe("false");
      page.$("toggle-trust").dispatchEvent(new page.window.Event("click"));
      expect((page.$("trust") as unknown as HTMLElement).hidden).toBe(false);
    } finally {
      await page.close();
    }
  });
});

describe("the stage", () => {
  test("colour words set the palette, mood words the motion, and the same prompt looks the same", () => {
    expect(sceneFor("a crimson and teal storm").hues.slice(0, 2)).toEqual([350, 175]);
    expect(sceneFor("a crimson and teal storm").speed).toBeGreaterThan(1);
    expect(sceneFor("a calm misty lake").speed).toBeLessThan(1);
    expect(sceneFor("the same words")).toEqual(sceneFor("the same words"));
    expect(sceneFor("one prompt").seed).not.toBe(sceneFor("another prompt").seed);
  });
});
