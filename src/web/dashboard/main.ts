// The operator's dashboard. Public parts, for anyone: the attestation status and the live
// egress log, each entry checked to continue the hash chain by the served SDK as it arrives,
// refused attempts highlighted. With an operator key (kept in this tab's sessionStorage only):
// the snapshot from GET /dashboard/data twice a second, calls, latency, errors, providers,
// sessions, refusals, resources. Everything is written as text, never as markup.
import type * as Sdk from "../../../sdk/client/index.ts";
import type { DashboardSnapshot } from "../../metrics/dashboard.ts";
import { line, stackedBars } from "./chart.ts";

// A specifier known only at run time: the bundler leaves it to the browser (the served SDK).
const sdk = (await import(new URL("/sdk/auditor-sdk.js", location.origin).href)) as typeof Sdk;
const client = sdk.createClient({ baseUrl: location.origin });

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const SHOWN_ENTRIES = 200;
const KEY_STORAGE = "auditor-operator-key";
const REFRESH_MS = 500;

function row(cells: (string | number)[], className?: string): HTMLTableRowElement {
  const tr = document.createElement("tr");
  if (className) tr.className = className;
  for (const value of cells) {
    const td = document.createElement("td");
    td.textContent = String(value);
    tr.append(td);
  }
  return tr;
}

const ms = (value: number | null) =>
  value === null ? "–" : value < 10 ? `${value.toFixed(2)} ms` : `${Math.round(value)} ms`;
const bytes = (n: number) =>
  n < 1024
    ? `${n} B`
    : n < 1024 * 1024
      ? `${(n / 1024).toFixed(1)} KiB`
      : `${(n / 1024 / 1024).toFixed(1)} MiB`;
const percent = (part: number, whole: number) =>
  whole === 0 ? "–" : `${Math.round((part / whole) * 100)}%`;
const split = (counts: Record<string, number>) =>
  Object.entries(counts)
    .map(([name, n]) => `${name} ${n}`)
    .join(", ") || "–";

// Attestation: the statement checked against its quote, when there is one.
void client
  .attestation()
  .then(({ statement, quote }) => {
    const badge = $("attestation");
    badge.dataset.attested = String(quote !== undefined);
    badge.textContent = quote
      ? `attested: TDX quote carries the statement (kid ${statement.kid})`
      : `dev mode: not attested (kid ${statement.kid})`;
  })
  .catch((err: Error) => ($("attestation").textContent = `attestation failed: ${err.message}`));

// The live egress log.
const entriesBody = $("egress").querySelector("tbody")!;
let checkedCount = 0;

function showEntry(entry: Sdk.EgressLogEntry) {
  const sent = `${entry.method} ${entry.scheme}://${entry.host}${entry.path}${entry.queryKeys.length ? `?${entry.queryKeys.join("&")}` : ""}`;
  const policy = entry.allowed
    ? "allowed"
    : entry.error && entry.error !== "blocked by egress policy"
      ? `blocked: ${entry.error}`
      : "blocked by the policy";
  const tr = row(
    [
      entry.seq,
      entry.time.slice(11, 23),
      entry.fn,
      sent,
      entry.status ?? "–",
      `${bytes(entry.requestBytes)} / ${bytes(entry.responseBytes)}`,
      ms(entry.durationMs),
      policy,
    ],
    entry.allowed ? "allowed" : "blocked",
  );
  tr.dataset.seq = String(entry.seq);
  entriesBody.prepend(tr);
  while (entriesBody.rows.length > SHOWN_ENTRIES) entriesBody.lastElementChild!.remove();
}

function chainStatus(state: "checking" | "verified" | "failed", text: string) {
  const el = $("chain");
  el.dataset.state = state;
  el.textContent = text;
}

async function followLog(): Promise<never> {
  for (;;) {
    try {
      const log = await client.egressLog();
      entriesBody.replaceChildren();
      for (const entry of log.entries.slice(-SHOWN_ENTRIES)) showEntry(entry);
      checkedCount = log.entries.length;
      const from = log.fromGenesis ? "from genesis" : `from seq ${log.entries[0]!.seq}`;
      const verified = (head: number) =>
        chainStatus(
          "verified",
          `hash chain verified in this browser ${from}: ${checkedCount} entries, head seq ${head}`,
        );
      verified(log.head.seq);
      const after = log.entries.at(-1);
      for await (const entry of client.followEgressLog({
        instanceId: log.instanceId,
        ...(after ? { after } : {}),
      })) {
        showEntry(entry);
        checkedCount++;
        verified(entry.seq);
      }
    } catch (err) {
      const message = (err as Error).message;
      chainStatus(
        err instanceof sdk.ProtocolError ? "failed" : "checking",
        err instanceof sdk.ProtocolError ? `NOT verified: ${message}` : `reconnecting: ${message}`,
      );
      if (err instanceof sdk.ProtocolError) return new Promise<never>(() => {});
    }
    await new Promise((resolve) => setTimeout(resolve, 2_000));
  }
}
void followLog();

// The operator's snapshot.
let key = sessionStorage.getItem(KEY_STORAGE) ?? "";
let timer: ReturnType<typeof setTimeout> | undefined;

function lock(message = "") {
  key = "";
  sessionStorage.removeItem(KEY_STORAGE);
  if (timer !== undefined) clearTimeout(timer);
  $("operator").hidden = true;
  $("lock").hidden = true;
  $("key-status").textContent = message;
}

function render(d: DashboardSnapshot) {
  $("window-note").textContent = `last ${d.windowMinutes} minutes`;
  stackedBars(
    $("chart-calls") as unknown as SVGSVGElement,
    d.series.map((p) => ({ ok: p.calls - p.errors, bad: p.errors })),
  );
  line(
    $("chart-latency") as unknown as SVGSVGElement,
    d.series.map((p) => p.p95Ms),
    "ms",
  );
  $("functions")
    .querySelector("tbody")!
    .replaceChildren(
      ...d.functions.map(({ fn, window: w, sinceStart: s }) =>
        row([
          fn,
          w.calls,
          ms(w.p50Ms),
          ms(w.p95Ms),
          percent(w.errors, w.calls),
          split(w.providers),
          percent(w.modes.sealed ?? 0, w.calls),
          `${s.calls} · ${ms(s.p95Ms)} · ${percent(s.errors, s.calls)}`,
        ]),
      ),
    );
  const states = split(d.sessions.byState);
  $("session-counts").textContent =
    `held now: ${states}; started ${d.sessions.started}; ended: ${split(d.sessions.endedByOutcome)}`;
  $("sessions")
    .querySelector("tbody")!
    .replaceChildren(
      ...d.sessions.live.map((s) =>
        row([
          `${s.idPrefix}…`,
          s.state,
          s.encrypted ? "yes" : "no",
          s.startedAt.slice(11, 19),
          `cpu ${s.limits.cpuMs} ms, ${Math.round(s.limits.timeoutMs / 1000)} s, ${bytes(s.limits.memoryBytes)}, ${s.limits.maxToolCalls} tools`,
          s.toolCalls,
        ]),
      ),
    );
  $("errors")
    .querySelector("tbody")!
    .replaceChildren(
      ...d.errors.map((e) =>
        row(
          [e.code, e.status, e.count],
          e.status === 429 || e.status === 503 || e.status === 507 ? "refusal" : undefined,
        ),
      ),
    );
  const { usedBytes, budgetBytes, admitting } = d.memoryBudget;
  $("budget").textContent =
    `${bytes(usedBytes)} of ${bytes(budgetBytes)}${admitting ? "" : " (refusing new sessions)"}`;
  $("budget-bar").style.width = budgetBytes
    ? `${Math.min(100, (usedBytes / budgetBytes) * 100)}%`
    : "0";
  $("store").textContent =
    `${d.store.kind}${d.store.host ? ` at ${d.store.host}` : ""}: ${d.store.up === null ? "" : d.store.up ? "up" : "DOWN"} ${d.store.detail}`.trim();
  $("store").dataset.up = String(d.store.up);
  $("uptime").textContent =
    `${Math.floor(d.uptimeSeconds / 3600)} h ${Math.floor((d.uptimeSeconds % 3600) / 60)} min`;
  $("egress-hosts")
    .querySelector("tbody")!
    .replaceChildren(
      ...d.egressHosts.map((h) =>
        row(
          [h.host, h.allowed, h.blocked, bytes(h.sentBytes), bytes(h.receivedBytes)],
          h.blocked ? "blocked" : undefined,
        ),
      ),
    );
}

async function refresh() {
  if (!key) return;
  try {
    const response = await fetch("/dashboard/data", {
      headers: { authorization: `Bearer ${key}` },
    });
    if (response.status === 401 || response.status === 403) {
      const body = (await response.json().catch(() => ({}))) as { message?: string };
      return lock(body.message ?? `refused (${response.status})`);
    }
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    render((await response.json()) as DashboardSnapshot);
    $("operator").hidden = false;
    $("lock").hidden = false;
    $("key-status").textContent = `updated ${new Date().toLocaleTimeString()}`;
  } catch (err) {
    $("key-status").textContent = `could not refresh: ${(err as Error).message}`;
  }
  timer = setTimeout(() => void refresh(), REFRESH_MS);
}

$("key-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const input = $<HTMLInputElement>("operator-key");
  key = input.value.trim();
  input.value = "";
  if (!key) return;
  sessionStorage.setItem(KEY_STORAGE, key);
  if (timer !== undefined) clearTimeout(timer);
  void refresh();
});
$("lock").addEventListener("click", () => lock("locked"));
void refresh();
