/**
 * An exported program: torch.export's `ExportedProgram` (`torch/export/exported_program.py`) as the
 * exporter builds it: the lifted graph module, its signature, the weights (state dict), the constants
 * (constant tensors, non-persistent buffers and custom objects such as TensorRT engines), the range of every
 * symbol, and the module call graph.
 *
 * @since 0.1.0
 */
import type { GraphModule } from "../graph/Module.ts"
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
}

/**
 * Builds an exported program.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (program: ExportedProgram): ExportedProgram => program

/**
 * The graph of a program.
 *
 * @since 0.1.0
 * @category getters
 */
export const graph = (program: ExportedProgram) => program.graphModule.graph
