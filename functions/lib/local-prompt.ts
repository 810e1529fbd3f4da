// The offline composer generate-prompt answers with when no LLM key is configured. It follows the
// seed's VJ instructions in spirit: no instruction builds the scene from the transcript; evolve
// keeps the previous scene and shifts its details; jump moves to a new scene; remix keeps the
// subject and changes the style. A prompt reads "<scene>, <light>, <atmosphere>, <camera>,
// <style tags>, <medium>", so the previous prompt's scene is its first comma-separated part.
// Choices vary from call to call yet repeat exactly for the same session and call: they come
// from a hash of the session id and the prompts stored before the call (not a secret: anyone
// holding the session id can read those prompts anyway).

export type VjMove = "evolve" | "jump" | "remix";

export interface LocalPromptInput {
  sessionId: string;
  transcript: string;
  styleTags: string;
  /** The session's stored prompts, newest first ("" for empty slots). */
  recentPrompts: string[];
  vj: VjMove | null;
}

const LIGHT = [
  "golden hour light",
  "neon rim lighting",
  "soft volumetric light",
  "moonlit glow",
  "bioluminescent shimmer",
  "stark chiaroscuro",
  "pastel dawn light",
  "strobing laser beams",
  "candlelit warmth",
  "iridescent haze",
];
const ATMOSPHERE = [
  "drifting fog",
  "floating dust motes",
  "light rain",
  "swirling aurora",
  "falling petals",
  "rising embers",
  "shimmering heat haze",
  "soft snowfall",
  "ribbons of mist",
  "crackling static",
];
const CAMERA = [
  "wide-angle shot",
  "low-angle view",
  "aerial view",
  "macro close-up",
  "slow dolly shot",
  "symmetrical framing",
  "fisheye lens",
  "telephoto compression",
];
const MEDIUM = [
  "cinematic photograph",
  "oil painting",
  "watercolor",
  "ukiyo-e woodblock print",
  "synthwave digital art",
  "charcoal sketch",
  "stained glass",
  "claymation",
  "art nouveau poster",
  "low-poly 3D render",
  "double exposure photograph",
  "vaporwave collage",
];
const SCENES = [
  "a floating archipelago above the clouds",
  "a neon desert highway at midnight",
  "an underwater cathedral",
  "a crystal cave lit from within",
  "a rain-soaked megacity rooftop",
  "an endless mirror lake at dusk",
  "a forest of giant glowing mushrooms",
  "a derelict space station orbiting a gas giant",
  "a sunflower field under twin moons",
  "a labyrinth of paper lanterns",
  "a frozen waterfall in the arctic night",
  "a carnival on the rings of Saturn",
];
const FALLBACK_SCENE = "an abstract dreamscape of light and color";

export const MAX_PROMPT_CHARS = 300;
/** The scene keeps the transcript's last words, as a VJ follows the room's latest lines. */
const SCENE_WORDS = 24;
/** 140 + light + style tags + medium, with separators, stays within the 300 characters. */
const MAX_SCENE_CHARS = 140;
const MAX_STYLE_CHARS = 100;

const STOP_WORDS = new Set([
  "the",
  "and",
  "with",
  "from",
  "into",
  "over",
  "under",
  "this",
  "that",
  "then",
  "than",
  "them",
  "they",
  "their",
  "there",
  "what",
  "when",
  "where",
  "while",
  "about",
  "just",
  "like",
  "some",
]);

/** The words that make a scene what it is: four letters or more, not filler. */
export function sceneWords(text: string): string[] {
  const words = text.toLowerCase().match(/[\p{L}\p{N}]{4,}/gu) ?? [];
  return [...new Set(words.filter((w) => !STOP_WORDS.has(w)))];
}

/** The scene of a prompt: its first comma-separated part. */
export const sceneOf = (prompt: string) => prompt.split(",")[0]!.trim();

/** FNV-1a over UTF-16 code units, then a multiply-xorshift: every input bit reaches the low bits. */
function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  h = Math.imul(h ^ (h >>> 16), 0x45d9f3b);
  return (h ^ (h >>> 16)) >>> 0;
}

/** A deterministic stream of choices from one seed: draw n is the hash of (seed, n). */
class Choices {
  private drawn = 0;
  constructor(private readonly seed: string) {}

  /** One of `items`, avoiding those `avoid` rejects unless nothing else is left. */
  pick(items: readonly string[], avoid: (item: string) => boolean = () => false): string {
    const allowed = items.filter((item) => !avoid(item));
    const pool = allowed.length ? allowed : items;
    return pool[hash32(`${this.seed}\u0000${this.drawn++}`) % pool.length]!;
  }
}

const clip = (text: string, max: number) =>
  text.length <= max ? text : text.slice(0, max).replace(/\s+\S*$/, "");

function transcriptScene(transcript: string): string {
  const words = transcript.replace(/[,;]+/g, " ").replace(/\s+/g, " ").trim().split(" ");
  return clip(words.slice(-SCENE_WORDS).join(" "), MAX_SCENE_CHARS);
}

export function composeLocalPrompt(input: LocalPromptInput): string {
  const stored = input.recentPrompts.filter(Boolean);
  const previous = stored[0] ?? "";
  const choose = new Choices(`${input.sessionId}\u0000${stored.length}\u0000${previous}`);
  const used = (list: readonly string[]) => list.find((item) => previous.includes(item));
  const fromTranscript = transcriptScene(input.transcript);
  const previousScene = previous ? sceneOf(previous) : "";
  const previousWords = new Set(sceneWords(previousScene));
  const sharesScene = (item: string) => sceneWords(item).some((w) => previousWords.has(w));

  let scene: string;
  let light: string;
  let atmosphere: string;
  let camera: string;
  let medium: string;
  switch (input.vj) {
    case "evolve":
      // The same scene and look; the light and the air around it shift.
      scene = previousScene || fromTranscript || FALLBACK_SCENE;
      light = choose.pick(LIGHT, (l) => l === used(LIGHT));
      atmosphere = choose.pick(ATMOSPHERE, (a) => a === used(ATMOSPHERE));
      camera = used(CAMERA) ?? choose.pick(CAMERA);
      medium = used(MEDIUM) ?? choose.pick(MEDIUM);
      break;
    case "jump":
      // Somewhere else entirely: nothing of the previous scene, in words or details.
      scene = choose.pick(SCENES, (s) => sharesScene(s) || previous.includes(s));
      light = choose.pick(LIGHT, (l) => sharesScene(l) || l === used(LIGHT));
      atmosphere = choose.pick(ATMOSPHERE, (a) => sharesScene(a) || a === used(ATMOSPHERE));
      camera = choose.pick(CAMERA, (c) => sharesScene(c) || c === used(CAMERA));
      medium = choose.pick(MEDIUM, sharesScene);
      break;
    case "remix":
      // The same subject in another style: a new medium and a new light.
      scene = previousScene || fromTranscript || FALLBACK_SCENE;
      light = choose.pick(LIGHT, (l) => l === used(LIGHT));
      atmosphere = used(ATMOSPHERE) ?? choose.pick(ATMOSPHERE);
      camera = choose.pick(CAMERA);
      medium = choose.pick(MEDIUM, (m) => m === used(MEDIUM));
      break;
    default:
      scene = fromTranscript || previousScene || FALLBACK_SCENE;
      light = choose.pick(LIGHT);
      atmosphere = choose.pick(ATMOSPHERE);
      camera = choose.pick(CAMERA);
      medium = choose.pick(MEDIUM);
  }
  const style = clip(input.styleTags.replace(/\s+/g, " ").trim(), MAX_STYLE_CHARS);
  const parts = [scene, light, atmosphere, camera, style, medium].filter(Boolean);
  // Over the limit, the camera goes first, then the atmosphere: scene, light and style stay.
  for (const optional of [camera, atmosphere]) {
    if (parts.join(", ").length <= MAX_PROMPT_CHARS) break;
    parts.splice(parts.indexOf(optional), 1);
  }
  return clip(parts.join(", "), MAX_PROMPT_CHARS).replace(/[\s,]+$/, "");
}
