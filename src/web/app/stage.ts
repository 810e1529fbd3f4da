// The visual stage: a canvas scene driven by the current prompt. Colour words in the prompt set
// the palette (anything else hashes to hues), mood words set the motion, and each new prompt
// cross-fades in. No external image service: everything is drawn here.

interface Scene {
  hues: number[];
  speed: number;
  density: number;
  seed: number;
}

const COLOR_WORDS: Record<string, number> = {
  red: 0,
  crimson: 350,
  scarlet: 5,
  orange: 28,
  amber: 40,
  gold: 45,
  golden: 45,
  yellow: 55,
  lime: 90,
  green: 120,
  emerald: 140,
  teal: 175,
  cyan: 185,
  turquoise: 175,
  aqua: 185,
  blue: 220,
  azure: 210,
  cobalt: 225,
  indigo: 255,
  violet: 275,
  purple: 285,
  magenta: 310,
  pink: 330,
  rose: 340,
  neon: 300,
  ultraviolet: 270,
  sunset: 20,
  ocean: 200,
  forest: 130,
  fire: 15,
  ice: 195,
};
const FAST = /\b(storm|chaos|explosion|electric|rave|frantic|lightning|fire|dance|neon|glitch)\b/i;
const SLOW = /\b(calm|serene|still|quiet|mist|fog|dream|slow|gentle|soft|drift)\b/i;

function hash(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** What a prompt looks like on stage (pure, so tests can check it). */
export function sceneFor(prompt: string): Scene {
  const words = prompt.toLowerCase().match(/[a-z]+/g) ?? [];
  const named = words.map((w) => COLOR_WORDS[w]).filter((h): h is number => h !== undefined);
  const seed = hash(prompt);
  const hues = [...named];
  for (let i = 0; hues.length < 3; i++) hues.push((seed >>> (i * 7)) % 360);
  return {
    hues: hues.slice(0, 4),
    speed: FAST.test(prompt) ? 2.2 : SLOW.test(prompt) ? 0.4 : 1,
    density: Math.min(90, 24 + words.length * 2),
    seed,
  };
}

export class Stage {
  private current: Scene = sceneFor("");
  private previous: Scene | undefined;
  private changedAt = 0;

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly view: {
      requestAnimationFrame?: (cb: (t: number) => void) => number;
      devicePixelRatio?: number;
    },
  ) {}

  show(prompt: string): void {
    this.previous = this.current;
    this.current = sceneFor(prompt);
    this.changedAt = performance.now();
  }

  start(): void {
    const loop = (t: number) => {
      this.draw(t);
      this.view.requestAnimationFrame?.(loop);
    };
    this.view.requestAnimationFrame?.(loop);
  }

  /** Draws one frame; a canvas without a 2D context (some test DOMs) simply shows nothing. */
  draw(t: number): void {
    const ctx = this.canvas.getContext("2d");
    if (!ctx) return;
    const ratio = this.view.devicePixelRatio ?? 1;
    const width = Math.max(1, Math.floor(this.canvas.clientWidth * ratio));
    const height = Math.max(1, Math.floor(this.canvas.clientHeight * ratio));
    if (this.canvas.width !== width || this.canvas.height !== height) {
      this.canvas.width = width;
      this.canvas.height = height;
    }
    const fade = Math.min(1, (performance.now() - this.changedAt) / 1500);
    ctx.globalAlpha = 1;
    ctx.fillStyle = "#05040a";
    ctx.fillRect(0, 0, width, height);
    if (this.previous && fade < 1) this.paint(ctx, this.previous, t, width, height, 1 - fade);
    this.paint(ctx, this.current, t, width, height, fade);
  }

  private paint(
    ctx: CanvasRenderingContext2D,
    scene: Scene,
    t: number,
    width: number,
    height: number,
    alpha: number,
  ): void {
    const time = (t / 1000) * scene.speed;
    ctx.globalCompositeOperation = "lighter";
    // Large drifting glows, one per hue.
    scene.hues.forEach((hue, i) => {
      const phase = (scene.seed % 97) + i * 2.1;
      const x = width * (0.5 + 0.35 * Math.sin(time * 0.21 + phase));
      const y = height * (0.5 + 0.3 * Math.cos(time * 0.17 + phase * 1.3));
      const r = Math.max(width, height) * (0.35 + 0.1 * Math.sin(time * 0.3 + i));
      const glow = ctx.createRadialGradient(x, y, 0, x, y, r);
      glow.addColorStop(0, `hsla(${hue}, 85%, 60%, ${0.55 * alpha})`);
      glow.addColorStop(1, `hsla(${hue}, 85%, 30%, 0)`);
      ctx.fillStyle = glow;
      ctx.fillRect(0, 0, width, height);
    });
    // Particles orbiting on a seeded field.
    for (let i = 0; i < scene.density; i++) {
      const k = (scene.seed >>> (i % 24)) + i * 131;
      const hue = scene.hues[i % scene.hues.length]!;
      const angle = time * (0.2 + (k % 7) / 20) + k;
      const radius = (0.15 + ((k >>> 3) % 100) / 140) * Math.min(width, height);
      const x = width / 2 + Math.cos(angle) * radius;
      const y = height / 2 + Math.sin(angle * 1.3) * radius * 0.6;
      ctx.fillStyle = `hsla(${hue}, 95%, 70%, ${0.7 * alpha})`;
      ctx.beginPath();
      ctx.arc(x, y, 1.5 + (k % 5), 0, Math.PI * 2);
      ctx.fill();
    }
    ctx.globalCompositeOperation = "source-over";
  }
}
