/**
 * An exported program: torch.export's `ExportedProgram` (`torch/export/exported_program.py`) as the
 * exporter builds it: the lifted graph module, its signature, the weights (state dict), the constants
 * (constant tensors, non-persistent buffers and custom objects such as TensorRT engines), the range of every
 * symbol, and the module call graph.
 *
 * @since 0.1.0
 */
import type { GraphModule } from "../graph/Module.ts"
import type { OpSchemas } from "../graph/OpSchema.ts"
import type { ScriptObject, Tensor } from "../graph/Tensor.ts"
import type { GraphSignature, ModuleCallEntry, RangeConstraint } from "./Signature.ts"

/**
 * An exported program. Parameters are the state-dict entries named by a `Parameter` input spec.
 *
 * @since 0.1.0
 * @category models
 */
export interface ExportedProgram {
  readonly graphModule: GraphModule
  readonly graphSignature: GraphSignature
  /** Parameters and persistent buffers, by FQN. */
  readonly stateDict: ReadonlyMap<string, Tensor>
  /** Constant tensors, non-persistent buffers and custom objects, by FQN. */
  readonly constants: ReadonlyMap<string, Tensor | ScriptObject>
  readonly rangeConstraints: ReadonlyMap<string, RangeConstraint>
  readonly moduleCallGraph: ReadonlyArray<ModuleCallEntry>
  /**
   * The schemas of the operators the program calls, where they are not trtx's built-in ones
   * (`KnownSchemas`) or differ from them: those a compiled module carried, or, for a program read from a
   * `.pt2`, those its own nodes spell out. The writer takes an operator's schema from here first.
   */
  readonly opSchemas: OpSchemas
  /**
   * The dialects the program is in (`ExportedProgram.verifiers`): `["ATEN"]` for what the exporter makes,
   * `["TRAINING"]` for a fresh `torch.export.export`; torch's loader checks the graph against them.
   */
  readonly verifiers: ReadonlyArray<string>
  /** The guards torch turns into the loaded module's input checks (`_guards_code`). */
  readonly guardsCode: ReadonlyArray<string>
  /** The program's graph module metadata as its archive holds it (`{"custom": <json>}`), strings kept as read. */
  readonly metadata: Readonly<Record<string, string>>
}

/**
 * What the exporter's programs declare: the ATEN dialect, no guards, no metadata.
 *
 * @since 0.1.0
 * @category constructors
 */
export const defaults = { verifiers: ["ATEN"], guardsCode: [], metadata: {} } as const

/**
 * Builds an exported program; what is not given is as {@link defaults} says (and no operator schemas of its
 * own).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  program:
    & Omit<ExportedProgram, "opSchemas" | "verifiers" | "guardsCode" | "metadata">
    & Partial<Pick<ExportedProgram, "opSchemas" | "verifiers" | "guardsCode" | "metadata">>
): ExportedProgram => ({
  ...defaults,
  ...program,
  opSchemas: program.opSchemas ?? new Map()
})

/**
 * The graph of a program.
 *
 * @since 0.1.0
 * @category getters
 */
export const graph = (program: ExportedProgram) => program.graphModule.graph
