/**
 * `inlineTorchModules`: upstream `inline_torch_modules` and `copy_submodule_attributes`
 * (`torch_tensorrt/dynamo/_exporter.py`), as fixed at upstream HEAD (#4446, #4079) and beyond. Every call of
 * a PyTorch fallback module (a graph module) is replaced by a copy of its graph.
 *
 * Rules (one test each):
 * 1. Fallback calls are the `call_module` nodes whose target is a graph module, found by target (upstream
 *    matched `"_run_on_gpu"` in the node's name). Dead code is eliminated and the graph linted first, as
 *    upstream does.
 * 2. The submodule's graph is copied before the call; its placeholders are wired, by position, to the
 *    call's positional arguments, then by name to its keyword arguments, then to their own default values
 *    (upstream matched them by name against the parent graph, mis-wiring and leaking placeholders). A
 *    keyword that names no remaining input fails, naming the call. A placeholder is not copied (its copy
 *    would be erased at once) but takes its name in the root's namespace, so that every name is fx's.
 * 3. The call's users read the copied result: a single value directly; for a tuple or list result, each
 *    `getitem(call, i)` reads element `i` and is erased, and any other user reads the tuple or list itself.
 * 4. The submodule's parameters, buffers (keeping their persistent flag; upstream made every buffer
 *    persistent) and constants, its nested modules' included, are registered on the root at their original
 *    FQNs (paths inside the fallback module), creating plain modules along the path. A different value already at an FQN is refused (upstream let the last one win
 *    silently).
 * 5. A call of a graph module inside a fallback module is inlined in turn, its targets prefixed with that
 *    module's path (its state is already at the root under that path, rule 4); a graph module read by
 *    `get_attr` (a higher-order-op subgraph) moves to the root at its path (upstream left both dangling).
 *    A call of anything else (a TensorRT module, a plain module) inside a fallback module is refused with
 *    the node named.
 * 6. A module that returns one of its inputs (or a default) returns the value wired to that input.
 *
 * @since 0.1.0
 */
import * as Argument from "../graph/Argument.ts"
import * as DeadCode from "../graph/DeadCode.ts"
import * as Meta from "../graph/Meta.ts"
import * as Module from "../graph/Module.ts"
import type { Node } from "../graph/Node.ts"
import * as GraphState from "./GraphState.ts"
import { GETITEM } from "../program/Targets.ts"
import * as Pass from "./Pass.ts"
import * as PassError from "./PassError.ts"

const NAME = "inlineTorchModules"

/**
 * @since 0.1.0
 * @category passes
 */
export const inlineTorchModules: Pass.Pass<GraphState.CompiledModule, GraphState.CompiledModule> = Pass.make({
  name: NAME,
  upstream: "torch_tensorrt.dynamo._exporter.inline_torch_modules",
  requires: GraphState.CompiledModule,
  // Still a compiled module: the TensorRT children stay registered until cleanup deletes them.
  ensures: GraphState.CompiledModule,
  changesInput: true,
  run: ({ module: gm }) =>
    PassError.attempt(NAME, () => {
      // Upstream's `eliminate_dead_code(); lint()` first (the dead-code pass lints before it starts).
      DeadCode.eliminateDeadCode(gm.graph)
      // A worklist, so that calls copied in from a fallback module are inlined in turn. A nested call comes
      // with the module it calls and that module's path relative to the top-level fallback module.
      const pending: Array<Pending> = gm.graph.findNodes("call_module").map((call) => ({ call }))
      for (let i = 0; i < pending.length; i++) {
        const { call, nested } = pending[i]!
        if (call.erased) continue
        const sub = nested?.module ?? Module.getSubmodule(gm, call.target)
        if (sub?.kind !== "graph_module") {
          throw PassError.run(
            NAME,
            `call_module ${call.name} calls ${call.target}, a ${sub?.kind ?? "missing module"}, which cannot be inlined`,
            { node: call.name }
          )
        }
        pending.push(...inlineCall(gm, call, sub, nested?.path ?? ""))
      }
      return gm
    })
})

interface Pending {
  readonly call: Node
  readonly nested?: { readonly module: Module.Module; readonly path: string }
}

/**
 * Inlines one call; returns the `call_module` nodes copied in with it, with the modules they call.
 *
 * Paths inside a top-level fallback module are the original model's FQNs (upstream's premise): its state
 * moves to the root at those FQNs, its nodes keep their targets, and a graph module that a copied
 * `get_attr` reads (a subgraph) moves to the root at its path. A nested call (`prefix`: the nested module's
 * path inside the top-level one) is inlined the same way, its targets prefixed with that path, where its
 * state already is.
 */
const inlineCall = (gm: Module.GraphModule, call: Node, sub: Module.GraphModule, prefix: string): Array<Pending> => {
  const g = gm.graph
  // Read only: a lazily copied module's graph is read from its original, never copied just to be copied.
  const source = sub.graphForReading
  const path = (target: string) => (prefix === "" ? target : `${prefix}.${target}`)
  const placeholders = source.findNodes("placeholder")
  const wired = wireInputs(call, placeholders, (a) => a)
  const valMap = new Map<Node, Argument.Argument>(placeholders.map((ph, i) => [ph, wired[i]!]))
  // fx's graph_copy (every node, placeholders too, named in the root's namespace), with targets rewritten.
  // A placeholder's copy would be replaced by its value and erased at once: it only takes its name, so
  // that later names are fx's, and its users read the value directly.
  const lookup = (n: Node): Argument.Argument => valMap.get(n)!
  const nestedCalls: Array<Pending> = []
  let result: Argument.Argument = null
  g.insertingBefore(call, () => {
    for (const node of source.nodes()) {
      if (node.op === "placeholder") {
        g.createName(node.name)
        continue
      }
      if (node.op === "output") {
        result = Argument.mapNodes(node.args[0] ?? null, lookup)
        break
      }
      const args = Argument.mapNodes(node.args, lookup) as ReadonlyArray<Argument.Argument>
      const reads = node.op === "get_attr" || node.op === "call_module"
      const copied = g.createNode(node.op, reads ? path(node.target) : node.target, args, Argument.mapKwargs(node.kwargs, lookup), {
        name: node.name,
        meta: Meta.copy(node.meta)
      })
      valMap.set(node, copied)
      // Most of these read a weight: asked without making the fallback module's (lazily copied) state.
      if (!reads || !Module.isModuleAt(sub, node.target)) continue
      const reached = Module.getSubmodule(sub, node.target)!
      if (node.op === "call_module") nestedCalls.push({ call: copied, nested: { module: reached, path: path(node.target) } })
      else hoist(gm, copied.target, reached, call)
    }
  })
  if (prefix === "") copyAttributes(gm, sub, call)
  routeResult(call, result)
  g.eraseNode(call)
  return nestedCalls
}

/**
 * @internal The value each placeholder of a fallback graph stands for (rule 2), in placeholder order:
 * positional arguments, then keywords by name, then defaults; `map` turns an argument of the call into a
 * value of the graph being built (the identity when the call is in it).
 */
export const wireInputs = (
  call: Node,
  placeholders: ReadonlyArray<Node>,
  map: (a: Argument.Argument) => Argument.Argument
): Array<Argument.Argument> => {
  const kwargs = call.kwargs
  if (placeholders.length < call.args.length) {
    throw PassError.run(NAME, `${call.name} passes ${call.args.length} arguments to ${call.target}, which takes ${placeholders.length}`, {
      node: call.name
    })
  }
  for (const key in kwargs) {
    const at = placeholders.findIndex((ph) => ph.target === key)
    if (at < call.args.length) {
      const why = at >= 0 ? "also given by position" : "not an input"
      throw PassError.run(NAME, `keyword argument ${key} of ${call.name} is ${why} of ${call.target}`, { node: call.name })
    }
  }
  return placeholders.map((ph, i) => {
    if (i < call.args.length) return map(call.args[i]!)
    if (Object.hasOwn(kwargs, ph.target)) return map(kwargs[ph.target]!)
    if (ph.args.length > 0) return ph.args[0]!
    throw PassError.run(NAME, `${call.name} gives no value for input ${ph.target} of ${call.target}`, { node: call.name })
  })
}

// A graph module read by get_attr (a subgraph) at its path in the root; another module there is refused.
const hoist = (gm: Module.GraphModule, target: string, module: Module.Module, call: Node): void => {
  const existing = Module.getSubmodule(gm, target)
  if (existing === module) return
  if (existing !== undefined || !Module.addSubmodule(gm, target, module)) conflict(target, call)
}

// Replaces every use of `node` by an argument that may be a node, a constant or a container.
const replaceUses = (node: Node, value: Argument.Argument): void => {
  if (Argument.isNode(value)) {
    node.replaceAllUsesWith(value)
    return
  }
  for (const user of node.userList) {
    const swap = (n: Node): Argument.Argument => (n === node ? value : n)
    user.args = Argument.mapNodes(user.args, swap) as ReadonlyArray<Argument.Argument>
    user.kwargs = Argument.mapKwargs(user.kwargs, swap)
  }
}


const routeResult = (call: Node, result: Argument.Argument): void => {
  const elements = Argument.elements(result)
  if (elements === undefined) {
    replaceUses(call, result)
    return
  }
  for (const user of call.userList) {
    const index = user.args[1]
    if (user.op === "call_function" && user.target === GETITEM && user.args[0] === call && typeof index === "number") {
      const element = elements[index < 0 ? elements.length + index : index]
      if (element === undefined) {
        throw PassError.run(NAME, `${user.name} reads element ${index} of ${call.name}, which has ${elements.length}`, {
          node: user.name
        })
      }
      replaceUses(user, element)
      user.graph.eraseNode(user)
    }
  }
  replaceUses(call, result)
}

/**
 * @internal Registers the state of a fallback module and of every module inside it on the root at its
 * original FQN (rule 4); `call` names the call in a refusal.
 */
export const copyAttributes = (gm: Module.GraphModule, sub: Module.GraphModule, call: Node): void => {
  // The walk goes down the fallback module's tree and the root's at once: `atoms` is the path inside the
  // fallback module, `into[d]` the root's module at the first d atoms, made (a plain module) only when
  // something is assigned below it, as fx's setattr along the FQN would. FQN strings are built only for a
  // refusal.
  const atoms: Array<string> = []
  const into: Array<Module.Module | undefined> = [gm]
  const fqn = (leaf: string) => [...atoms, leaf].join(".")
  const target = (leaf: string): Module.Module => {
    let mod = into[0]!
    for (let d = 1; d <= atoms.length; d++) {
      let next = into[d]
      if (next === undefined) {
        const atom = atoms[d - 1]!
        next = mod.state.children.get(atom)
        if (next === undefined) {
          if (Module.hasAttribute(mod, atom)) conflict(fqn(leaf), call)
          next = new Module.PlainModule()
          mod.children.set(atom, next)
        }
        into[d] = next
      }
      mod = next
    }
    return mod
  }
  const assign = (leaf: string, value: Module.Constant, kind: "parameter" | "buffer" | "constant", persistent: boolean) => {
    const mod = target(leaf)
    const existing = Module.resolve(mod, leaf)
    if (existing !== undefined) {
      const same = existing.kind === "parameter" || existing.kind === "buffer"
        ? existing.tensor === value && existing.kind === kind
        : existing.kind === "constant" && existing.value === value && kind === "constant"
      if (!same) conflict(fqn(leaf), call)
      if (existing.kind === "buffer" && mod.state.nonPersistent.has(leaf) === persistent) conflict(fqn(leaf), call)
      return
    }
    if (kind === "parameter") Module.registerParameter(mod, leaf, value as never)
    else if (kind === "buffer") Module.registerBuffer(mod, leaf, value as never, persistent)
    else Module.setConstant(mod, leaf, value)
  }
  // State of every module inside, nested graph modules included. Every name counts: a module or tensor
  // registered under two names is assigned under both (upstream walked `named_parameters()`, which skips
  // the second name of a tied weight and leaves its get_attr dangling).
  // Read through `stateForReading`: the fallback module's (lazily copied) state is read, never made, and only
  // its tensors and values, which the copy shares, are kept.
  // Empty maps are not iterated: most modules of a fallback tree hold one kind of state or none.
  const onPath: Array<Module.Module> = []
  const walk = (mod: Module.Module): void => {
    if (onPath.includes(mod)) return
    onPath.push(mod)
    const state = mod.stateForReading
    if (state.parameters.size > 0) state.parameters.forEach((t, name) => assign(name, t, "parameter", true))
    if (state.buffers.size > 0) state.buffers.forEach((t, name) => assign(name, t, "buffer", !state.nonPersistent.has(name)))
    if (state.constants.size > 0) state.constants.forEach((c, name) => assign(name, c, "constant", true))
    if (state.children.size > 0) {
      state.children.forEach((child, name) => {
        if (child.kind === "trt_module") return
        atoms.push(name)
        into.push(undefined)
        walk(child)
        atoms.pop()
        into.pop()
      })
    }
    onPath.pop()
  }
  walk(sub)
}

const conflict = (fqn: string, call: Node): never => {
  throw PassError.run(NAME, `inlining ${call.target} would overwrite ${fqn}, which the root already holds with another value`, {
    node: call.name
  })
}
