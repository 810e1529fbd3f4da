// The ETHEREA VJ page: transcript (typed or spoken) and style in, a prompt out on the stage,
// with a history and a trust panel that says where the data goes. It talks to the server only
// through the SDK the server serves (the client is handed in).
import type { AuditorClient, GeneratePromptOutput, Receipt } from "../../../sdk/client/index.ts";
import { mountPanels, type PanelsView } from "./panels.ts";
import { listen, speechSupported } from "./speech.ts";
import { mountTools } from "./tools.ts";
import { Stage } from "./stage.ts";

export interface AppView extends PanelsView {
  requestAnimationFrame?: (cb: (t: number) => void) => number;
  devicePixelRatio?: number;
  setInterval(handler: () => void, ms: number): number;
  clearInterval(id: number): void;
}

export interface AppOptions {
  sessionId?: string;
  /** Seal generate calls end to end (the client must have pinned keys). */
  sealed?: boolean;
  /** How many prompts the history keeps. */
  historySize?: number;
}

type Vj = "evolve" | "jump" | "remix" | null;

export interface App {
  /** Settles when the trust panel's latest check is done. */
  readonly trustChecked: Promise<void>;
  generate(): Promise<void>;
  refreshTrust(): Promise<void>;
  stop(): void;
}

export function mountApp(
  doc: Document,
  view: AppView,
  client: AuditorClient,
  options: AppOptions = {},
): App {
  const $ = <T extends HTMLElement>(id: string) => {
    const element = doc.getElementById(id);
    if (!element) throw new Error(`the page has no #${id}`);
    return element as T;
  };
  const sessionId = options.sessionId ?? crypto.randomUUID();
  const historySize = options.historySize ?? 20;
  const transcript = $<HTMLTextAreaElement>("transcript");
  const styleTags = $<HTMLInputElement>("style-tags");
  const generateButton = $<HTMLButtonElement>("generate");
  const live = $<HTMLInputElement>("live");
  const interval = $<HTMLSelectElement>("interval");
  const liveStatus = $("live-status");
  const promptText = $("prompt");
  const promptMeta = $("prompt-meta");
  const history = $("history");
  const errorBox = $("error");
  const stage = new Stage($<HTMLCanvasElement>("stage"), view);
  stage.start();

  let busy = false;
  const sealed = options.sealed ?? false;
  let lastSent = "";
  let timer: number | undefined;
  let stopListening: (() => void) | undefined;

  const vjInstruction = (): Vj => {
    const checked = doc.querySelector<HTMLInputElement>('input[name="vj"]:checked');
    return checked?.value ? (checked.value as Vj) : null;
  };

  const retryButton = $<HTMLButtonElement>("error-retry");
  /** What Retry runs again: whatever failed last (listening, a prompt, a tool). */
  let retry: (() => void) | undefined;
  const showError = (message: string | null, again?: () => void) => {
    errorBox.hidden = message === null;
    $("error-text").textContent = message ?? "";
    retry = again;
    retryButton.hidden = again === undefined;
  };

  /** What a verified receipt says left the TEE for this prompt, in a person's words. */
  const egressSummary = (receipt: Receipt | undefined): string => {
    if (!receipt) return "receipt not checked (no pinned key)";
    const sent = receipt.egress.filter((e) => e.allowed);
    if (sent.length === 0) return "answered inside the TEE, no egress — receipt verified";
    const counts = new Map<string, number>();
    for (const e of sent) counts.set(e.host, (counts.get(e.host) ?? 0) + 1);
    const where = [...counts].map(([host, n]) => `${host} ×${n}`).join(", ");
    return `sent to ${where}, nothing else — receipt verified`;
  };

  const addHistory = (result: GeneratePromptOutput, receipt: string) => {
    const item = doc.createElement("li");
    const text = doc.createElement("p");
    text.textContent = result.prompt;
    const meta = doc.createElement("span");
    meta.className = "meta";
    meta.textContent = `${result.provider_used} · ${result.latency_ms} ms · ${new Date().toLocaleTimeString()}`;
    const egress = doc.createElement("span");
    egress.className = "meta receipt";
    egress.textContent = receipt;
    item.append(text, meta, egress);
    history.prepend(item);
    while (history.children.length > historySize) history.lastElementChild!.remove();
  };

  const generate = async () => {
    const text = transcript.value.trim();
    if (!text) {
      showError("Type or say something first: the transcript is empty.");
      return;
    }
    if (busy) return;
    busy = true;
    generateButton.disabled = true;
    generateButton.textContent = "Generating…";
    try {
      // With the server's key pinned, every answer's receipt is verified before it is shown.
      let receipt: Receipt | undefined;
      const onReceipt = sealed ? (r: Receipt) => void (receipt = r) : undefined;
      const result = await client.generatePrompt(
        {
          sessionId,
          transcript: text,
          styleTags: styleTags.value.trim(),
          vjInstruction: vjInstruction(),
        },
        { sealed, ...(onReceipt ? { onReceipt } : {}) },
      );
      lastSent = text;
      const summary = egressSummary(receipt);
      promptText.textContent = result.prompt;
      promptMeta.textContent = `${result.provider_used} · ${result.latency_ms} ms${sealed ? " · sealed" : ""} · ${summary}`;
      stage.show(result.prompt);
      addHistory(result, summary);
      showError(null);
      trustChecked = refreshTrust();
    } catch (err) {
      const reason = (err as Error).message;
      showError(
        `The server could not make a prompt (${reason}). Your visuals keep running; retry when ready.`,
        () => void generate(),
      );
    } finally {
      busy = false;
      generateButton.disabled = false;
      generateButton.textContent = "Generate";
    }
  };

  const refreshTrust = async () => {
    try {
      const attestation = await client.attestation();
      const { statement } = attestation;
      $("trust-mode").textContent = attestation.attested
        ? `Attested by an Intel TDX quote (dstack app ${statement.tee.appId ?? "unknown"})`
        : "Dev mode: not attested (no TEE quote)";
      $("trust-mode").dataset.attested = String(attestation.attested);
      $("trust-binary").textContent =
        statement.binarySha256 ?? "running from source (no binary digest)";
      $("trust-kid").textContent = statement.kid;
      $("trust-connection").textContent = sealed
        ? `End-to-end sealed to key ${statement.kid}${attestation.attested ? "" : " (not attested)"}`
        : "Plain HTTPS to the server (not sealed end to end)";
      $("trust-connection").dataset.sealed = String(sealed);
      const report = (await client.report("etherea")) as {
        egressPolicy?: { host: string }[];
        observedEgress?: { host: string; calls: number; blocked: number }[];
      };
      const egress = $("trust-egress");
      egress.replaceChildren();
      const hosts = new Map<string, { calls: number; blocked: number }>();
      for (const policy of report.egressPolicy ?? [])
        hosts.set(policy.host, { calls: 0, blocked: 0 });
      for (const seen of report.observedEgress ?? [])
        hosts.set(seen.host, { calls: seen.calls, blocked: seen.blocked });
      for (const [host, stats] of hosts) {
        const item = doc.createElement("li");
        item.textContent = `${host}: ${stats.calls} call${stats.calls === 1 ? "" : "s"}${stats.blocked ? `, ${stats.blocked} blocked` : ""}`;
        egress.append(item);
      }
      if (hosts.size === 0) egress.textContent = "nowhere: this app declares no outside services";
    } catch (err) {
      $("trust-mode").textContent = `Could not check the server: ${(err as Error).message}`;
    }
  };

  const setLive = (on: boolean) => {
    if (timer !== undefined) view.clearInterval(timer);
    timer = undefined;
    liveStatus.textContent = on ? "Live" : "Idle";
    liveStatus.dataset.state = on ? "live" : "idle";
    if (on) {
      timer = view.setInterval(() => {
        // While live, a new prompt whenever the transcript has moved on.
        if (transcript.value.trim() && transcript.value.trim() !== lastSent) void generate();
      }, Number(interval.value));
    }
  };

  $("controls").addEventListener("submit", (event) => {
    event.preventDefault();
    void generate();
  });
  retryButton.addEventListener("click", () => retry?.());
  live.addEventListener("change", () => setLive(live.checked));
  interval.addEventListener("change", () => setLive(live.checked));
  const panels = mountPanels(doc, view);

  const mic = $<HTMLButtonElement>("mic");
  const stopMic = () => {
    stopListening?.();
    stopListening = undefined;
    mic.setAttribute("aria-pressed", "false");
  };
  const startMic = () => {
    if (retry === startMic) showError(null);
    let failed = false;
    try {
      const stop = listen(
        view,
        (phrase) => {
          // Keep the transcript to the recent past, as a VJ set does.
          transcript.value = `${transcript.value} ${phrase}`.trim().slice(-1000);
        },
        // Listening has stopped for good (at once, or later): Listen is up, Retry listens again.
        (message) => {
          failed = true;
          stopMic();
          showError(message, startMic);
        },
      );
      if (failed) return;
      stopListening = stop;
      mic.setAttribute("aria-pressed", "true");
    } catch (err) {
      showError((err as Error).message);
    }
  };
  if (speechSupported(view)) {
    mic.hidden = false;
    mic.addEventListener("click", () => (stopListening ? stopMic() : startMic()));
  }

  mountTools(doc, client, {
    sessionId,
    sealed,
    transcript: () => transcript.value.trim(),
    onError: showError,
  });

  let trustChecked = refreshTrust();

  return {
    get trustChecked() {
      return trustChecked;
    },
    generate,
    refreshTrust,
    stop() {
      setLive(false);
      stopListening?.();
      panels.close();
    },
  };
}
