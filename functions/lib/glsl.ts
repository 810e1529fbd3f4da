// What counts as "a single fragment shader of bounded size", checked on anything a model returns
// before it reaches a VJ's renderer. A syntax check, not a compiler: the browser compiles it.

export const MAX_SHADER_BYTES = 16 * 1024;

export type ShaderCheck = { ok: true; source: string } | { ok: false; reason: string };

/** Strips a ```glsl fence if the model wrapped the code in one. */
function unfence(text: string): string {
  const fenced = /```(?:glsl|frag|c)?\s*\n([\s\S]*?)```/.exec(text);
  return (fenced ? fenced[1]! : text).trim();
}

export function checkFragmentShader(text: string): ShaderCheck {
  const source = unfence(text);
  if (!source) return { ok: false, reason: "empty shader" };
  if (new TextEncoder().encode(source).length > MAX_SHADER_BYTES)
    return { ok: false, reason: `longer than ${MAX_SHADER_BYTES} bytes` };
  const code = source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, "");
  const mains = code.match(/\bvoid\s+main\s*\(\s*(void)?\s*\)/g) ?? [];
  if (mains.length !== 1)
    return { ok: false, reason: `expected exactly one main(), found ${mains.length}` };
  if (/\bgl_Position\b|\battribute\b/.test(code))
    return { ok: false, reason: "this is a vertex shader, not a fragment shader" };
  if (!/\bgl_FragColor\b|\bout\s+(?:(?:lowp|mediump|highp)\s+)?vec4\b/.test(code))
    return { ok: false, reason: "it never writes a fragment colour" };
  if (/#\s*include\b/.test(code))
    return { ok: false, reason: "#include is not available to WebGL shaders" };
  let depth = 0;
  for (const ch of code) {
    depth += ch === "{" ? 1 : ch === "}" ? -1 : 0;
    if (depth < 0) break;
  }
  if (depth !== 0) return { ok: false, reason: "unbalanced braces" };
  return { ok: true, source };
}

/** Fixes a broken shader without a model can: the commonest WebGL error is a missing precision. */
export function fixLocally(source: string): { source: string; notes: string } {
  const notes: string[] = [];
  let fixed = source;
  const isEs3 = /^\s*#version\s+300\s+es/m.test(fixed);
  // Fragment shaders have no default float precision in either GLSL ES version.
  if (!/\bprecision\s+(lowp|mediump|highp)\s+float\s*;/.test(fixed)) {
    fixed = isEs3
      ? fixed.replace(/^(\s*#version\s+300\s+es[^\n]*\n)/m, "$1precision highp float;\n")
      : `precision mediump float;\n${fixed}`;
    notes.push("added a default float precision");
  }
  if (isEs3 && /\bgl_FragColor\b/.test(fixed)) {
    fixed = fixed.replace(/\bgl_FragColor\b/g, "fragColor");
    if (!/\bout\s+vec4\s+fragColor\b/.test(fixed))
      fixed = fixed.replace(/(precision\s+\w+\s+float\s*;\s*\n)/, "$1out vec4 fragColor;\n");
    notes.push("replaced gl_FragColor (removed in GLSL ES 3.00) with an out variable");
  }
  return {
    source: fixed,
    notes: notes.length ? notes.join("; ") : "no LLM provider configured and no local fix applies",
  };
}
