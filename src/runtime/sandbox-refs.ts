// Moves JSON values across the QuickJS boundary for one run, turning ref tokens into opaque
// refs on the way in and back into tokens on the way out. The ref machinery (REF_PRELUDE) is
// compiled only when the first token arrives: most runs never see one, and compiling it costs
// about as much as creating the context. Until then the JSON functions the lockdown captured
// before the script ran do the work (a script cannot replace them: JSON is frozen, and these
// handles are the originals anyway). Every call runs inside the run's accounted slice.
import type { QuickJSContext, QuickJSHandle } from "quickjs-emscripten-core";
import { REF_PRELUDE } from "./ref-prelude.ts";

type Helper = "revive" | "encode" | "forLog";

export type FromSandbox =
  | { ok: true; text: string | undefined }
  | { ok: false; error: QuickJSHandle };

export class SandboxRefs {
  private readonly parse: QuickJSHandle;
  private readonly stringify: QuickJSHandle;
  private helpers: Record<Helper, QuickJSHandle> | undefined;

  /**
   * `slice` runs a call into QuickJS under the run's accounting; `captured` is what the
   * lockdown returned; `violation` is the host function that ends the run with ref_access.
   */
  constructor(
    private readonly vm: QuickJSContext,
    private readonly slice: <T>(fn: () => T) => T,
    private readonly captured: QuickJSHandle,
    private readonly violation: QuickJSHandle,
  ) {
    this.parse = vm.getProp(captured, "parse");
    this.stringify = vm.getProp(captured, "stringify");
  }

  /** A JSON text into the sandbox; tokens in it become refs. */
  toSandbox(text: string): QuickJSHandle {
    const helpers = this.helpers ?? (text.includes('"$ref"') ? this.load() : undefined);
    const str = this.vm.newString(text);
    try {
      const fn = helpers ? helpers.revive : this.parse;
      return this.vm.unwrapResult(
        this.slice(() => this.vm.callFunction(fn, this.vm.undefined, str)),
      );
    } finally {
      str.dispose();
    }
  }

  /**
   * A sandbox value out as JSON text (undefined when it has none). `encode` turns refs into
   * tokens; `forLog` treats any ref as a violation. A throw comes back as the error's handle,
   * for the caller to describe and dispose.
   */
  fromSandbox(handle: QuickJSHandle, purpose: "encode" | "forLog"): FromSandbox {
    const fn = this.helpers ? this.helpers[purpose] : this.stringify;
    const result = this.slice(() => this.vm.callFunction(fn, this.vm.undefined, handle));
    if (result.error) return { ok: false, error: result.error };
    const text =
      this.vm.typeof(result.value) === "string" ? this.vm.getString(result.value) : undefined;
    result.value.dispose();
    return { ok: true, text };
  }

  dispose(): void {
    for (const handle of [this.parse, this.stringify, ...Object.values(this.helpers ?? {})])
      handle.dispose();
  }

  private load(): Record<Helper, QuickJSHandle> {
    const { vm } = this;
    const made = this.slice(() => {
      const factory = vm.unwrapResult(vm.evalCode(REF_PRELUDE, "auditor-refs.js"));
      try {
        return vm.unwrapResult(
          vm.callFunction(factory, vm.undefined, this.violation, this.captured),
        );
      } finally {
        factory.dispose();
      }
    });
    const helpers = {
      revive: vm.getProp(made, "revive"),
      encode: vm.getProp(made, "encode"),
      forLog: vm.getProp(made, "forLog"),
    };
    made.dispose();
    return (this.helpers = helpers);
  }
}
