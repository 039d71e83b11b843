/**
 * The module tree of a compiled model: torch's `nn.Module` as far as the exporter sees it (children in
 * registration order, parameters, buffers with their persistent flag, constants), with the three kinds a
 * compiled module is made of:
 *
 * - {@link GraphModule}: a module with a graph (the root, and each `_run_on_gpu_N` fallback);
 * - {@link TrtModule}: a `TorchTensorRTModule` (`_run_on_acc_N`), holding its engine record;
 * - {@link PlainModule}: a plain module that only holds state (`conv` under a fallback module).
 *
 * The traversals follow `torch/nn/modules/module.py`: `named_children` and `named_modules` skip repeated
 * module objects, `state_dict` lists every name (shared tensors under each), `named_parameters` and
 * `named_buffers` skip repeated tensors.
 *
 * @since 0.1.0
 */
import { Graph, type Owner } from "./Graph.ts"
import * as GraphError from "./GraphError.ts"
import type { OpSchemas } from "./OpSchema.ts"
import type { ScriptObject, Tensor } from "./Tensor.ts"

// ===== Models =====

/**
 * A module of any kind.
 *
 * @since 0.1.0
 * @category models
 */
export type Module = GraphModule | TrtModule | PlainModule

/**
 * A constant attribute: a tensor that is neither parameter nor buffer, or a script object.
 *
 * @since 0.1.0
 * @category models
 */
export type Constant = Tensor | ScriptObject

/**
 * An engine record, index for index as `TorchTensorRTModule._pack_engine_info()` returns it, with the
 * engine's bytes as a `Uint8Array` where the record holds them.
 *
 * @since 0.1.0
 * @category models
 */
export type EngineInfo = ReadonlyArray<string | Uint8Array>

/**
 * What every module holds. Names are unique across the four maps of one module, as in torch, where they
 * are all attributes.
 *
 * @since 0.1.0
 * @category models
 */
abstract class ModuleBase {
  #state: State | undefined
  // The module this one is a copy of, with the copy's memo, until its state is first asked for (see
  // `GraphModule.deepCopy`'s `lazy`).
  #pending: { readonly source: Module; readonly copyChild: (child: Module) => Module } | undefined = undefined
  /** fx's `_is_impure`: a `call_module` of this module survives dead-code elimination. */
  impure = false

  /** Submodules in registration order. */
  get children(): Map<string, Module> {
    const s = this.#materialized()
    return (s._children ??= new Map())
  }
  /** Direct parameters. */
  get parameters(): Map<string, Tensor> {
    const s = this.#materialized()
    return (s._parameters ??= new Map())
  }
  /** Direct buffers; names in {@link nonPersistent} stay out of the state dict. */
  get buffers(): Map<string, Tensor> {
    const s = this.#materialized()
    return (s._buffers ??= new Map())
  }
  get nonPersistent(): Set<string> {
    const s = this.#materialized()
    return (s._nonPersistent ??= new Set())
  }
  /** Other tensor and script-object attributes read by `get_attr`. */
  get constants(): Map<string, Constant> {
    const s = this.#materialized()
    return (s._constants ??= new Map())
  }

  /**
   * The state to read without changing anything, not even a lazy copy's: a pending copy's source's (its
   * tensors and values are the copy's too; its submodules are the source's, to be read, never kept), else
   * this module's. For passes that read a module only to copy from it (inlining a fallback module).
   */
  get stateForReading(): ReadState {
    if (this.#pending !== undefined) return this.#pending.source.stateForReading
    return this.#state ?? EMPTY_STATE
  }

  /**
   * This module's own state, read-only (a pending copy's is made, its submodules copies), without making the
   * maps nobody wrote to: most modules hold one kind of state or none, and a tree of thousands of modules
   * would otherwise carry five empty collections each. To change the state, use {@link children},
   * {@link parameters}, {@link buffers}, {@link nonPersistent} and {@link constants}.
   */
  get state(): ReadState {
    return this.#materialized()
  }

  /**
   * @internal Makes this module's state a copy of `source`'s: its tensors and values shared, each submodule
   * the result of `copyChild`. With `lazy`, the copy is made on first access to the state.
   */
  _copyStateOf(source: Module, copyChild: (child: Module) => Module, lazy: boolean): void {
    this.#state = undefined
    this.#pending = { source, copyChild }
    if (!lazy) this.#materialized()
  }

  #materialized(): State {
    if (this.#state !== undefined) return this.#state
    const state = new State()
    this.#state = state
    const pending = this.#pending
    if (pending !== undefined) {
      this.#pending = undefined
      const from = pending.source.stateForReading
      if (from.children.size > 0) {
        const children = (state._children = new Map())
        from.children.forEach((child, name) => children.set(name, pending.copyChild(child)))
      }
      if (from.parameters.size > 0) state._parameters = new Map(from.parameters)
      if (from.buffers.size > 0) state._buffers = new Map(from.buffers)
      if (from.nonPersistent.size > 0) state._nonPersistent = new Set(from.nonPersistent)
      if (from.constants.size > 0) state._constants = new Map(from.constants)
    }
    return state
  }
}

const EMPTY_MAP: ReadonlyMap<any, never> = new Map<any, never>()
const EMPTY_SET: ReadonlySet<any> = new Set<any>()

// A module's own state: what `ModuleBase` exposes, each collection made when first written to (read, an
// absent one is empty).
class State implements ReadState {
  _children: Map<string, Module> | undefined = undefined
  _parameters: Map<string, Tensor> | undefined = undefined
  _buffers: Map<string, Tensor> | undefined = undefined
  _nonPersistent: Set<string> | undefined = undefined
  _constants: Map<string, Constant> | undefined = undefined
  get children(): ReadonlyMap<string, Module> {
    return this._children ?? EMPTY_MAP
  }
  get parameters(): ReadonlyMap<string, Tensor> {
    return this._parameters ?? EMPTY_MAP
  }
  get buffers(): ReadonlyMap<string, Tensor> {
    return this._buffers ?? EMPTY_MAP
  }
  get nonPersistent(): ReadonlySet<string> {
    return this._nonPersistent ?? EMPTY_SET
  }
  get constants(): ReadonlyMap<string, Constant> {
    return this._constants ?? EMPTY_MAP
  }
}

// The state of a module none of whose state was ever asked for.
const EMPTY_STATE: ReadState = new State()

/**
 * A module's state, read only: what a module's `state` and `stateForReading` give.
 *
 * @since 0.1.0
 * @category models
 */
export interface ReadState {
  readonly children: ReadonlyMap<string, Module>
  readonly parameters: ReadonlyMap<string, Tensor>
  readonly buffers: ReadonlyMap<string, Tensor>
  readonly nonPersistent: ReadonlySet<string>
  readonly constants: ReadonlyMap<string, Constant>
}

/**
 * A module with a graph.
 *
 * @since 0.1.0
 * @category models
 */
export class GraphModule extends ModuleBase {
  readonly kind = "graph_module" as const
  /** The pytree specs of the graph's inputs and outputs (`treespec_dumps` strings), if it has them. */
  inSpec: string | null = null
  outSpec: string | null = null
  /** Root only: every symbol of a symbolic dim, with its hint, value range and assumptions. */
  symbols: Map<string, SymbolInfo> | undefined = undefined
  /**
   * Root only: the schemas of the operators the module's graphs call, as the module's producer knew them
   * (a `.tgm`'s `op_schemas.json`). They win over trtx's built-in table for the same operator.
   */
  opSchemas: OpSchemas | undefined = undefined
  /**
   * Root only: the field names of the namedtuple types the pytree specs name, by serialized type name
   * (torch writes them beside the specs as `treespec_namedtuple_fields`).
   */
  namedTupleFields: ReadonlyMap<string, ReadonlyArray<string>> | undefined = undefined
  #graph: Graph | undefined
  // A graph this module's graph is a copy of, not yet made (see `GraphModule.deepCopy`'s `lazy`).
  #pending: Graph | undefined

  /**
   * A module owning `graph` (a new empty one by default). `lazyCopyOf` (internal, see
   * `GraphModule.deepCopy`'s `lazy`) makes the graph a copy of that graph, made on first access to `graph`:
   * no graph is made until then, so a fallback module that is only inlined never gets one.
   */
  constructor(graph?: Graph, lazyCopyOf?: Graph) {
    super()
    if (lazyCopyOf !== undefined) {
      this.#pending = lazyCopyOf
      return
    }
    this.#graph = graph ?? new Graph()
    this.#own(this.#graph)
  }

  /** The module's graph (made now if it was a pending copy). */
  get graph(): Graph {
    if (this.#graph === undefined) {
      this.#graph = this.#pending!.copy()
      this.#pending = undefined
      this.#own(this.#graph)
    }
    return this.#graph
  }

  /**
   * The graph to read without changing anything: the source's graph while this module is a lazy copy not
   * yet made, else its own. Only readers that never change it may use it (inlining copies from it).
   */
  get graphForReading(): Graph {
    return this.#pending ?? this.graph
  }

  #own(graph: Graph): void {
    const owner: Owner = {
      checkTarget: (node) => checkTarget(this, node.name, node.op, node.target),
      isImpureModule: (target) => {
        const found = resolve(this, target)
        return found?.kind === "module" && found.module.impure
      }
    }
    graph.owner = owner
  }
}

/**
 * What a module knows of a symbol of its symbolic sizes: torch's ShapeEnv entry for it. `hint` is the
 * example value (null for an unbacked symbol, `u0`, whose value only a run knows); `min` and `max` bound it
 * (null: unbounded); `assumptions` are sympy's (`[["positive", true], ["integer", true]]`), in the order
 * `srepr` prints them, when the producer recorded them (`SymExpr.defaultAssumptions` gives torch's
 * otherwise).
 *
 * @since 0.1.0
 * @category models
 */
export interface SymbolInfo {
  readonly hint: number | null
  readonly min: number | null
  readonly max: number | null
  readonly assumptions?: ReadonlyArray<readonly [string, boolean]>
}

/**
 * A TensorRT module: its name, engine record and binding names.
 *
 * @since 0.1.0
 * @category models
 */
export class TrtModule extends ModuleBase {
  readonly kind = "trt_module" as const
  constructor(
    options: {
      readonly name: string
      readonly packedEngineInfo: EngineInfo
      readonly engineState?: EngineInfo | undefined
      readonly inputBindingNames: ReadonlyArray<string>
      readonly outputBindingNames: ReadonlyArray<string>
    }
  ) {
    super()
    this.name = options.name
    this.packedEngineInfo = options.packedEngineInfo
    this.engineState = options.engineState
    this.inputBindingNames = options.inputBindingNames
    this.outputBindingNames = options.outputBindingNames
  }
  readonly name: string
  /** `_pack_engine_info()`, as the cross-compile path packs it. */
  readonly packedEngineInfo: EngineInfo
  /** The live engine's `__getstate__()`, where it differs from {@link packedEngineInfo}. */
  readonly engineState: EngineInfo | undefined
  readonly inputBindingNames: ReadonlyArray<string>
  readonly outputBindingNames: ReadonlyArray<string>
}

/**
 * A module that only holds state, with its Python type (`torch.nn.modules.conv.Conv2d`).
 *
 * @since 0.1.0
 * @category models
 */
export class PlainModule extends ModuleBase {
  readonly kind = "module" as const
  constructor(type: string = "torch.nn.modules.module.Module") {
    super()
    this.type = type
  }
  readonly type: string
}

/**
 * What a dotted target names.
 *
 * @since 0.1.0
 * @category models
 */
export type Resolved =
  | { readonly kind: "module"; readonly module: Module }
  | { readonly kind: "parameter" | "buffer"; readonly owner: Module; readonly name: string; readonly tensor: Tensor }
  | { readonly kind: "constant"; readonly owner: Module; readonly name: string; readonly value: Constant }

// ===== Getters =====

// fx's `Graph.lint` target walk: a getattr per atom; call_module needs a module at every step.
const checkTarget = (root: Module, name: string, op: string, target: string): string | undefined => {
  // Atom by atom without splitting: lint asks this of every get_attr and call_module.
  let mod: Module | undefined = root
  let start = 0
  for (;;) {
    const dot = target.indexOf(".", start)
    const atom = dot < 0 ? target.slice(start) : target.slice(start, dot)
    if (mod === undefined) {
      // The previous atom was a tensor or script object: fx's getattr on it finds no such attribute.
      return `Node ${name} target ${target} references nonexistent attribute ${atom} of ${pathBefore(target, start)}`
    }
    const child: Module | undefined = mod.state.children.get(atom)
    if (child === undefined && !hasAttribute(mod, atom)) {
      return `Node ${name} target ${target} references nonexistent attribute ${atom} of ${pathBefore(target, start)}`
    }
    if (op === "call_module" && child === undefined) {
      return `Node ${name} target ${target} ${atom} of ${pathBefore(target, start)} does not reference an nn.Module`
    }
    if (dot < 0) return undefined
    mod = child
    start = dot + 1
  }
}

// The atoms of a dotted target before the one starting at `start`, for messages.
const pathBefore = (target: string, start: number): string => (start === 0 ? "" : target.slice(0, start - 1))

/**
 * Resolves a dotted target by a `getattr` chain: the leading atoms name submodules, the last names a
 * submodule, parameter, buffer or constant. The empty target is the module itself.
 *
 * @since 0.1.0
 * @category getters
 */
export const resolve = (root: Module, target: string): Resolved | undefined => {
  if (target === "") return { kind: "module", module: root }
  // Atom by atom without splitting (this runs for every get_attr and call_module of every state check).
  let mod: Module = root
  let start = 0
  for (let dot = target.indexOf("."); dot >= 0; dot = target.indexOf(".", start)) {
    const child = mod.state.children.get(target.slice(start, dot))
    if (child === undefined) return undefined
    mod = child
    start = dot + 1
  }
  const last = start === 0 ? target : target.slice(start)
  const state = mod.state
  const child = state.children.get(last)
  if (child !== undefined) return { kind: "module", module: child }
  const p = state.parameters.get(last)
  if (p !== undefined) return { kind: "parameter", owner: mod, name: last, tensor: p }
  const b = state.buffers.get(last)
  if (b !== undefined) return { kind: "buffer", owner: mod, name: last, tensor: b }
  const c = state.constants.get(last)
  if (c !== undefined) return { kind: "constant", owner: mod, name: last, value: c }
  return undefined
}

/**
 * @internal Whether a dotted path names a submodule, read without making the state of lazily copied
 * modules on the way (see `GraphModule.deepCopy`'s `lazy`).
 */
export const isModuleAt = (root: Module, target: string): boolean => {
  let mod: Module = root
  let start = 0
  for (let dot = target.indexOf("."); ; dot = target.indexOf(".", start)) {
    const child = mod.stateForReading.children.get(dot < 0 ? target.slice(start) : target.slice(start, dot))
    if (child === undefined) return false
    if (dot < 0) return true
    mod = child
    start = dot + 1
  }
}

/**
 * The submodule at a dotted path (fx's `get_submodule`).
 *
 * @since 0.1.0
 * @category getters
 */
export const getSubmodule = (root: Module, target: string): Module | undefined => {
  const found = resolve(root, target)
  return found?.kind === "module" ? found.module : undefined
}

/**
 * Whether a module has an attribute of any kind under a direct name.
 *
 * @since 0.1.0
 * @category getters
 */
export const hasAttribute = (mod: Module, name: string): boolean => {
  const state = mod.state
  return state.children.has(name) || state.parameters.has(name) || state.buffers.has(name) || state.constants.has(name)
}

/**
 * Direct children in registration order, each module object once (under its first name).
 *
 * @since 0.1.0
 * @category getters
 */
export const namedChildren = (mod: Module): Array<readonly [string, Module]> => {
  const seen = new Set<Module>()
  const out: Array<readonly [string, Module]> = []
  for (const [name, child] of mod.state.children) {
    if (seen.has(child)) continue
    seen.add(child)
    out.push([name, child])
  }
  return out
}

/**
 * Every module of the tree, pre-order, root first under `""`, each module object once.
 *
 * @since 0.1.0
 * @category getters
 */
export const namedModules = (root: Module): Array<readonly [string, Module]> => {
  const seen = new Set<Module>()
  const out: Array<readonly [string, Module]> = []
  const walk = (mod: Module, prefix: string): void => {
    if (seen.has(mod)) return
    seen.add(mod)
    out.push([prefix, mod])
    for (const [name, child] of mod.state.children) walk(child, prefix === "" ? name : `${prefix}.${name}`)
  }
  walk(root, "")
  return out
}

/**
 * The state dict: for each module in pre-order, its parameters, then its persistent buffers, under dotted
 * names; a tensor shared by several names appears under each.
 *
 * @since 0.1.0
 * @category getters
 */
export const stateDict = (root: Module): Map<string, Tensor> => {
  const out = new Map<string, Tensor>()
  // torch's `state_dict` recurses over `_modules` without skipping repeats: an aliased child is listed under
  // every name. (A cycle would recurse forever in torch; here it is cut.)
  const onPath = new Set<Module>()
  const walk = (mod: Module, prefix: string): void => {
    if (onPath.has(mod)) return
    onPath.add(mod)
    const key = (name: string) => (prefix === "" ? name : `${prefix}.${name}`)
    const state = mod.state
    for (const [name, t] of state.parameters) out.set(key(name), t)
    for (const [name, t] of state.buffers) if (!state.nonPersistent.has(name)) out.set(key(name), t)
    for (const [name, child] of state.children) walk(child, key(name))
    onPath.delete(mod)
  }
  walk(root, "")
  return out
}

const namedTensors = (root: Module, pick: (m: Module) => Map<string, Tensor>): Array<readonly [string, Tensor]> => {
  const seen = new Set<Tensor>()
  const out: Array<readonly [string, Tensor]> = []
  for (const [prefix, mod] of namedModules(root)) {
    for (const [name, t] of pick(mod)) {
      if (seen.has(t)) continue
      seen.add(t)
      out.push([prefix === "" ? name : `${prefix}.${name}`, t])
    }
  }
  return out
}

/**
 * Every parameter of the tree, each tensor once (tied parameters under their first name).
 *
 * @since 0.1.0
 * @category getters
 */
export const namedParameters = (root: Module): Array<readonly [string, Tensor]> => namedTensors(root, (m) => m.parameters)

/**
 * Every buffer of the tree, persistent or not, each tensor once.
 *
 * @since 0.1.0
 * @category getters
 */
export const namedBuffers = (root: Module): Array<readonly [string, Tensor]> => namedTensors(root, (m) => m.buffers)

// ===== Mutations =====

const refuseOther = (mod: Module, name: string, kind: "parameters" | "buffers" | "constants" | "children") => {
  const state = mod.state
  const taken = (kind !== "children" && state.children.has(name)) || (kind !== "parameters" && state.parameters.has(name)) ||
    (kind !== "buffers" && state.buffers.has(name)) || (kind !== "constants" && state.constants.has(name))
  if (taken) throw GraphError.make("AttributeExists", `attribute '${name}' already exists`)
  if (name === "" || name.includes(".")) {
    throw GraphError.make("InvalidArgument", `attribute name can't be empty or contain ".", got '${name}'`)
  }
}

/**
 * Registers a parameter; an existing parameter of that name is replaced, as in torch.
 *
 * @throws GraphError `AttributeExists` when the name is another kind of attribute.
 * @since 0.1.0
 * @category mutations
 */
export const registerParameter = (mod: Module, name: string, tensor: Tensor): void => {
  refuseOther(mod, name, "parameters")
  mod.parameters.set(name, tensor)
}

/**
 * Registers a buffer, persistent unless said otherwise; an existing buffer of that name is replaced.
 *
 * @throws GraphError `AttributeExists` when the name is another kind of attribute.
 * @since 0.1.0
 * @category mutations
 */
export const registerBuffer = (mod: Module, name: string, tensor: Tensor, persistent = true): void => {
  refuseOther(mod, name, "buffers")
  mod.buffers.set(name, tensor)
  if (persistent) mod.nonPersistent.delete(name)
  else mod.nonPersistent.add(name)
}

/**
 * Sets a constant attribute (a tensor or script object); an existing constant of that name is replaced.
 *
 * @throws GraphError `AttributeExists` when the name is another kind of attribute.
 * @since 0.1.0
 * @category mutations
 */
export const setConstant = (mod: Module, name: string, value: Constant): void => {
  refuseOther(mod, name, "constants")
  mod.constants.set(name, value)
}

/**
 * Adds a submodule at a dotted path, creating empty plain modules along it (fx's `add_submodule`). Returns
 * false, changing nothing, when an atom before the last is an attribute that is not a module.
 *
 * @throws GraphError `AttributeExists` when the last atom names a parameter, buffer or constant.
 * @since 0.1.0
 * @category mutations
 */
export const addSubmodule = (root: Module, target: string, module: Module): boolean => {
  const atoms = target.split(".")
  let mod: Module = root
  for (let i = 0; i < atoms.length - 1; i++) {
    const atom = atoms[i]!
    const child = mod.children.get(atom)
    if (child !== undefined) {
      mod = child
      continue
    }
    if (hasAttribute(mod, atom)) return false
    const created = new PlainModule()
    mod.children.set(atom, created)
    mod = created
  }
  const last = atoms[atoms.length - 1]!
  // fx's `add_module` raises KeyError over an attribute that is not a module.
  refuseOther(mod, last, "children")
  mod.children.set(last, module)
  return true
}

/**
 * Deletes the submodule at a dotted path (fx's `delete_submodule`); false when there is none.
 *
 * @since 0.1.0
 * @category mutations
 */
export const deleteSubmodule = (root: Module, target: string): boolean => {
  const atoms = target.split(".")
  const parent = atoms.length === 1 ? root : getSubmodule(root, atoms.slice(0, -1).join("."))
  const last = atoms[atoms.length - 1]!
  if (parent === undefined || !parent.children.has(last)) return false
  parent.children.delete(last)
  return true
}
