// Live transcript from the Web Speech API, where the browser has it (Chrome, Edge, Safari).
// Final phrases are handed to `onPhrase`; the caller keeps the transcript. The browser ends a
// session now and then (silence, a time limit): listening resumes by itself. Any other error
// (microphone refused, no microphone, no speech service) stops listening for good and is
// reported once: restarting would only fail again, as fast as the browser can.

interface RecognitionResult {
  isFinal: boolean;
  0: { transcript: string };
}
interface Recognition {
  continuous: boolean;
  interimResults: boolean;
  lang: string;
  onresult:
    | ((event: { resultIndex: number; results: ArrayLike<RecognitionResult> }) => void)
    | null;
  onerror: ((event: { error: string }) => void) | null;
  onend: (() => void) | null;
  start(): void;
  stop(): void;
}
type RecognitionConstructor = new () => Recognition;

export function speechSupported(view: object): boolean {
  return recognitionClass(view) !== undefined;
}

function recognitionClass(view: object): RecognitionConstructor | undefined {
  const v = view as {
    SpeechRecognition?: RecognitionConstructor;
    webkitSpeechRecognition?: RecognitionConstructor;
  };
  return v.SpeechRecognition ?? v.webkitSpeechRecognition;
}

/** The only error that is part of listening: silence. The session ends and listening resumes. */
const TRANSIENT = new Set(["no-speech"]);

const OR_TYPE = "or type the transcript instead.";

/** What to tell a person for each fatal error (SpeechRecognitionErrorEvent.error). */
export function speechErrorMessage(error: string): string {
  switch (error) {
    case "not-allowed":
    case "service-not-allowed":
      return (
        "The microphone is blocked for this page. Allow it in the browser's site settings, " +
        `then press Retry, ${OR_TYPE}`
      );
    case "audio-capture":
      return `No microphone was found. Connect one, then press Retry, ${OR_TYPE}`;
    case "network":
      return (
        "The browser's speech recognition service could not be reached. Check the connection, " +
        `then press Retry, ${OR_TYPE}`
      );
    case "language-not-supported":
      return `Speech recognition does not support this language here: ${OR_TYPE}`;
    default:
      return `Listening stopped (${error}). Press Retry to listen again, ${OR_TYPE}`;
  }
}

/**
 * Starts listening; returns a stop function. `onFatal` is called at most once, after listening
 * has stopped for good; calling stop() afterwards is harmless.
 */
export function listen(
  view: object,
  onPhrase: (text: string) => void,
  onFatal: (message: string) => void,
): () => void {
  const Klass = recognitionClass(view);
  if (!Klass) throw new Error("speech recognition is not available in this browser");
  const recognition = new Klass();
  recognition.continuous = true;
  recognition.interimResults = false;
  recognition.lang = "en-US";
  let stopped = false;
  recognition.onresult = (event) => {
    for (let i = event.resultIndex; i < event.results.length; i++) {
      const result = event.results[i]!;
      if (result.isFinal) onPhrase(result[0].transcript.trim());
    }
  };
  recognition.onerror = (event) => {
    if (stopped || TRANSIENT.has(event.error)) return;
    stopped = true;
    onFatal(speechErrorMessage(event.error));
  };
  recognition.onend = () => {
    if (!stopped) recognition.start();
  };
  recognition.start();
  return () => {
    if (stopped) return;
    stopped = true;
    recognition.stop();
  };
}
