// Live transcript from the Web Speech API, where the browser has it (Chrome, Edge, Safari).
// Final phrases are handed to `onPhrase`; the caller keeps the transcript.

interface RecognitionResult {
  isFinal: boolean;
  0: { transcript: string };
}
interface Recognition {
  continuous: boolean;
  interimResults: boolean;
  lang: string;
  onresult: ((event: { resultIndex: number; results: ArrayLike<RecognitionResult> }) => void) | null;
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
  const v = view as { SpeechRecognition?: RecognitionConstructor; webkitSpeechRecognition?: RecognitionConstructor };
  return v.SpeechRecognition ?? v.webkitSpeechRecognition;
}

/** Starts listening; returns a stop function. Restarts itself when the browser ends a session. */
export function listen(view: object, onPhrase: (text: string) => void, onError: (message: string) => void): () => void {
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
    if (event.error !== "no-speech") onError(`microphone: ${event.error}`);
  };
  recognition.onend = () => {
    if (!stopped) recognition.start();
  };
  recognition.start();
  return () => {
    stopped = true;
    recognition.stop();
  };
}
