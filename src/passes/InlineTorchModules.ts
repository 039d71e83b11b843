/**
 * `inlineTorchModules`: upstream `inline_torch_modules` and `copy_submodule_attributes`
 * (`torch_tensorrt/dynamo/_exporter.py`), as fixed at upstream HEAD (#4446, #4079) and beyond. Every call of
 * a PyTorch fallback module (a graph module) is replaced by a copy of its graph.
 *
 * Rules (one test each):
 * 1. Fallback calls are the `call_module` nodes whose target is a graph module, found by target (upstream
 *    matched `"_run_on_gpu"` in the node's name). Dead code is eliminated and the graph linted first, as
 *    upstream does.
 * 2. The submodule's graph is copied before the call; its placeholders are then wired, by position, to the
 *    call's positional arguments, then by name to its keyword arguments, then to their own default values
 *    (upstream matched them by name against the parent graph, mis-wiring and leaking placeholders).
 * 3. The call's users read the copied result: a single value directly; for a tuple or list result, each
 *    `getitem(call, i)` reads element `i` and is erased, and any other user reads the tuple or list itself.
 * 4. The submodule's parameters, buffers (keeping their persistent flag; upstream made every buffer
 *    persistent) and constants are registered on the root at their original FQNs, creating plain modules
 *    along the path; submodules that copied nodes reach (`get_attr` of a graph module) come along too.
 *    A different value already at an FQN is refused (upstream let the last one win silently).
 * 5. A fallback module that itself calls a graph module has that call inlined in turn; a call of anything
 *    else (a TensorRT module or a plain module) inside a fallback module is refused with the node named.
 *
 * @since 0.1.0
 */
import * as Argument from "../graph/Argument.ts"
import * as DeadCode from "../graph/DeadCode.ts"
import * as Module from "../graph/Module.ts"
import type { Node } from "../graph/Node.ts"
import * as GraphState from "./GraphState.ts"
import { GETITEM } from "./InlineTrtModules.ts"
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
  run: (gm) =>
    PassError.attempt(NAME, () => {
      // Upstream's `eliminate_dead_code(); lint()` first (the dead-code pass lints before it starts).
      DeadCode.eliminateDeadCode(gm.graph)
      // A worklist, so that calls copied in from a fallback module are inlined in turn.
      const pending = gm.graph.findNodes("call_module")
      for (let i = 0; i < pending.length; i++) {
        const call = pending[i]!
        if (call.erased) continue
        const sub = Module.getSubmodule(gm, call.target)
        if (sub?.kind !== "graph_module") {
          throw PassError.run(
            NAME,
            `call_module ${call.name} calls ${call.target}, a ${sub?.kind ?? "missing module"}, which cannot be inlined`,
            { node: call.name }
          )
        }
        pending.push(...inlineCall(gm, call, sub))
      }
      return gm
    })
})

// Inlines one call; returns the call_module nodes copied in with it.
const inlineCall = (gm: Module.GraphModule, call: Node, sub: Module.GraphModule): Array<Node> => {
  const g = gm.graph
  const valMap = new Map<Node, Argument.Argument>()
  const copiedCalls: Array<Node> = []
  const result = g.insertingBefore(call, () => g.graphCopy(sub.graph, valMap))
  const placeholders = sub.graph.findNodes("placeholder")
  const kwargs = call.kwargs
  if (placeholders.length < call.args.length) {
    throw PassError.run(NAME, `${call.name} passes ${call.args.length} arguments to ${call.target}, which takes ${placeholders.length}`, {
      node: call.name
    })
  }
  placeholders.forEach((ph, i) => {
    const copied = valMap.get(ph) as Node
    let value: Argument.Argument
    if (i < call.args.length) value = call.args[i]!
    else if (ph.target in kwargs) value = kwargs[ph.target]!
    else if (ph.args.length > 0) value = ph.args[0]!
    else {
      throw PassError.run(NAME, `${call.name} gives no value for input ${ph.target} of ${call.target}`, { node: call.name })
    }
    replaceUses(copied, value)
    g.eraseNode(copied)
  })
  // The copied nodes' targets are relative to the submodule; bring along what they reach.
  for (const node of sub.graph.nodes()) {
    if (node.op === "call_module") copiedCalls.push(valMap.get(node) as Node)
  }
  copyAttributes(gm, sub, call)
  routeResult(call, result ?? null)
  g.eraseNode(call)
  return copiedCalls
}

// Replaces every use of `node` by an argument that may be a node, a constant or a container.
const replaceUses = (node: Node, value: Argument.Argument): void => {
  if (Argument.isNode(value)) {
    node.replaceAllUsesWith(value)
    return
  }
  for (const user of [...node.users]) {
    const swap = (n: Node): Argument.Argument => (n === node ? value : n)
    user.args = Argument.mapNodes(user.args, swap) as ReadonlyArray<Argument.Argument>
    user.kwargs = Argument.mapKwargs(user.kwargs, swap)
  }
}

const elementsOf = (result: Argument.Argument): ReadonlyArray<Argument.Argument> | undefined => {
  if (Array.isArray(result)) return result as ReadonlyArray<Argument.Argument>
  if (typeof result === "object" && result !== null && "_tag" in result && result._tag === "Tuple") return result.items
  return undefined
}

const routeResult = (call: Node, result: Argument.Argument): void => {
  const elements = elementsOf(result)
  if (elements === undefined) {
    replaceUses(call, result)
    return
  }
  for (const user of [...call.users]) {
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

const copyAttributes = (gm: Module.GraphModule, sub: Module.GraphModule, call: Node): void => {
  const assign = (fqn: string, value: Module.Constant, kind: "parameter" | "buffer" | "constant", persistent = true) => {
    const atoms = fqn.split(".")
    const leaf = atoms.pop()!
    let mod: Module.Module = gm
    for (const atom of atoms) {
      let next: Module.Module | undefined = mod.children.get(atom)
      if (next === undefined) {
        if (Module.hasAttribute(mod, atom)) conflict(fqn, call)
        next = new Module.PlainModule()
        mod.children.set(atom, next)
      }
      mod = next
    }
    const existing = Module.resolve(mod, leaf)
    if (existing !== undefined) {
      const same = existing.kind === "parameter" || existing.kind === "buffer"
        ? existing.tensor === value && existing.kind === kind
        : existing.kind === "constant" && existing.value === value && kind === "constant"
      if (!same) conflict(fqn, call)
      if (existing.kind === "buffer" && mod.nonPersistent.has(leaf) === persistent) conflict(fqn, call)
      return
    }
    if (kind === "parameter") Module.registerParameter(mod, leaf, value as never)
    else if (kind === "buffer") Module.registerBuffer(mod, leaf, value as never, persistent)
    else Module.setConstant(mod, leaf, value)
  }
  // Graph modules read by get_attr (HOP subgraphs) or called by call_module come along at their paths,
  // first, so that their own state below is found already in place.
  for (const node of sub.graph.nodes()) {
    if (node.op !== "get_attr" && node.op !== "call_module") continue
    const target = Module.getSubmodule(sub, node.target)
    if (target === undefined) continue
    const existing = Module.getSubmodule(gm, node.target)
    if (existing === target) continue
    if (existing !== undefined || !Module.addSubmodule(gm, node.target, target)) conflict(node.target, call)
  }
  for (const [prefix, mod] of Module.namedModules(sub)) {
    const key = (name: string) => (prefix === "" ? name : `${prefix}.${name}`)
    for (const [name, t] of mod.parameters) assign(key(name), t, "parameter")
    for (const [name, t] of mod.buffers) assign(key(name), t, "buffer", !mod.nonPersistent.has(name))
    for (const [name, c] of mod.constants) assign(key(name), c, "constant")
  }
}

const conflict = (fqn: string, call: Node): never => {
  throw PassError.run(NAME, `inlining ${call.target} would overwrite ${fqn}, which the root already holds with another value`, {
    node: call.name
  })
}
