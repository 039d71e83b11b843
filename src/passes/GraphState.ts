/**
 * The states a module goes through on its way to an exported program, as schemas: a pass decodes its input
 * with the state it requires and its output with the state it ensures, so a broken invariant is caught at
 * the boundary where it appeared, named by the check's message.
 *
 * | state            | what holds                                                                                 |
 * | ---------------- | ------------------------------------------------------------------------------------------ |
 * | `CompiledModule` | a root graph module with an output; its `call_module`s call graph or TensorRT modules       |
 * | `InlinedModule`  | no `call_module` nodes, no TensorRT module left; engines are `get_attr`s or no-op nodes     |
 * | `LiftedModule`   | no `get_attr` of state; placeholders are the lifted inputs in canonical order, then users   |
 * | `ExportedProgram`| the signature matches the graph's placeholders and outputs; state and constants are present |
 *
 * Every check costs O(what it touches): the graph's index finds the nodes concerned (`call_module`s,
 * `get_attr`s, placeholders), so a check never walks the whole graph. The structural invariants of the IR
 * (fx's `lint`) are kept by construction and checked where upstream checks them (inside the passes), and
 * after every pass when {@link LintBetweenPasses} is on, as the test suite runs.
 *
 * @since 0.1.0
 */
import { Context, Schema } from "effect"
import * as Argument from "../graph/Argument.ts"
import { GraphError } from "../graph/GraphError.ts"
import * as Lint from "../graph/Lint.ts"
import * as Module from "../graph/Module.ts"
import type { ScriptObject, Tensor } from "../graph/Tensor.ts"
import * as ExportedProgramModel from "../program/ExportedProgram.ts"
import * as Signature from "../program/Signature.ts"

// ===== Checks =====

/**
 * Lint every pass's output too (fx's `lint`, a full walk): off by default; on where the environment sets
 * `TRTX_LINT_BETWEEN_PASSES=1` (the test suite does, in `vitest.config.ts`), or where it is provided.
 *
 * @since 0.1.0
 * @category services
 */
export const LintBetweenPasses = Context.Reference<boolean>("trtx/LintBetweenPasses", {
  defaultValue: () => globalThis.process?.env?.["TRTX_LINT_BETWEEN_PASSES"] === "1"
})

/**
 * fx's lint of a module's graph, as a message, or undefined.
 *
 * @since 0.1.0
 * @category getters
 */
export const lintMessage = (gm: Module.GraphModule): string | undefined => {
  try {
    Lint.lint(gm.graph)
    Lint.checkUsers(gm.graph)
    return undefined
  } catch (e) {
    if (e instanceof GraphError) return `lint: ${e.detail}`
    throw e
  }
}

/**
 * Why a module is not a compiled module, or undefined.
 *
 * @since 0.1.0
 * @category getters
 */
export const compiledViolation = (gm: Module.GraphModule): string | undefined => {
  if (gm.graph.outputNode === undefined) return "the graph has no output node"
  for (const node of gm.graph.findNodes("call_module", undefined, { sort: false })) {
    const sub = Module.getSubmodule(gm, node.target)
    if (sub === undefined || sub.kind === "module") {
      return `call_module ${node.name} calls ${node.target}, which is neither a graph module nor a TensorRT module`
    }
  }
  return undefined
}

/**
 * Why a module is not inlined, or undefined.
 *
 * @since 0.1.0
 * @category getters
 */
export const inlinedViolation = (gm: Module.GraphModule): string | undefined => {
  if (gm.graph.outputNode === undefined) return "the graph has no output node"
  const call = gm.graph.findNodes("call_module", undefined, { sort: false })[0]
  if (call !== undefined) return `call_module ${call.name} (${call.target}) is still in the graph`
  const trt = trtModulePath(gm, new Set())
  if (trt !== undefined) return `TensorRT module ${trt} is still in the module tree`
  return undefined
}

// The path of the first TensorRT module in pre-order, each module visited once; paths are built only for
// the answer (this runs between passes, on trees of thousands of modules).
const trtModulePath = (mod: Module.Module, seen: Set<Module.Module>): string | undefined => {
  seen.add(mod)
  for (const [name, child] of mod.stateForReading.children) {
    if (seen.has(child)) continue
    if (child.kind === "trt_module") return name
    const below = trtModulePath(child, seen)
    if (below !== undefined) return `${name}.${below}`
  }
  return undefined
}

/**
 * Why a lifted module is not lifted, or undefined.
 *
 * @since 0.1.0
 * @category getters
 */
export const liftedViolation = (lifted: LiftedState): string | undefined => {
  const gm = lifted.module
  const inlined = inlinedViolation(gm)
  if (inlined !== undefined) return inlined
  for (const node of gm.graph.findNodes("get_attr", undefined, { sort: false })) {
    if (Module.getSubmodule(gm, node.target) === undefined) return `get_attr ${node.name} (${node.target}) was not lifted`
  }
  // The lifted inputs are the first placeholders; the rest are user inputs.
  const placeholders = gm.graph.findNodes("placeholder")
  if (placeholders.length < lifted.inputSpecs.length) {
    return `${placeholders.length} placeholders, but ${lifted.inputSpecs.length} lifted inputs`
  }
  let rank = -1
  for (let i = 0; i < lifted.inputSpecs.length; i++) {
    const spec = lifted.inputSpecs[i]!
    const ph = placeholders[i]!
    if (spec.arg.name !== ph.name) return `lifted input ${i} is ${spec.arg.name}, but placeholder ${i} is ${ph.name}`
    const r = Signature.canonicalRank(spec)
    if (r < rank) return `lifted input ${spec.arg.name} (${spec._tag}) is out of canonical order`
    rank = r
    const missing = stateMissing(spec, lifted.stateDict, lifted.constants)
    if (missing !== undefined) return missing
  }
  return undefined
}

// The state a lifted input names must exist, as torch's verifier wants it: the signature rules
// (`Signature.check`), which the `.pt2` reader and writer hold programs to as well.
const stateMissing = (
  spec: Signature.InputSpec,
  stateDict: ReadonlyMap<string, Tensor>,
  constants: ReadonlyMap<string, Tensor | ScriptObject>
): string | undefined => Signature.check({ inputSpecs: [spec], outputSpecs: [] }, { stateDict, constants })?.detail

/**
 * Why a program is not a valid exported program, or undefined: the checks of torch's verifier that concern
 * what the exporter builds.
 *
 * @since 0.1.0
 * @category getters
 */
export const programViolation = (ep: ExportedProgramModel.ExportedProgram): string | undefined => {
  const gm = ep.graphModule
  const placeholders = gm.graph.findNodes("placeholder")
  const specs = ep.graphSignature.inputSpecs
  if (placeholders.length !== specs.length) return `${placeholders.length} placeholders, but ${specs.length} input specs`
  const targets = new Set<string>()
  let sawUser = false
  for (let i = 0; i < specs.length; i++) {
    const spec = specs[i]!
    if (spec.arg.name !== placeholders[i]!.name) return `input spec ${i} names ${spec.arg.name}, but placeholder ${i} is ${placeholders[i]!.name}`
    if (spec._tag === "UserInput") {
      sawUser = true
      continue
    }
    if (spec._tag === "Token") continue
    if (sawUser) return `lifted input ${spec.arg.name} comes after a user input`
    if (targets.has(spec.target)) return `target ${spec.target} is lifted twice`
    targets.add(spec.target)
    const missing = stateMissing(spec, ep.stateDict, ep.constants)
    if (missing !== undefined) return missing
  }
  const call = gm.graph.findNodes("call_module", undefined, { sort: false })[0]
  if (call !== undefined) return `call_module ${call.name} is in the graph`
  for (const node of gm.graph.findNodes("get_attr", undefined, { sort: false })) {
    if (Module.getSubmodule(gm, node.target)?.kind !== "graph_module") {
      return `get_attr ${node.name} (${node.target}) reads state that is not an input`
    }
  }
  const output = gm.graph.outputNode
  if (output === undefined) return "the graph has no output node"
  const result = output.args[0] ?? null
  const elements = Argument.elements(result) ?? [result]
  if (elements.length !== ep.graphSignature.outputSpecs.length) {
    return `${elements.length} outputs, but ${ep.graphSignature.outputSpecs.length} output specs`
  }
  return undefined
}

// ===== States =====

const graphModule = Schema.declare((u): u is Module.GraphModule => u instanceof Module.GraphModule, {
  expected: "a GraphModule"
})

const violationFilter = <T>(check: (t: T) => string | undefined) => Schema.makeFilter<T>((t) => check(t) ?? true)

/**
 * A compiled, partitioned module.
 *
 * @since 0.1.0
 * @category models
 */
export const CompiledModule = graphModule.check(violationFilter(compiledViolation)).pipe(Schema.brand("trtx/CompiledModule"))
/** @since 0.1.0 @category models */
export type CompiledModule = typeof CompiledModule.Type

/**
 * A module whose submodules are all inlined.
 *
 * @since 0.1.0
 * @category models
 */
export const InlinedModule = graphModule.check(violationFilter(inlinedViolation)).pipe(Schema.brand("trtx/InlinedModule"))
/** @since 0.1.0 @category models */
export type InlinedModule = typeof InlinedModule.Type

/**
 * A lifted module: the graph, the lifted inputs (in canonical order, before the user inputs), and the state
 * they stand for.
 *
 * @since 0.1.0
 * @category models
 */
export interface LiftedState {
  readonly module: Module.GraphModule
  readonly inputSpecs: ReadonlyArray<Exclude<Signature.InputSpec, { readonly _tag: "UserInput" }>>
  readonly stateDict: ReadonlyMap<string, Tensor>
  readonly constants: ReadonlyMap<string, Tensor | ScriptObject>
}

const liftedState = Schema.declare(
  (u): u is LiftedState => typeof u === "object" && u !== null && "module" in u && u.module instanceof Module.GraphModule,
  { expected: "a lifted module" }
)

/** @since 0.1.0 @category models */
export const LiftedModule = liftedState.check(violationFilter(liftedViolation)).pipe(Schema.brand("trtx/LiftedModule"))
/** @since 0.1.0 @category models */
export type LiftedModule = typeof LiftedModule.Type

const program = Schema.declare(
  (u): u is ExportedProgramModel.ExportedProgram =>
    typeof u === "object" && u !== null && "graphModule" in u && u.graphModule instanceof Module.GraphModule,
  { expected: "an ExportedProgram" }
)

/** @since 0.1.0 @category models */
export const ExportedProgram = program.check(violationFilter(programViolation)).pipe(Schema.brand("trtx/ExportedProgram"))
/** @since 0.1.0 @category models */
export type ExportedProgram = typeof ExportedProgram.Type

// ===== Getters =====

/**
 * The number of nodes of a state's graph (for span attributes and reports).
 *
 * @since 0.1.0
 * @category getters
 */
export const nodeCount = (state: unknown): number | undefined => moduleOf(state)?.graph.size

/**
 * The graph module of a state.
 *
 * @since 0.1.0
 * @category getters
 */
export const moduleOf = (state: unknown): Module.GraphModule | undefined => {
  if (state instanceof Module.GraphModule) return state
  if (typeof state === "object" && state !== null) {
    if ("module" in state && state.module instanceof Module.GraphModule) return state.module
    if ("graphModule" in state && state.graphModule instanceof Module.GraphModule) return state.graphModule
  }
  return undefined
}
