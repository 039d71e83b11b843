/**
 * `trtx/program`: the exported program, its signature, the TensorRT engine records and the operator schemas
 * trtx knows.
 *
 * @since 0.1.0
 */
export * as EngineRecord from "./EngineRecord.ts"
export * as EngineRecordError from "./EngineRecordError.ts"
export * as ExportedProgram from "./ExportedProgram.ts"
export * as KnownSchemas from "./KnownSchemas.ts"
export * as Signature from "./Signature.ts"
export * as Summary from "./Summary.ts"
export * as Targets from "./Targets.ts"
