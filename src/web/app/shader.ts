// Compiles a fragment shader with the browser's WebGL for the shader tool, and draws one frame of
// it into the preview canvas when it compiles and links: the error log is what fix-shader needs,
// and the preview is shown only for a shader that really runs. No WebGL (some test DOMs, some
// GPUs): says so instead of guessing.

export type CompileResult =
  | { status: "ok" }
  | { status: "error"; log: string }
  | { status: "unavailable"; reason: string };

/**
 * A compiler log fit to show: drivers end it with a NUL (Chromium's does) and may include other
 * control characters; only tabs and line breaks stay.
 */
export function cleanCompilerLog(log: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping them is the job
  return log.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, "").trim();
}

// Two triangles over the whole canvas; the fragment shader decides every pixel.
const VERTEX_100 = "attribute vec2 p;\nvoid main() { gl_Position = vec4(p, 0.0, 1.0); }";
const VERTEX_300 = "#version 300 es\nin vec2 p;\nvoid main() { gl_Position = vec4(p, 0.0, 1.0); }";
const QUAD = new Float32Array([-1, -1, 1, -1, -1, 1, -1, 1, 1, -1, 1, 1]);
/** Uniform names shaders commonly read: time and resolution, in their usual spellings. */
const TIME_UNIFORMS = ["u_time", "time", "iTime", "uTime"];
const RESOLUTION_UNIFORMS = ["u_resolution", "resolution", "iResolution", "uResolution"];

type Gl = WebGLRenderingContext;

function compile(gl: Gl, type: number, source: string): { shader: WebGLShader } | { log: string } {
  const shader = gl.createShader(type);
  if (!shader) return { log: "WebGL could not create a shader" };
  gl.shaderSource(shader, source);
  gl.compileShader(shader);
  if (gl.getShaderParameter(shader, gl.COMPILE_STATUS)) return { shader };
  const log = cleanCompilerLog(gl.getShaderInfoLog(shader) ?? "");
  gl.deleteShader(shader);
  return { log: log || "the shader did not compile" };
}

export function compileFragmentShader(canvas: HTMLCanvasElement, source: string): CompileResult {
  const gl = (canvas.getContext("webgl2") ?? canvas.getContext("webgl")) as Gl | null;
  if (!gl) return { status: "unavailable", reason: "WebGL is not available in this browser" };
  const fragment = compile(gl, gl.FRAGMENT_SHADER, source);
  if ("log" in fragment) return { status: "error", log: fragment.log };
  const es3 = /^\s*#version\s+300\s+es\b/.test(source);
  const vertex = compile(gl, gl.VERTEX_SHADER, es3 ? VERTEX_300 : VERTEX_100);
  if ("log" in vertex) {
    gl.deleteShader(fragment.shader);
    return { status: "unavailable", reason: `WebGL could not build the preview: ${vertex.log}` };
  }
  const program = gl.createProgram();
  if (!program) return { status: "unavailable", reason: "WebGL could not create a program" };
  gl.attachShader(program, vertex.shader);
  gl.attachShader(program, fragment.shader);
  gl.linkProgram(program);
  gl.deleteShader(vertex.shader);
  gl.deleteShader(fragment.shader);
  if (!gl.getProgramParameter(program, gl.LINK_STATUS)) {
    const log = cleanCompilerLog(gl.getProgramInfoLog(program) ?? "");
    gl.deleteProgram(program);
    return { status: "error", log: log || "the shader did not link" };
  }
  draw(gl, program, canvas);
  gl.deleteProgram(program);
  return { status: "ok" };
}

function draw(gl: Gl, program: WebGLProgram, canvas: HTMLCanvasElement): void {
  gl.viewport(0, 0, canvas.width, canvas.height);
  gl.useProgram(program);
  const buffer = gl.createBuffer();
  gl.bindBuffer(gl.ARRAY_BUFFER, buffer);
  gl.bufferData(gl.ARRAY_BUFFER, QUAD, gl.STATIC_DRAW);
  const position = gl.getAttribLocation(program, "p");
  gl.enableVertexAttribArray(position);
  gl.vertexAttribPointer(position, 2, gl.FLOAT, false, 0, 0);
  // Only uniforms the shader declares, with the type it declares them with.
  const count = gl.getProgramParameter(program, gl.ACTIVE_UNIFORMS) as number;
  for (let i = 0; i < count; i++) {
    const info = gl.getActiveUniform(program, i);
    if (!info) continue;
    const at = gl.getUniformLocation(program, info.name);
    if (TIME_UNIFORMS.includes(info.name) && info.type === gl.FLOAT) gl.uniform1f(at, 1.5);
    if (!RESOLUTION_UNIFORMS.includes(info.name)) continue;
    if (info.type === gl.FLOAT_VEC2) gl.uniform2f(at, canvas.width, canvas.height);
    if (info.type === gl.FLOAT_VEC3) gl.uniform3f(at, canvas.width, canvas.height, 1);
  }
  gl.drawArrays(gl.TRIANGLES, 0, 6);
  gl.deleteBuffer(buffer);
}
