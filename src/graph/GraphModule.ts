/**
 * Operations on a {@link GraphModule} as a whole: torch.fx's `GraphModule` (`torch/fx/graph_module.py`)
 * methods that look at the graph and the module tree together, and the deep copy the exporter starts with.
 *
 * @since 0.1.0
 */
import * as DeadCode from "./DeadCode.ts"
import { Graph } from "./Graph.ts"
import * as Lint from "./Lint.ts"
import type { Node } from "./Node.ts"
import { GraphModule, type Module, PlainModule, TrtModule, getSubmodule, namedChildren, namedModules } from "./Module.ts"

export { GraphModule }

// ===== Constructors =====

/**
 * A graph module owning `graph` (a new empty one by default).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (graph?: Graph): GraphModule => new GraphModule(graph)

/**
 * A deep copy of a module tree that shares what is immutable: graphs, nodes, meta records and the module
 * tree are new; tensors, storages and engine bytes are the same objects, so copying a 1 GB model copies no
 * weights. Aliasing is kept: a module or tensor reachable under two names is one object in the copy too.
 *
 * **Details.** Graphs are copied as fx's `Graph.__deepcopy__` copies them: every name is created again,
 * in graph order, in a fresh namespace (so names freed by nothing stay free of history, as in fx).
 *
 * With `lazy`, the graphs of descendant graph modules are copied on first access to their `graph`, and the
 * state of every module below the root (submodules, parameters, buffers, constants) on first access to it;
 * until then they are read from the original (the exporter inlines fallback modules by copying from them,
 * so their graphs and module trees are never copied only to be dropped). The original must then not change
 * while the copy is in use.
 *
 * @since 0.1.0
 * @category constructors
 */
export const deepCopy = <M extends Module>(
  root: M,
  options?: { readonly lazy?: boolean }
): M => copyModule(root, new Map(), options?.lazy === true, true) as M

const copyModule = (mod: Module, memo: Map<Module, Module>, lazy: boolean, isRoot: boolean): Module => {
  const done = memo.get(mod)
  if (done !== undefined) return done
  let copy: Module
  switch (mod.kind) {
    case "graph_module": {
      const gm = lazy && !isRoot ? new GraphModule(undefined, mod.graphForReading) : new GraphModule(mod.graph.copy())
      gm.inSpec = mod.inSpec
      gm.outSpec = mod.outSpec
      gm.symbols = mod.symbols === undefined ? undefined : new Map(mod.symbols)
      gm.opSchemas = mod.opSchemas
      gm.namedTupleFields = mod.namedTupleFields
      copy = gm
      break
    }
    case "trt_module":
      copy = new TrtModule({
        name: mod.name,
        packedEngineInfo: mod.packedEngineInfo,
        engineState: mod.engineState,
        inputBindingNames: mod.inputBindingNames,
        outputBindingNames: mod.outputBindingNames
      })
      break
    case "module":
      copy = new PlainModule(mod.type)
      break
  }
  memo.set(mod, copy)
  copy.impure = mod.impure
  // Below the root, a lazy copy's state is made when first asked for: a fallback module that is only
  // inlined (its state read from the original) never gets maps of its own, nor do its submodules.
  copy._copyStateOf(mod, (child) => copyModule(child, memo, lazy, false), lazy && !isRoot)
  return copy
}

// ===== Getters =====

/**
 * Lints the module's graph, with targets resolved in the module tree, and the graph of every descendant
 * graph module.
 *
 * @throws GraphError `Lint`.
 * @since 0.1.0
 * @category getters
 */
export const lint = (root: GraphModule): void => {
  for (const [, mod] of namedModules(root)) if (mod.kind === "graph_module") Lint.lint(mod.graph)
}

// ===== Mutations =====

/**
 * Deletes every submodule that no `call_module` or `get_attr` of the root graph reaches (fx's
 * `delete_all_unused_submodules`): used are every prefix of such a target, and every descendant of a called
 * module. Parameters, buffers and constants of surviving modules are never deleted.
 *
 * @since 0.1.0
 * @category mutations
 */
export const deleteAllUnusedSubmodules = (root: GraphModule): void => {
  // The used paths as a tree of atoms (`used.get("a")?.get("b")`: "a.b" is used; `true`: used, nothing
  // below it is), so that neither the prefixes of every target nor the path of every module are built as
  // strings.
  const used: UsedPaths = new Map()
  const graph = root.graph
  for (const op of ["call_module", "get_attr"] as const) {
    for (const node of graph.findNodes(op, undefined, { sort: false })) {
      const target = node.target
      let at = used
      let start = 0
      for (let dot = target.indexOf("."); dot >= 0; dot = target.indexOf(".", start)) {
        at = use(at, target.slice(start, dot))
        start = dot + 1
      }
      const last = start === 0 ? target : target.slice(start)
      const sub = op === "call_module" ? getSubmodule(root, target) : undefined
      // Everything below a called module is used.
      if (sub !== undefined) useAll(sub, use(at, last), new Set())
      else if (!at.has(last)) at.set(last, true)
    }
  }
  // One pre-order walk, as `named_modules()` lists them: an unused module goes with everything below it (fx
  // deletes each of them). A module met again under a second name is not listed by fx, so never deleted.
  const seen = new Set<Module>([root])
  const walk = (mod: Module, paths: UsedPaths | undefined): void => {
    const children = mod.state.children
    if (children.size === 0) return
    mod.children.forEach((child, name) => {
      if (seen.has(child)) return
      seen.add(child)
      const below = paths?.get(name)
      if (below === undefined) mod.children.delete(name)
      else walk(child, below === true ? undefined : below)
    })
  }
  walk(root, used)
}

// A tree of used path atoms; `true` for a used path with nothing used below it.
type UsedPaths = Map<string, UsedPaths | true>

// Marks `atom` below `from` used, with room for used paths below it.
const use = (from: UsedPaths, atom: string): UsedPaths => {
  const next = from.get(atom)
  if (next instanceof Map) return next
  const made: UsedPaths = new Map()
  from.set(atom, made)
  return made
}

// Marks every module below `mod` used, as the names `named_modules()` gives them (each module once).
const useAll = (mod: Module, at: UsedPaths, seen: Set<Module>): void => {
  seen.add(mod)
  mod.state.children.forEach((child, name) => {
    if (!seen.has(child)) useAll(child, use(at, name), seen)
  })
}

/**
 * Dead-code elimination on the module's graph, with `call_module` impurity from the module tree, then in
 * every direct child graph module that a `get_attr` of this graph reads, recursively (fx's
 * `eliminate_dead_code`, which recurses with the child's own graph and default impurity rules).
 *
 * @since 0.1.0
 * @category mutations
 */
export const eliminateDeadCode = (
  root: GraphModule,
  options?: { readonly isImpureNode?: (node: Node) => boolean; readonly lint?: boolean }
): boolean => {
  let changed = DeadCode.eliminateDeadCode(root.graph, { isImpureNode: options?.isImpureNode, lint: options?.lint })
  const targets = new Set(root.graph.findNodes("get_attr", undefined, { sort: false }).map((n) => n.target))
  for (const [name, child] of namedChildren(root)) {
    if (targets.has(name) && child.kind === "graph_module") changed = eliminateDeadCode(child) || changed
  }
  return changed
}

export { Graph }
