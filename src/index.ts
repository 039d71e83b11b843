/**
 * trtx: Torch-TensorRT's dynamo exporter in TypeScript. The root module holds what a program needs to export a
 * compiled module: read a `.tgm` (`Tgm`), run the exporter (`Exporter`, or a `Pipeline` of `Pass`es of its
 * own between `Exporter.transform` and `Exporter.toProgram`), write and read `.pt2` (`Pt2`). Each layer has
 * its own entry with all of its public modules: `trtx/graph` (the IR), `trtx/passes`, `trtx/archive`,
 * `trtx/program` and `trtx/engine` (the GPU layer).
 *
 * @since 0.1.0
 */
export * as ArchiveError from "./archive/ArchiveError.ts"
export * as Limits from "./archive/Limits.ts"
export * as Progress from "./archive/zip/Progress.ts"
export * as Pt2 from "./archive/pt2/Pt2.ts"
export * as Tgm from "./archive/tgm/Tgm.ts"
export * as Exporter from "./passes/Exporter.ts"
export * as GraphState from "./passes/GraphState.ts"
export * as Pass from "./passes/Pass.ts"
export * as PassError from "./passes/PassError.ts"
export * as Pipeline from "./passes/Pipeline.ts"
export * as ExportedProgram from "./program/ExportedProgram.ts"
export * as Summary from "./program/Summary.ts"
