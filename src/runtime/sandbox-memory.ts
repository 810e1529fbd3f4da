// Memory for the QuickJS sandboxes of one thread, enforced where it is actually taken: the
// WebAssembly memory all runs of the thread share. QuickJS's own limit cannot be trusted here:
// compiled to WebAssembly it counts 8 bytes per allocated block (it has no malloc_usable_size),
// so a "32 MiB" run could hold any number of 20 MB strings. Every growth of the memory goes
// through `grow` below, while exactly one run is executing on this thread (runs take turns in
// slices), so the growth is that run's: it is refused (the allocation fails, QuickJS raises out
// of memory) when it would take the run past its memoryBytes, or the whole server past its
// memory budget. Emscripten retries smaller growth steps when one is refused, so a run near its
// limit gets exactly the growth it needs if that fits. Memory freed by one run and reused by
// another is not charged again: the charge is the memory the run made this thread take.
import {
  newQuickJSWASMModuleFromVariant,
  newVariant,
  type QuickJSWASMModule,
} from "quickjs-emscripten-core";
import variant from "@jitl/quickjs-singlefile-mjs-release-sync";

const PAGE = 65_536;
/** Emscripten's QuickJS starts with 16 MiB and can grow to 2 GiB (its build's maximum). */
const INITIAL_PAGES = 256;
const MAXIMUM_PAGES = 32_768;

/** Why a growth was refused; the run reports it as its failure code. */
export type MemoryRefusal = "memory_limit" | "memory_budget";

/** The server-wide budget as one thread sees it (see MemoryBudget). */
export interface BudgetView {
  /** May this thread's memory grow to `bytes` in total? */
  allows(bytes: number): boolean;
  /** This thread's memory is now `bytes`. */
  report(bytes: number): void;
}

/** One run's share: what it made the thread grow, against its limit. */
export class RunMemory {
  grown = 0;
  refused: MemoryRefusal | undefined;
  constructor(readonly limitBytes: number) {}
}

export class SandboxMemory {
  readonly memory = new WebAssembly.Memory({ initial: INITIAL_PAGES, maximum: MAXIMUM_PAGES });
  /** The run executing now (set for the length of each slice). */
  current: RunMemory | undefined;
  private module: Promise<QuickJSWASMModule> | undefined;

  constructor(private readonly budget?: BudgetView) {
    const grow = this.memory.grow.bind(this.memory);
    // Emscripten calls `grow` on the memory object it was given, so this own property is the
    // one choke point for every byte the sandboxes take.
    Object.defineProperty(this.memory, "grow", {
      value: (pages: number) => {
        const bytes = pages * PAGE;
        const total = this.memory.buffer.byteLength + bytes;
        const run = this.current;
        if (run && run.grown + bytes > run.limitBytes) {
          run.refused ??= "memory_limit";
          throw new RangeError("the run's memory limit");
        }
        if (this.budget && !this.budget.allows(total)) {
          if (run) run.refused ??= "memory_budget";
          throw new RangeError("the server's memory budget");
        }
        const previous = grow(pages);
        if (run) run.grown += bytes;
        this.budget?.report(this.memory.buffer.byteLength);
        return previous;
      },
    });
    this.budget?.report(this.memory.buffer.byteLength);
  }

  get bytes(): number {
    return this.memory.buffer.byteLength;
  }

  /** The QuickJS WebAssembly module on this memory, made once. */
  quickjs(): Promise<QuickJSWASMModule> {
    return (this.module ??= newQuickJSWASMModuleFromVariant(
      newVariant(variant, { wasmMemory: this.memory }),
    ));
  }
}

let threadMemory: SandboxMemory | undefined;
let threadBudget: BudgetView | undefined;

/** This thread's sandbox memory (a worker configures its budget view first). */
export function sandboxMemory(): SandboxMemory {
  return (threadMemory ??= new SandboxMemory(threadBudget));
}

export function configureSandboxMemory(budget: BudgetView): void {
  threadBudget = budget;
  threadMemory = undefined;
}

/**
 * After a failed teardown (QuickJS asserts on leaked objects, then refuses further use) the
 * module is abandoned with its memory; the next run starts on fresh ones.
 */
export function discardSandboxMemory(): void {
  threadMemory = undefined;
}
