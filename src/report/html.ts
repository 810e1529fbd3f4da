// The same report as a page for people: rendered on the server from the report object (every
// value escaped), readable without script. The page's script (src/web/report-page) then checks
// the claims in the browser with the served SDK and fills the "Checked in your browser" list.
// Digests and bindings stay over the JSON form, as for markdown.
import type { Report } from "./build.ts";

export interface ReportPageAssets {
  scriptPath: string;
  stylePath: string;
}

const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};
const esc = (value: unknown) => String(value).replace(/[&<>"']/g, (ch) => ESCAPES[ch]!);
const code = (value: unknown) => `<code>${esc(value)}</code>`;
const row = (cells: string[]) => `<tr>${cells.map((cell) => `<td>${cell}</td>`).join("")}</tr>`;
const table = (head: string[], rows: string[]) =>
  `<div class="scroll"><table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join("")}</tr></thead><tbody>${rows.join("")}</tbody></table></div>`;
const section = (id: string, title: string, body: string) =>
  `<section id="${id}"><h2>${esc(title)}</h2>${body}</section>`;
const knownBy = (value: string) =>
  `<span class="known" data-known="${esc(value)}">${esc(value)}</span>`;
/** A link only to this server's own paths; anything else is shown as text. */
const localLink = (path: string, text = path) =>
  path.startsWith("/") && !path.startsWith("//")
    ? `<a href="${esc(path)}">${esc(text)}</a>`
    : esc(text);
const sourceLink = (path: string) =>
  localLink(`/source/${path.split("/").map(encodeURIComponent).join("/")}`, path);

/** The checks the page's script runs; their rows start as "checking". */
const CHECKS: [id: string, name: string][] = [
  ["statement", "Attestation statement (GET /attestation with a fresh nonce)"],
  ["binding", "This report, bound to a fresh nonce (GET /report with ?nonce)"],
  ["source", "Source tree (GET /source)"],
  ["egress-log", "Egress log hash chain (GET /egress-log)"],
  ["receipt", "A receipt from a deliberately invalid call"],
];

function checks(): string {
  const items = CHECKS.map(
    ([id, name]) =>
      `<li data-check="${id}" data-state="checking"><span class="state">checking…</span> <strong>${esc(name)}</strong><div class="detail"></div></li>`,
  ).join("");
  return section(
    "checks",
    "Checked in your browser",
    `<p>The page recomputes these with the SDK this server serves (<a href="/sdk/auditor-sdk.js">/sdk/auditor-sdk.js</a>). A browser cannot check a quote's Intel signature chain or the TEE's measurements: <code>auditor verify</code> does, line by line.</p>` +
      `<ol class="checks">${items}</ol><p><button type="button" id="hash-every-file">Hash every served source file</button></p>` +
      `<noscript><p>These checks need JavaScript. From a terminal, <code>auditor verify &lt;url&gt;</code> makes them all.</p></noscript>`,
  );
}

function dataFlow(r: Report): string {
  const rows = r.functions.flatMap((f) =>
    f.egress.length === 0
      ? [row([code(f.name), "nowhere: it answers inside the TEE", "", "", ""])]
      : f.egress.map((e) =>
          row([
            code(f.name),
            `${code(e.origin)}${e.overriddenBy ? `<div class="note">operator override via ${code(e.overriddenBy)}; declared ${code(e.declaredUrl)}</div>` : ""}`,
            esc(e.purpose),
            e.enabled
              ? '<span class="on">enabled now</span>'
              : '<span class="off">not in use now</span>',
            esc(e.enabledBecause),
          ]),
        ),
  );
  return section(
    "data-flow",
    "Where data can go, and where it goes now",
    `<p>Every origin a function may reach. Any other destination is refused before a byte leaves, and the refusal is logged.</p>${table(["Function", "May send to", "Why", "Now", "Because"], rows)}`,
  );
}

function configuration(r: Report): string {
  const rows = Object.entries(r.configuration).map(([name, c]) =>
    row([
      code(name),
      code(c.value),
      knownBy(c.knownBy),
      c.setBy ? code(c.setBy) : "",
      esc(c.meaning),
    ]),
  );
  return section(
    "configuration",
    "Configuration, as the running code states it",
    table(["Setting", "Value", "Known by", "Set by", "Meaning"], rows),
  );
}

function channels(r: Report): string {
  const rows = r.channels.map((ch) =>
    row([
      esc(ch.name),
      esc(ch.direction),
      ch.destination ? code(ch.destination) : "not used by this instance",
      ch.setBy && ch.destination ? code(ch.setBy) : "",
      esc(ch.carries),
    ]),
  );
  const store = r.stateStore.host
    ? `Kept in a shared ${esc(r.stateStore.kind)} at ${code(r.stateStore.host)} (operator setting <code>AUDITOR_STATE_URL</code>). It receives ${esc(r.stateStore.receives)}.`
    : `Kept on this instance: ${esc(r.stateStore.receives)}.`;
  return section(
    "channels",
    "Other channels and sealed state",
    `<p>Besides function egress the process opens only these; every other network API refuses and is recorded.</p>${table(["Channel", "Direction", "Destination", "Set by", "Carries"], rows)}<p>Sealed state: ${store}</p>`,
  );
}

function sessions(r: Report): string {
  const tools = r.sessions.tools.map((t) => row([code(t.name), esc(t.kind), esc(t.description)]));
  return section(
    "sessions",
    "AgentScript sessions and session ids",
    `<p>Creation: ${esc(r.sessions.creation)}. Endpoints: ${r.sessions.endpoints.map(code).join(", ")}.</p>${table(["Tool", "Kind", "What it does"], tools)}<p>Function session ids: ${esc(r.sessionIds.rule)} ${esc(r.sessionIds.holderCanSee)}.</p>`,
  );
}

function egress(r: Report): string {
  const observed =
    r.observedEgress.length === 0
      ? "<p>No outbound calls since start-up.</p>"
      : table(
          ["Destination", "Calls", "Blocked", "Bytes sent", "Bytes received", "Last"],
          r.observedEgress.map((h) =>
            row([
              code(`${h.scheme}://${h.host}`),
              esc(h.calls),
              esc(h.blocked),
              esc(h.requestBytes),
              esc(h.responseBytes),
              esc(h.lastSeen),
            ]),
          ),
        );
  const log = r.egressLog;
  return section(
    "egress",
    "Observed egress",
    `${observed}<p>Egress log ${code(log.instanceId)}: head seq ${esc(log.head.seq)}, digest ${code(log.head.digest)}; every entry at ${localLink(log.url)}.</p>`,
  );
}

function claims(r: Report): string {
  return section(
    "claims",
    "Claims and how each is known",
    table(
      ["Known by", "Claim", "How"],
      r.claims.map((c) => row([knownBy(c.knownBy), esc(c.claim), esc(c.how)])),
    ),
  );
}

function functions(r: Report): string {
  const items = r.functions.map(
    (f) =>
      `<details><summary>${code(f.name)}: ${esc(f.description)}</summary>` +
      `<p>Secrets it can read (names only): ${f.secrets.map(code).join(", ") || "none"}.${f.sessionTool ? ` Sessions may also call it as ${code(`callTool("${f.name}", input)`)}, under the same policy.` : ""}</p>` +
      `<p>Sources (sourceSha256 ${code(f.sourceSha256)}):</p><ul>${f.sources.map((s) => `<li>${sourceLink(s.path)} ${code(s.sha256)}</li>`).join("")}</ul>` +
      `<p>Input schema:</p><pre>${esc(JSON.stringify(f.input, null, 2))}</pre><p>Output schema:</p><pre>${esc(JSON.stringify(f.output, null, 2))}</pre></details>`,
  );
  return section("functions", "Functions, their sources and schemas", items.join(""));
}

function guide(r: Report): string {
  const definitions = Object.entries(r.definitions)
    .map(([name, text]) => `<dt>${esc(name)}</dt><dd>${esc(text)}</dd>`)
    .join("");
  const steps = r.verification.map((step) => `<li>${esc(step)}</li>`).join("");
  return (
    section("definitions", "Definitions", `<dl>${definitions}</dl>`) +
    section("verify", "How to verify, step by step", `<ol>${steps}</ol>`)
  );
}

export function reportHtml(r: Report, assets: ReportPageAssets): string {
  const s = r.attestation;
  const banner = r.attested
    ? `<p class="banner attested">Attested: a TDX quote backs the statement. TEE provider ${code(s.tee.provider)}, app ${code(s.tee.appId)}, compose hash ${code(s.tee.composeHash)}.</p>`
    : `<p class="banner not-attested"><strong>Not attested.</strong> This server runs in dev mode, without a TDX quote. Everything below is the server's own word and only shows it is consistent with itself.</p>`;
  const app = encodeURIComponent(r.app);
  const identity =
    `<p>Generated ${esc(r.generatedAt)}. Identity key id ${code(s.kid)}. Binary sha256: ${r.binarySha256 ? code(r.binarySha256) : "none (running from source)"}.</p>` +
    `<p>Source: ${esc(r.source.repository)} at commit ${r.source.commit ? code(r.source.commit) : "(unknown)"}, tree ${code(r.source.treeSha256)} (${localLink("/source", "GET /source")}).</p>` +
    (r.binding
      ? `<p>Fresh binding: nonce ${code(r.binding.nonce)}, report sha256 ${code(r.binding.reportSha256)} (of the JSON form), quote report data ${code(r.binding.reportData)}, attested: ${esc(r.binding.attested)}.</p>`
      : "") +
    `<p>This page is a rendering of <a href="/report/${app}?format=json">the JSON report</a> (also as <a href="/report/${app}?format=markdown">markdown</a>); digests and bindings are over the JSON form.</p>`;
  return [
    "<!doctype html>",
    '<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>Data-flow report: ${esc(r.app)}</title><link rel="icon" href="data:,"><link rel="stylesheet" href="${esc(assets.stylePath)}"><script type="module" src="${esc(assets.scriptPath)}"></script></head>`,
    `<body data-app="${esc(r.app)}" data-kid="${esc(s.kid)}" data-attested="${r.attested}"><main>`,
    `<header><h1>Data-flow report: ${esc(r.app)}</h1>${banner}${identity}</header>`,
    checks(),
    dataFlow(r),
    configuration(r),
    channels(r),
    sessions(r),
    egress(r),
    claims(r),
    functions(r),
    guide(r),
    "</main></body></html>",
  ].join("\n");
}
