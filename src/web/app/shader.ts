// Compiles a fragment shader with the browser's WebGL, for the shader tool: the error log is
// what fix-shader needs. No WebGL (some test DOMs, some GPUs): says so instead of guessing.

export type CompileResult = { ok: true } | { ok: false; log: string };

export function compileFragmentShader(canvas: HTMLCanvasElement, source: string): CompileResult {
  const gl = (canvas.getContext("webgl2") ?? canvas.getContext("webgl")) as WebGLRenderingContext | null;
  if (!gl) return { ok: false, log: "WebGL is not available in this browser" };
  const shader = gl.createShader(gl.FRAGMENT_SHADER);
  if (!shader) return { ok: false, log: "WebGL could not create a shader" };
  gl.shaderSource(shader, source);
  gl.compileShader(shader);
  const ok = gl.getShaderParameter(shader, gl.COMPILE_STATUS) as boolean;
  const log = gl.getShaderInfoLog(shader) ?? "";
  gl.deleteShader(shader);
  return ok ? { ok: true } : { ok: false, log: log || "the shader did not compile" };
}
