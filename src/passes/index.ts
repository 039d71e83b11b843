/**
 * `trtx/passes`: the exporter's passes, each an Effect over checked module states, and what composes them.
 *
 * @since 0.1.0
 */
export * as CheckEngines from "./CheckEngines.ts"
export * as Cleanup from "./Cleanup.ts"
export * as DeepCopy from "./DeepCopy.ts"
export * as ExportSignature from "./ExportSignature.ts"
export * as Exporter from "./Exporter.ts"
export * as GraphState from "./GraphState.ts"
export * as InlineTorchModules from "./InlineTorchModules.ts"
export * as InlineTrtModules from "./InlineTrtModules.ts"
export * as Lift from "./Lift.ts"
export * as Pass from "./Pass.ts"
export * as PassError from "./PassError.ts"
export * as Pipeline from "./Pipeline.ts"
export * as ReplaceNoOpPlaceholders from "./ReplaceNoOpPlaceholders.ts"
