/**
 * The states a module goes through on its way to an exported program: one tagged union, each state made
 * only by its class's `make`, which checks its invariants. A pass names the state it requires and the one
 * it ensures; `Pass.apply` checks its input and makes its output, so a broken invariant is caught at the
 * boundary where it appeared, named by the check's message.
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
import { Context, Effect, Schema } from "effect"
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
export const liftedViolation = (lifted: Lifted): string | undefined => {
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

/**
 * Why a value could not be made a state: which state, and the invariant it breaks.
 *
 * @since 0.1.0
 * @category errors
 */
export class StateError extends Schema.TaggedError<StateError>()("StateError", {
  state: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `not ${/^[AEIOU]/.test(this.state) ? "an" : "a"} ${this.state}: ${this.detail}`
  }
}

/**
 * What each state is made of, by its tag: what a pass's run returns, and what the state's `make` checks.
 *
 * @since 0.1.0
 * @category models
 */
export interface Parts {
  readonly CompiledModule: Module.GraphModule
  readonly InlinedModule: Module.GraphModule
  readonly LiftedModule: Lifted
  readonly ExportedProgram: ExportedProgramModel.ExportedProgram
}

/**
 * What a lifted module is made of: the graph, the lifted inputs (in canonical order, before the user
 * inputs), and the state they stand for.
 *
 * @since 0.1.0
 * @category models
 */
export interface Lifted {
  readonly module: Module.GraphModule
  readonly inputSpecs: ReadonlyArray<Exclude<Signature.InputSpec, { readonly _tag: "UserInput" }>>
  readonly stateDict: ReadonlyMap<string, Tensor>
  readonly constants: ReadonlyMap<string, Tensor | ScriptObject>
}

/**
 * A module's state on its way to an exported program. Each is a class whose constructor is private: a state
 * is made only by its `make`, which checks its invariants, so a value of a state's type was checked when it
 * was made. Making a state of a state of the same kind checks it again and returns it, so a pass that
 * returns its input unchanged returns the same object. A state holds its module as it is; a pass that
 * changes the module leaves the states made of it before behind, which is why `Pass.apply` checks its input
 * again (`violation`) unless the previous pass of a pipeline has just made it.
 *
 * @since 0.1.0
 * @category models
 */
export type GraphState = CompiledModule | InlinedModule | LiftedModule | ExportedProgram

/**
 * What a state of type `S` is made of.
 *
 * @since 0.1.0
 * @category models
 */
export type PartsOf<S extends GraphState> = Parts[S["_tag"]]

/**
 * A state's class, as a pass names it in `requires` and `ensures`: its tag, its checking constructor, its
 * guard, and its check of a state made earlier.
 *
 * @since 0.1.0
 * @category models
 */
export interface Kind<S extends GraphState> {
  readonly tag: S["_tag"]
  readonly make: (parts: PartsOf<S>) => Effect.Effect<S, StateError>
  readonly is: (u: unknown) => u is S
  readonly violation: (state: S) => string | undefined
}

// Checked when the Effect runs, not when it is built: the module may change in between.
const made = <S>(state: string, violation: () => string | undefined, make: () => S): Effect.Effect<S, StateError> =>
  Effect.suspend(() => {
    const detail = violation()
    return detail === undefined ? Effect.succeed(make()) : Effect.fail(new StateError({ state, detail }))
  })

// A value typed by the caller may still be anything at run time (a user's JavaScript, a cast): what it is
// made of is checked to be of the right kind before its invariants are.
const shapeViolation = (ok: boolean, expected: string, u: unknown): string | undefined =>
  ok ? undefined : `expected ${expected}, got ${describe(u)}`

const describe = (u: unknown): string =>
  u === null ? "null" : typeof u !== "object" ? typeof u : (u.constructor?.name ?? "an object")

const holdsGraphModule = (u: unknown, key: string): boolean =>
  typeof u === "object" && u !== null && key in u && (u as Record<string, unknown>)[key] instanceof Module.GraphModule

/**
 * A compiled, partitioned module: a root graph module with an output, whose `call_module`s call graph
 * modules or TensorRT modules.
 *
 * @since 0.1.0
 * @category models
 */
export class CompiledModule {
  static readonly tag = "CompiledModule"
  readonly _tag = "CompiledModule"
  readonly #checked = true
  readonly module: Module.GraphModule
  private constructor(module: Module.GraphModule) {
    this.module = module
  }
  static is(u: unknown): u is CompiledModule {
    return typeof u === "object" && u !== null && #checked in u
  }
  static make(module: Module.GraphModule): Effect.Effect<CompiledModule, StateError> {
    const violation = () => shapeViolation(module instanceof Module.GraphModule, "a GraphModule", module) ?? compiledViolation(module)
    return made(CompiledModule.tag, violation, () => new CompiledModule(module))
  }
  static violation(state: CompiledModule): string | undefined {
    return compiledViolation(state.module)
  }
}

/**
 * A module whose submodules are all inlined: no `call_module` nodes, no TensorRT module left; engines are
 * `get_attr`s or no-op nodes.
 *
 * @since 0.1.0
 * @category models
 */
export class InlinedModule {
  static readonly tag = "InlinedModule"
  readonly _tag = "InlinedModule"
  readonly #checked = true
  readonly module: Module.GraphModule
  private constructor(module: Module.GraphModule) {
    this.module = module
  }
  static is(u: unknown): u is InlinedModule {
    return typeof u === "object" && u !== null && #checked in u
  }
  static make(module: Module.GraphModule): Effect.Effect<InlinedModule, StateError> {
    const violation = () => shapeViolation(module instanceof Module.GraphModule, "a GraphModule", module) ?? inlinedViolation(module)
    return made(InlinedModule.tag, violation, () => new InlinedModule(module))
  }
  static violation(state: InlinedModule): string | undefined {
    return inlinedViolation(state.module)
  }
}

/**
 * A lifted module: no `get_attr` of state; its first placeholders are the lifted inputs in canonical
 * order, each naming state that exists, then the user inputs.
 *
 * @since 0.1.0
 * @category models
 */
export class LiftedModule implements Lifted {
  static readonly tag = "LiftedModule"
  readonly _tag = "LiftedModule"
  readonly #checked = true
  readonly module: Module.GraphModule
  readonly inputSpecs: Lifted["inputSpecs"]
  readonly stateDict: Lifted["stateDict"]
  readonly constants: Lifted["constants"]
  private constructor(lifted: Lifted) {
    this.module = lifted.module
    this.inputSpecs = lifted.inputSpecs
    this.stateDict = lifted.stateDict
    this.constants = lifted.constants
  }
  static is(u: unknown): u is LiftedModule {
    return typeof u === "object" && u !== null && #checked in u
  }
  static make(lifted: Lifted): Effect.Effect<LiftedModule, StateError> {
    const violation = () =>
      shapeViolation(holdsGraphModule(lifted, "module"), "a lifted module (module, inputSpecs, stateDict, constants)", lifted) ??
        liftedViolation(lifted)
    return made(LiftedModule.tag, violation, () => LiftedModule.is(lifted) ? lifted : new LiftedModule(lifted))
  }
  static violation(state: LiftedModule): string | undefined {
    return liftedViolation(state)
  }
}

/**
 * An exported program that holds torch's verifier's rules on what the exporter builds: the signature
 * matches the graph's placeholders and outputs, and the state and constants it names are present. It is
 * the program itself (every field of `ExportedProgram` in `trtx/program`), checked.
 *
 * @since 0.1.0
 * @category models
 */
export class ExportedProgram implements ExportedProgramModel.ExportedProgram {
  static readonly tag = "ExportedProgram"
  readonly _tag = "ExportedProgram"
  readonly #checked = true
  readonly graphModule: Module.GraphModule
  readonly graphSignature: ExportedProgramModel.ExportedProgram["graphSignature"]
  readonly stateDict: ExportedProgramModel.ExportedProgram["stateDict"]
  readonly constants: ExportedProgramModel.ExportedProgram["constants"]
  readonly rangeConstraints: ExportedProgramModel.ExportedProgram["rangeConstraints"]
  readonly moduleCallGraph: ExportedProgramModel.ExportedProgram["moduleCallGraph"]
  readonly opSchemas: ExportedProgramModel.ExportedProgram["opSchemas"]
  readonly verifiers: ExportedProgramModel.ExportedProgram["verifiers"]
  readonly guardsCode: ExportedProgramModel.ExportedProgram["guardsCode"]
  readonly metadata: ExportedProgramModel.ExportedProgram["metadata"]
  private constructor(program: ExportedProgramModel.ExportedProgram) {
    this.graphModule = program.graphModule
    this.graphSignature = program.graphSignature
    this.stateDict = program.stateDict
    this.constants = program.constants
    this.rangeConstraints = program.rangeConstraints
    this.moduleCallGraph = program.moduleCallGraph
    this.opSchemas = program.opSchemas
    this.verifiers = program.verifiers
    this.guardsCode = program.guardsCode
    this.metadata = program.metadata
  }
  static is(u: unknown): u is ExportedProgram {
    return typeof u === "object" && u !== null && #checked in u
  }
  static make(program: ExportedProgramModel.ExportedProgram): Effect.Effect<ExportedProgram, StateError> {
    const violation = () =>
      shapeViolation(holdsGraphModule(program, "graphModule"), "an ExportedProgram", program) ?? programViolation(program)
    return made(ExportedProgram.tag, violation, () => ExportedProgram.is(program) ? program : new ExportedProgram(program))
  }
  static violation(state: ExportedProgram): string | undefined {
    return programViolation(state)
  }
}

// ===== Getters =====

/**
 * Whether a value is a state, made by its class's `make`.
 *
 * @since 0.1.0
 * @category guards
 */
export const isGraphState = (u: unknown): u is GraphState =>
  CompiledModule.is(u) || InlinedModule.is(u) || LiftedModule.is(u) || ExportedProgram.is(u)

/**
 * The graph module of a state.
 *
 * @since 0.1.0
 * @category getters
 */
export const moduleOf = (state: GraphState): Module.GraphModule => {
  switch (state._tag) {
    case "CompiledModule":
    case "InlinedModule":
    case "LiftedModule":
      return state.module
    case "ExportedProgram":
      return state.graphModule
  }
}
