// Moves JSON values across the QuickJS boundary for one run, turning ref tokens into opaque
// refs on the way in and back into tokens on the way out. The ref machinery (REF_PRELUDE) is
// compiled only when the first token arrives: most runs never see one, and compiling it costs
// about as much as creating the context. Until then the JSON functions captured before the
// script ran do the work (a script may replace JSON.parse; these handles stay the originals,
// and the prelude gets them too).
import type { QuickJSContext, QuickJSHandle } from "quickjs-emscripten-core";
import { REF_IDS, REF_PRELUDE, REF_VIOLATION } from "./ref-prelude.ts";

type Helper = "revive" | "encode" | "forLog";

export type FromSandbox = { ok: true; text: string | undefined } | { ok: false; error: unknown };

export class SandboxRefs {
  private readonly parse: QuickJSHandle;
  private readonly stringify: QuickJSHandle;
  private readonly keys: QuickJSHandle;
  private readonly isArray: QuickJSHandle;
  private readonly violation: QuickJSHandle;
  private helpers: Record<Helper, QuickJSHandle> | undefined;

  /**
   * `slice` runs a call into QuickJS under the run's CPU accounting; `onViolation(what)` is
   * called when the script misuses a ref, and must end the run.
   */
  constructor(
    private readonly vm: QuickJSContext,
    private readonly slice: <T>(fn: () => T) => T,
    onViolation: (what: string) => void,
  ) {
    const json = vm.getProp(vm.global, "JSON");
    this.parse = vm.getProp(json, "parse");
    this.stringify = vm.getProp(json, "stringify");
    json.dispose();
    const object = vm.getProp(vm.global, "Object");
    this.keys = vm.getProp(object, "keys");
    object.dispose();
    const array = vm.getProp(vm.global, "Array");
    this.isArray = vm.getProp(array, "isArray");
    array.dispose();
    this.violation = vm.newFunction("violation", (whatHandle) => {
      onViolation(vm.getString(whatHandle));
      throw new Error("aborted");
    });
    vm.setProp(vm.global, REF_VIOLATION, this.violation);
    vm.setProp(vm.global, REF_IDS, vm.null);
  }

  /** A JSON text into the sandbox; tokens in it become refs. */
  toSandbox(text: string): QuickJSHandle {
    const helpers = this.helpers ?? (text.includes('"$ref"') ? this.load() : undefined);
    const str = this.vm.newString(text);
    try {
      return this.vm.unwrapResult(this.slice(() => this.vm.callFunction(helpers ? helpers.revive : this.parse, this.vm.undefined, str)));
    } finally {
      str.dispose();
    }
  }

  /**
   * A sandbox value out as JSON text (undefined when it has none). `encode` turns refs into
   * tokens; `forLog` treats any ref as a violation.
   */
  fromSandbox(handle: QuickJSHandle, purpose: "encode" | "forLog"): FromSandbox {
    const fn = this.helpers ? this.helpers[purpose] : this.stringify;
    const result = this.slice(() => this.vm.callFunction(fn, this.vm.undefined, handle));
    if (result.error) {
      const error = this.vm.dump(result.error);
      result.error.dispose();
      return { ok: false, error };
    }
    const text = this.vm.typeof(result.value) === "string" ? this.vm.getString(result.value) : undefined;
    result.value.dispose();
    return { ok: true, text };
  }

  dispose(): void {
    for (const handle of [this.parse, this.stringify, this.keys, this.isArray, this.violation, ...Object.values(this.helpers ?? {})]) handle.dispose();
  }

  private load(): Record<Helper, QuickJSHandle> {
    const { vm } = this;
    const factory = vm.unwrapResult(vm.evalCode(REF_PRELUDE, "auditor-refs.js"));
    const made = vm.unwrapResult(vm.callFunction(factory, vm.undefined, this.violation, this.parse, this.stringify, this.keys, this.isArray));
    factory.dispose();
    const helpers = { revive: vm.getProp(made, "revive"), encode: vm.getProp(made, "encode"), forLog: vm.getProp(made, "forLog") };
    const ids = vm.getProp(made, "ids");
    vm.setProp(vm.global, REF_IDS, ids); // from now on, the equality checks look refs up here
    ids.dispose();
    made.dispose();
    return (this.helpers = helpers);
  }
}
