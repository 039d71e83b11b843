/**
 * `lift`: upstream `lift` (`torch_tensorrt/dynamo/_exporter.py`). Every `get_attr` of state becomes a graph
 * input: parameters, buffers, constant tensors and custom objects (TensorRT engines) are lifted into
 * placeholders, and the state moves to the program's state dict and constants.
 *
 * Rules (one test each):
 * 1. A target is classified from the module tree, dotted paths included: a parameter is PARAMETER, a
 *    buffer BUFFER with its persistent flag (upstream: none, which torch rejects), another tensor
 *    CONSTANT_TENSOR, a script object CUSTOM_OBJ. A tied parameter is a PARAMETER under each of its names
 *    (upstream made the second name a CONSTANT_TENSOR missing from the constants).
 * 2. One placeholder per target, however many `get_attr`s read it (upstream #4642).
 * 3. Placeholders go before the first user input, in canonical order: parameters, buffers, constant
 *    tensors, custom objects, each in order of first use (upstream: `get_attr` order, kinds interleaved).
 *    With no user input they go after the existing placeholders (upstream asserted).
 * 4. A placeholder is named as upstream names it: the target with `.` replaced by `_`, made unique while the
 *    `get_attr` still exists (`bn.weight` gives `bn_weight_1`); its target is that string, suffixed `_k`
 *    when another placeholder already has it (`a.b` and `a_b`; upstream generated a duplicate argument).
 * 5. Its meta is a copy of the `get_attr`'s, with `val` the true metadata: a tensor's own dtype, shape,
 *    stride, offset, device and `requires_grad` (upstream: a real float32 CPU tensor of stride 1), or the
 *    custom object under the placeholder's own name with its real class (upstream: the erased node's name
 *    and `""`).
 * 6. `get_attr`s of graph modules (higher-order-op subgraphs) are not state and stay.
 * 7. Dead code is eliminated and the graph linted afterwards. Both walks are skipped where they cannot find
 *    anything: the graph came in as cleanup's dead-code elimination and lint left it (no pass changed it
 *    since) and its placeholders lead it (see `run`).
 *
 * @since 0.1.0
 */
import * as DeadCode from "../graph/DeadCode.ts"
import * as Lint from "../graph/Lint.ts"
import * as Meta from "../graph/Meta.ts"
import * as Module from "../graph/Module.ts"
import type { Node } from "../graph/Node.ts"
import type { ScriptObject, Tensor } from "../graph/Tensor.ts"
import type * as Signature from "../program/Signature.ts"
import * as GraphState from "./GraphState.ts"
import * as Pass from "./Pass.ts"
import * as PassError from "./PassError.ts"

const NAME = "lift"

/**
 * A lifted input spec.
 *
 * @since 0.1.0
 * @category models
 */
export type LiftedSpec = Exclude<Signature.InputSpec, { readonly _tag: "UserInput" }>

/**
 * What lifting produced: the new input specs, in canonical order, and the state they stand for.
 *
 * @since 0.1.0
 * @category models
 */
export interface Lifted {
  readonly specs: Array<LiftedSpec>
  readonly stateDict: Map<string, Tensor>
  readonly constants: Map<string, Tensor | ScriptObject>
}

type Classified =
  | { readonly kind: "Parameter"; readonly tensor: Tensor }
  | { readonly kind: "Buffer"; readonly tensor: Tensor; readonly persistent: boolean }
  | { readonly kind: "ConstantTensor"; readonly tensor: Tensor }
  | { readonly kind: "CustomObj"; readonly object: ScriptObject }

const RANK = { Parameter: 0, Buffer: 1, ConstantTensor: 2, CustomObj: 3 } as const

// The get_attrs of one target, and what they read.
interface Entry {
  readonly target: string
  readonly classified: Classified
  readonly nodes: Array<Node>
}

/**
 * Lifts the given `get_attr` nodes (in graph order) into placeholders inserted before `before` (the first
 * user input; `undefined`: after the last placeholder, or first in a graph without any), adding to `into`. Shared by the lift pass and by the
 * load side's engine lifting. Synchronous graph work for a pass's `PassError.attempt`: a target that does not
 * resolve throws the pass's `PassError`.
 *
 * @internal
 */
export const liftGetAttrs = (
  gm: Module.GraphModule,
  getAttrs: ReadonlyArray<Node>,
  before: Node | undefined,
  into: Lifted,
  pass: string = NAME
): void => {
  const g = gm.graph
  const byTarget = new Map<string, Entry>()
  for (const node of getAttrs) {
    const entry = byTarget.get(node.target)
    if (entry !== undefined) {
      entry.nodes.push(node)
      continue
    }
    const found = Module.resolve(gm, node.target)
    if (found === undefined) {
      throw PassError.run(pass, `get_attr ${node.name} reads ${node.target}, which is not in the module tree`, { node: node.name })
    }
    let classified: Classified
    switch (found.kind) {
      case "module":
        if (found.module.kind !== "graph_module") {
          throw PassError.run(pass, `get_attr ${node.name} reads module ${node.target}, which is not a graph module`, {
            node: node.name
          })
        }
        continue // a subgraph, not state
      case "parameter":
        classified = { kind: "Parameter", tensor: found.tensor }
        break
      case "buffer":
        classified = { kind: "Buffer", tensor: found.tensor, persistent: !found.owner.state.nonPersistent.has(found.name) }
        break
      case "constant":
        classified = found.value._tag === "Tensor"
          ? { kind: "ConstantTensor", tensor: found.value }
          : { kind: "CustomObj", object: found.value }
        break
    }
    byTarget.set(node.target, { target: node.target, classified, nodes: [node] })
  }
  // Canonical order, each kind in graph order: parameters, buffers, constant tensors, custom objects.
  const ordered: Array<Entry> = []
  for (let rank = 0; rank < 4; rank++) {
    byTarget.forEach((e) => {
      if (RANK[e.classified.kind] === rank) ordered.push(e)
    })
  }
  const placeholders = g.findNodes("placeholder")
  let anchor = before ?? (placeholders.length > 0 ? placeholders.at(-1)!.next : g.first)
  // Never anchor on a get_attr about to be erased: step past those.
  const isLifted = (n: Node) => n.op === "get_attr" && byTarget.get(n.target)?.nodes.includes(n) === true
  while (anchor !== undefined && isLifted(anchor)) anchor = anchor.next
  // Placeholder targets are parameter names of the generated code: a derived target already taken (a
  // parameter `a.b` and a constant `a_b`) gets a `_k` suffix (upstream emitted a duplicate argument).
  const targets = new Set(placeholders.map((p) => p.target))
  const placeholderTarget = (target: string): string => {
    const base = target.replaceAll(".", "_")
    let t = base
    for (let k = 1; targets.has(t); k++) t = `${base}_${k}`
    targets.add(t)
    return t
  }
  // One insertion point for all: before the anchor (or at the end), so placeholders come out in order.
  const liftEach = () => liftAll(g, ordered, placeholderTarget, into)
  if (anchor === undefined) g.insertingAfter(undefined, liftEach)
  else g.insertingBefore(anchor, liftEach)
}

const liftAll = (
  g: Module.GraphModule["graph"],
  ordered: ReadonlyArray<Entry>,
  placeholderTarget: (target: string) => string,
  into: Lifted
): void => {
  for (const { target, classified, nodes } of ordered) {
    const first = nodes[0]!
    const ph = g.placeholder(placeholderTarget(target), { meta: Meta.copy(first.meta) })
    for (const node of nodes) {
      node.replaceAllUsesWith(ph)
      g.eraseNode(node)
    }
    switch (classified.kind) {
      case "CustomObj":
        ph.meta.val = { custom_obj: { name: ph.name, class_fqn: classified.object.classFqn } }
        into.constants.set(target, classified.object)
        into.specs.push({ _tag: "CustomObj", arg: { _tag: "CustomObjArgument", name: ph.name, classFqn: classified.object.classFqn }, target })
        break
      case "Parameter":
        ph.meta.val = Meta.tensorVal(classified.tensor)
        into.stateDict.set(target, classified.tensor)
        into.specs.push({ _tag: "Parameter", arg: { _tag: "TensorArgument", name: ph.name }, target })
        break
      case "Buffer":
        ph.meta.val = Meta.tensorVal(classified.tensor)
        ;(classified.persistent ? into.stateDict : into.constants).set(target, classified.tensor)
        into.specs.push({
          _tag: "Buffer",
          arg: { _tag: "TensorArgument", name: ph.name },
          target,
          persistent: classified.persistent
        })
        break
      case "ConstantTensor":
        ph.meta.val = Meta.tensorVal(classified.tensor)
        into.constants.set(target, classified.tensor)
        into.specs.push({ _tag: "ConstantTensor", arg: { _tag: "TensorArgument", name: ph.name }, target })
        break
    }
  }
}

/**
 * @since 0.1.0
 * @category passes
 */
export const lift: Pass.Pass<GraphState.InlinedModule, GraphState.LiftedModule> = Pass.make({
  name: NAME,
  upstream: "torch_tensorrt.dynamo._exporter.lift",
  requires: GraphState.InlinedModule,
  ensures: GraphState.LiftedModule,
  changesInput: true,
  run: ({ module: gm }) =>
    PassError.attempt(NAME, () => {
      const lifted: Lifted = { specs: [], stateDict: new Map(), constants: new Map() }
      const g = gm.graph
      // Upstream closes with `eliminate_dead_code(); lint()`. When the graph came in as the last lint and
      // dead-code elimination left it (cleanup's, unless a pass in between changed it) and its placeholders
      // lead it, neither can find anything in what lifting does: it puts placeholders (which have no inputs
      // and are never dead) before every other node, moves every user of each get_attr to its placeholder,
      // and erases the get_attrs (which have no inputs, so no node loses a user it still needs), reading
      // each target, so that none is left dangling. The two walks are then skipped; the test suite lints
      // every pass's output regardless (GraphState.LintBetweenPasses).
      const clean = g.isClean && g.placeholdersLead
      const firstUserInput = g.findNodes("placeholder")[0]
      liftGetAttrs(gm, g.findNodes("get_attr"), firstUserInput, lifted)
      if (!clean) {
        // Linting once: nothing in between can break it.
        DeadCode.eliminateDeadCode(g, { lint: false })
        Lint.lint(g)
      }
      return {
        module: gm,
        inputSpecs: lifted.specs,
        stateDict: lifted.stateDict,
        constants: lifted.constants
      }
    })
})
