/**
 * The exporter: upstream `transform` and `export` (`torch_tensorrt/dynamo/_exporter.py`) as pipelines of
 * passes, and the load side of cross-compiled programs.
 *
 * | upstream                       | trtx                                                                 |
 * | ------------------------------ | -------------------------------------------------------------------- |
 * | `transform(gm, cross)`         | `transform({ crossCompile })`: deepCopy, inlineTrtModules, inlineTorchModules, cleanup |
 * | `create_trt_exp_program(gm)`   | `toProgram`: lift, createExportedProgram                             |
 * | `export(gm, cross)`            | `exportProgram({ crossCompile })` = `transform` then `toProgram`     |
 * | `replace_execute_engine_no_op_node(ep)` | `load(ep)`, optionally after a GPU check (`{ check }`)      |
 *
 * The pipelines are values: insert a pass of your own between `transform` and `toProgram` with
 * `Pipeline.andThen`.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import type { GraphModule } from "../graph/Module.ts"
import type { ExportedProgram } from "../program/ExportedProgram.ts"
import { cleanup } from "./Cleanup.ts"
import { deepCopy } from "./DeepCopy.ts"
import { createExportedProgram } from "./ExportSignature.ts"
import { inlineTorchModules } from "./InlineTorchModules.ts"
import { inlineTrtModules } from "./InlineTrtModules.ts"
import type * as GraphState from "./GraphState.ts"
import { lift } from "./Lift.ts"
import type * as Pass from "./Pass.ts"
import type { PassError } from "./PassError.ts"
import * as Pipeline from "./Pipeline.ts"
import { replaceNoOpPlaceholders } from "./ReplaceNoOpPlaceholders.ts"

/**
 * Export options.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Pack engines into no-op placeholder nodes (to be turned back into engines at load time). */
  readonly crossCompile?: boolean
}

/**
 * Upstream `transform`: a compiled module in, the inlined module out.
 *
 * @since 0.1.0
 * @category passes
 */
export const transform = (options?: Options): Pipeline.Pipeline<GraphState.CompiledModule, GraphState.InlinedModule> => {
  return Pipeline.make(deepCopy).pipe(
    Pipeline.andThen(inlineTrtModules(options)),
    Pipeline.andThen(inlineTorchModules),
    Pipeline.andThen(cleanup)
  )
}

/**
 * Upstream `create_trt_exp_program`: an inlined module in, the exported program out.
 *
 * @since 0.1.0
 * @category passes
 */
export const toProgram: Pipeline.Pipeline<GraphState.InlinedModule, GraphState.ExportedProgram> = Pipeline.make(lift).pipe(
  Pipeline.andThen(createExportedProgram)
)

/**
 * Upstream `export`: `transform` then `toProgram`.
 *
 * @since 0.1.0
 * @category passes
 */
export const exportProgram = (options?: Options): Pipeline.Pipeline<GraphState.CompiledModule, GraphState.ExportedProgram> =>
  transform(options).pipe(Pipeline.andThen(toProgram))

/**
 * Runs a pipeline that starts from a compiled module on a module read from an archive: the module is made a
 * `CompiledModule` first, and one that is not fails as the first pass's input.
 *
 * @since 0.1.0
 * @category combinators
 */
export const run = <O extends GraphState.GraphState, R>(
  pipeline: Pipeline.Pipeline<GraphState.CompiledModule, O, R>,
  module: GraphModule
): Effect.Effect<O, PassError, R> =>
  Pipeline.makeInput(pipeline, module).pipe(Effect.flatMap((input) => Pipeline.run(pipeline, input, { checked: true })))

/**
 * {@link run}, returning with the output what each pass did (`Pipeline.runWithReport`).
 *
 * @since 0.1.0
 * @category combinators
 */
export const runWithReport = <O extends GraphState.GraphState, R>(
  pipeline: Pipeline.Pipeline<GraphState.CompiledModule, O, R>,
  module: GraphModule
): Effect.Effect<{ readonly output: O; readonly reports: ReadonlyArray<Pass.PassReport> }, PassError, R> =>
  Pipeline.makeInput(pipeline, module).pipe(Effect.flatMap((input) => Pipeline.runWithReport(pipeline, input, { checked: true })))

/**
 * Exports a compiled module (never changed: the first pass copies it).
 *
 * @since 0.1.0
 * @category combinators
 */
export const exportModule = (module: GraphModule, options?: Options): Effect.Effect<ExportedProgram, PassError> =>
  run(exportProgram(options), module)

/**
 * Load options.
 *
 * @since 0.1.0
 * @category models
 */
export interface LoadOptions<R> {
  /**
   * A pass run first, which sees every engine record before any is put back: `checkEngines`
   * (`src/passes/CheckEngines.ts`) checks them against the local GPU.
   */
  readonly check?: Pass.Pass<GraphState.ExportedProgram, GraphState.ExportedProgram, R>
}

/**
 * The load side of a cross-compiled program: engines back in place, lifted.
 *
 * @since 0.1.0
 * @category combinators
 */
export const load = <R = never>(program: ExportedProgram, options?: LoadOptions<R>): Effect.Effect<ExportedProgram, PassError, R> => {
  const pipeline = options?.check === undefined
    ? Pipeline.make(replaceNoOpPlaceholders)
    : Pipeline.make(options.check).pipe(Pipeline.andThen(replaceNoOpPlaceholders))
  return Pipeline.makeInput(pipeline, program).pipe(Effect.flatMap((input) => Pipeline.run(pipeline, input, { checked: true })))
}
