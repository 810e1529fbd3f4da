// The VJ page's tools for the other attested functions: the DJ's next music cue, a GLSL shader
// checked by WebGL and repaired by fix-shader, and YouTube metadata for the session's set.
import type { AuditorClient } from "../../../sdk/client/index.ts";
import { compileFragmentShader } from "./shader.ts";

export function mountTools(doc: Document, client: AuditorClient, context: { sessionId: string; sealed: boolean; transcript: () => string; onError: (message: string | null) => void }) {
  const $ = <T extends HTMLElement>(id: string) => doc.getElementById(id) as T;
  const busy = async (button: HTMLButtonElement, label: string, work: () => Promise<void>) => {
    const idle = button.textContent;
    button.disabled = true;
    button.textContent = label;
    try {
      await work();
      context.onError(null);
    } catch (err) {
      context.onError(`${idle} failed: ${(err as Error).message}`);
    } finally {
      button.disabled = false;
      button.textContent = idle;
    }
  };
  const options = { sealed: context.sealed };

  const djButton = $<HTMLButtonElement>("dj-button");
  djButton.addEventListener("click", () =>
    busy(djButton, "Choosing…", async () => {
      const { cue, provider_used } = await client.dj({ sessionId: context.sessionId, transcript: context.transcript(), mood: $<HTMLInputElement>("mood").value.trim() }, options);
      $("dj-output").textContent = `${cue.tempo_bpm} bpm · ${cue.key} · ${cue.mood_tags.join(", ")}\n${cue.prompt}\n(${provider_used})`;
    }),
  );

  const source = $<HTMLTextAreaElement>("shader-source");
  const status = $("shader-status");
  const compile = () => {
    const result = compileFragmentShader($<HTMLCanvasElement>("shader-preview"), source.value);
    status.textContent = result.ok ? "Compiles" : result.log;
    status.dataset.ok = String(result.ok);
    return result;
  };
  $("shader-compile").addEventListener("click", () => void compile());
  const fixButton = $<HTMLButtonElement>("shader-fix");
  fixButton.addEventListener("click", () =>
    busy(fixButton, "Fixing…", async () => {
      const before = compile();
      const fixed = await client.fixShader({ shader: source.value, errorLog: before.ok ? "" : before.log }, options);
      source.value = fixed.shader;
      const after = compile();
      status.textContent = `${after.ok ? "Compiles" : after.log} (fixed by ${fixed.provider_used}${fixed.notes ? `: ${fixed.notes}` : ""})`;
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
