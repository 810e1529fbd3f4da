// The report page's HTML is rendered from the report object with every value escaped: markup,
// quotes and URLs smuggled into any string (an operator's setting, a description, a schema)
// come out as text, and links go only to this server's own paths.
import { describe, expect, test } from "bun:test";
import { Window } from "happy-dom";
import { reportHtml, type Report } from "../../src/report/index.ts";

const EVIL = `</code><script>alert(1)</script><img src=x onerror=alert(2)>"'&`;
const hex = "ab".repeat(32);

function hostileReport(): Report {
  return {
    v: 1,
    app: EVIL,
    generatedAt: EVIL,
    binarySha256: null,
    attestation: {
      v: 1,
      identityKey: "AAAA",
      invokeKey: "AAAA",
      kid: "k".repeat(16),
      binarySha256: null,
      source: { repository: EVIL, commit: null, treeSha256: hex },
      tee: { provider: "dev" },
    },
    attested: false,
    source: { repository: "javascript:alert(3)", commit: null, treeSha256: hex },
    functions: [
      {
        name: EVIL,
        description: EVIL,
        input: { description: EVIL },
        output: {},
        egress: [
          {
            name: EVIL,
            purpose: EVIL,
            declaredUrl: EVIL,
            url: EVIL,
            host: EVIL,
            origin: EVIL,
            overriddenBy: EVIL,
            enabled: true,
            enabledBecause: EVIL,
          },
        ],
        secrets: [EVIL],
        sessionTool: true,
        sources: [{ path: `../${EVIL}`, sha256: hex }],
        sourceSha256: hex,
      },
    ],
    egressPolicy: [],
    stateStore: { kind: "postgres", host: EVIL, receives: EVIL },
    channels: [
      { name: EVIL, direction: "outbound", destination: EVIL, carries: EVIL, setBy: EVIL },
    ],
    configuration: { [EVIL]: { value: EVIL, knownBy: "operator", setBy: EVIL, meaning: EVIL } },
    sessions: {
      endpoints: [EVIL],
      creation: EVIL,
      tools: [{ name: EVIL, kind: "demo", description: EVIL }],
      maxima: {},
    },
    sessionIds: { rule: EVIL, holderCanSee: EVIL },
    observedEgress: [
      {
        scheme: EVIL,
        host: EVIL,
        calls: 1,
        blocked: 0,
        requestBytes: 1,
        responseBytes: 1,
        lastSeen: EVIL,
      },
    ],
    egressLog: {
      instanceId: EVIL,
      head: { seq: 1, digest: hex },
      headDigest: hex,
      url: "//evil.example/log",
      recent: [],
    },
    claims: [{ claim: EVIL, knownBy: "not attested", how: EVIL }],
    definitions: { [EVIL]: EVIL },
    verification: [EVIL],
  } as unknown as Report;
}

describe("reportHtml", () => {
  const html = reportHtml(hostileReport(), {
    scriptPath: "/report-page/main.x.js",
    stylePath: "/report-page/report.x.css",
  });
  const doc = new Window().document;
  doc.write(html);

  test("no markup from the report survives: one script (the page's), no handlers, no images", () => {
    expect([...doc.querySelectorAll("script")].map((s) => s.getAttribute("src"))).toEqual([
      "/report-page/main.x.js",
    ]);
    expect(doc.querySelectorAll("img").length).toBe(0);
    expect(html).not.toContain("<script>alert");
    expect(html).not.toMatch(/<img/);
  });

  test("the hostile strings are shown as text", () => {
    expect(doc.querySelector("h1")!.textContent).toBe(`Data-flow report: ${EVIL}`);
    expect(doc.body.getAttribute("data-app")).toBe(EVIL);
    expect(doc.querySelector("#configuration td code")!.textContent).toBe(EVIL);
  });

  test("links go only to this server's paths, never to a report-supplied URL", () => {
    const hrefs = [...doc.querySelectorAll("a")].map((a) => a.getAttribute("href")!);
    expect(hrefs.length).toBeGreaterThan(0);
    for (const href of hrefs) expect(href.startsWith("/") && !href.startsWith("//")).toBe(true);
    expect(hrefs).not.toContain("javascript:alert(3)");
    expect(hrefs.some((h) => h.startsWith("/source/"))).toBe(true);
  });
});
