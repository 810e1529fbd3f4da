// The VJ page's tools for the other attested functions: the DJ's next music cue, a GLSL shader
// checked by WebGL and repaired by fix-shader, and YouTube metadata for the session's set.
// A repair is claimed only when it happened: the answer is compiled here, replaces the source
// only when it compiles, and otherwise the page says plainly that nothing was fixed.
import type { AuditorClient } from "../../../sdk/client/index.ts";
import { compileFragmentShader, type CompileResult } from "./shader.ts";

export interface ToolsContext {
  sessionId: string;
  sealed: boolean;
  transcript: () => string;
  /** Shows (or, with null, clears) the page's error; `retry` runs again what failed. */
  onError: (message: string | null, retry?: () => void) => void;
}

export function mountTools(doc: Document, client: AuditorClient, context: ToolsContext) {
  const $ = <T extends HTMLElement>(id: string) => doc.getElementById(id) as T;
  const busy = async (button: HTMLButtonElement, label: string, work: () => Promise<void>) => {
    const idle = button.textContent;
    button.disabled = true;
    button.textContent = label;
    try {
      await work();
      context.onError(null);
    } catch (err) {
      context.onError(`${idle} failed: ${(err as Error).message}`, () => button.click());
    } finally {
      button.disabled = false;
      button.textContent = idle;
    }
  };
  const options = { sealed: context.sealed };

  const djButton = $<HTMLButtonElement>("dj-button");
  djButton.addEventListener("click", () =>
    busy(djButton, "Choosing…", async () => {
      const mood = $<HTMLInputElement>("mood").value.trim();
      const input = { sessionId: context.sessionId, transcript: context.transcript(), mood };
      const { cue, provider_used } = await client.dj(input, options);
      $("dj-output").textContent =
        `${cue.tempo_bpm} bpm · ${cue.key} · ${cue.mood_tags.join(", ")}\n${cue.prompt}\n(${provider_used})`;
    }),
  );

  const source = $<HTMLTextAreaElement>("shader-source");
  const status = $("shader-status");
  const preview = $<HTMLCanvasElement>("shader-preview");
  const show = (text: string, ok: boolean | undefined, result: CompileResult) => {
    status.textContent = text;
    if (ok === undefined) delete status.dataset.ok;
    else status.dataset.ok = String(ok);
    preview.hidden = result.status !== "ok";
  };
  const describe = (result: CompileResult) =>
    result.status === "ok"
      ? "Compiles."
      : result.status === "error"
        ? result.log
        : `${result.reason}: cannot check it.`;
  /** Green when it compiles, red when it does not, neither when this browser cannot tell. */
  const verdict = (result: CompileResult) =>
    result.status === "unavailable" ? undefined : result.status === "ok";
  const compile = () => {
    const result = compileFragmentShader(preview, source.value);
    show(describe(result), verdict(result), result);
    return result;
  };
  $("shader-compile").addEventListener("click", () => void compile());

  const fixButton = $<HTMLButtonElement>("shader-fix");
  fixButton.addEventListener("click", () =>
    busy(fixButton, "Fixing…", async () => {
      const before = compile();
      if (before.status === "ok") {
        show("Compiles already: nothing to fix.", true, before);
        return;
      }
      const errorLog = before.status === "error" ? before.log : "";
      const fixed = await client.fixShader({ shader: source.value, errorLog }, options);
      const local = fixed.provider_used === "local";
      const by = local ? "the local fixer (no LLM key is configured)" : fixed.provider_used;
      if (fixed.shader === source.value) {
        show(`Not fixed: ${by} found nothing to change. ${describe(before)}`, false, before);
        return;
      }
      const after = compileFragmentShader(preview, fixed.shader);
      const notes = fixed.notes ? `: ${fixed.notes}` : "";
      if (after.status === "error") {
        // The user's shader stays: an answer that does not compile is no fix.
        const message = `Not fixed: the answer from ${by} does not compile either: ${after.log}`;
        show(message, false, after);
        return;
      }
      source.value = fixed.shader;
      if (after.status === "ok") show(`Fixed by ${by}${notes}. Compiles.`, true, after);
      else show(`Changed by ${by}${notes}. ${describe(after)}`, undefined, after);
    }),
  );

  const ytButton = $<HTMLButtonElement>("yt-button");
  ytButton.addEventListener("click", () =>
    busy(ytButton, "Writing…", async () => {
      const meta = await client.youtubeMetadata({ sessionId: context.sessionId }, options);
      $("yt-title").textContent = meta.title;
      $("yt-description").textContent = meta.description;
      $("yt-tags").textContent = meta.tags.join(", ");
    }),
  );
}
