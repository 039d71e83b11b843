/**
 * `copyAndInline`: `deepCopy`, `inlineTrtModules` and `inlineTorchModules` fused into one walk of the
 * original root graph, for pipelines that run the three in a row (`transform` does; see
 * {@link fusion} and `Pipeline.withFusion`).
 *
 * Run one after another, the three passes copy every root node, then erase the calls of TensorRT and
 * fallback modules and the getitems of fallback results: two thirds of the root graph of a partitioned
 * module is copied only to be erased. The fused walk copies a root node only when it survives, and writes
 * each call's replacement (the engine call, the fallback module's nodes) in its place as it goes.
 *
 * It gives the same module as the three passes, name for name: it makes nodes in graph order but names
 * them in the order the passes would (the root's names in graph order, as the copy takes them; then the
 * engine nodes, TensorRT module by module in registration order; then the fallback modules' nodes, call by
 * call), and registers the engines and the fallback modules' state in the passes' order. What it does not
 * keep is the order of users lists, which no later pass and no archive reads (docs/divergences.md). A
 * property test holds the two to the same exported program on random partitioned modules.
 *
 * Where the fused walk would have to replay more of the passes than it does, it does not run: the passes
 * run one after another instead, with their own checks and errors. That is when the root graph does not
 * lint or holds dead code (which `inlineTorchModules` eliminates before it inlines), when an engine takes or
 * gives a scalar (rule 8 of `inlineTrtModules`), when a fallback module calls a module or reads a graph
 * module (nested inlining, rule 5 of `inlineTorchModules`), and when anything fails: the error is then the
 * passes' own.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import * as Argument from "../graph/Argument.ts"
import * as DeadCode from "../graph/DeadCode.ts"
import { Graph } from "../graph/Graph.ts"
import { GraphError } from "../graph/GraphError.ts"
import * as GraphModule from "../graph/GraphModule.ts"
import * as Lint from "../graph/Lint.ts"
import type { Val } from "../graph/Meta.ts"
import * as Meta from "../graph/Meta.ts"
import * as Module from "../graph/Module.ts"
import * as Namespace from "../graph/Namespace.ts"
import type { Node } from "../graph/Node.ts"
import * as EngineRecord from "../program/EngineRecord.ts"
import { deepCopy } from "./DeepCopy.ts"
import * as GraphState from "./GraphState.ts"
import { copyAttributes, elementsOf, inlineTorchModules, wireInputs } from "./InlineTorchModules.ts"
import * as InlineTrt from "./InlineTrtModules.ts"
import * as Pass from "./Pass.ts"
import { PassError } from "./PassError.ts"
import type * as Pipeline from "./Pipeline.ts"

/** @since 0.1.0 @category models */
export const NAME = "deepCopy+inlineTrtModules+inlineTorchModules"

type Step = Pass.Pass<GraphState.CompiledModule, GraphState.CompiledModule>

/**
 * The three passes, and the pass that runs in their place.
 *
 * @since 0.1.0
 * @category models
 */
export interface Fusion extends Pipeline.Fusion {
  readonly passes: readonly [Step, Step, Step]
  readonly pass: Step
}

/**
 * The fusion of `deepCopy`, `inlineTrtModules(options)` and `inlineTorchModules`: a pipeline that holds the
 * three passes in a row runs the fused pass in their place (`Pipeline.withFusion`). The passes it returns
 * are the ones to put in the pipeline.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fusion = (options?: { readonly crossCompile?: boolean }): Fusion => {
  const passes = [deepCopy, InlineTrt.inlineTrtModules(options), inlineTorchModules] as const
  const crossCompile = options?.crossCompile === true
  const pass: Step = Pass.make({
    name: NAME,
    upstream: "torch_tensorrt.dynamo._exporter.transform (copy.deepcopy, inline_trt_modules, inline_torch_modules)",
    requires: GraphState.CompiledModule,
    ensures: GraphState.CompiledModule,
    run: (gm) =>
      Effect.suspend(() => {
        const fused = attempt(gm, crossCompile)
        if (fused !== undefined) return Effect.succeed(fused as GraphState.CompiledModule)
        // The passes one after another, each output checked; the input was checked as the fused pass's.
        let state: Effect.Effect<any, PassError> = Effect.succeed(gm)
        for (const p of passes) state = Effect.flatMap(state, (value) => Pass.applyQuietly(p, value, { checked: true }))
        return state as Effect.Effect<GraphState.CompiledModule, PassError>
      })
  })
  return { passes, pass }
}

// Thrown where the fused walk does not apply; the passes run one after another instead.
class Unfused {}
const unfused = (): never => {
  throw new Unfused()
}

/**
 * @internal The fused module, or undefined where the passes must run one after another (exported for the
 * tests, which hold the two paths to the same result).
 */
export const attempt = (gm: Module.GraphModule, crossCompile: boolean): Module.GraphModule | undefined => {
  try {
    return fuse(gm, crossCompile)
  } catch (e) {
    if (e instanceof Unfused || e instanceof PassError || e instanceof GraphError) return undefined
    throw e
  }
}

/**
 * What the walk knows of the original root graph, by each node's position there: what its users read in the
 * new graph (arrays, not maps: a map as large as the graph is a cache miss per node).
 */
class Walk {
  /** The position of the node being walked: a node before it has its value. */
  at = 0
  /** What each node stands for in the new graph. */
  readonly values: Array<Argument.Argument>
  /** 1 for a getitem of a fallback result: it reads an element of the result and is not copied. */
  readonly routed: Uint8Array
  /** The outputs of each multi-output engine call, for the metas of its getitems. */
  readonly outputs: Array<ReadonlyArray<Val> | undefined>
  readonly lookup: (n: Node) => Argument.Argument

  constructor(source: Graph) {
    // Positions are valid from here on: the original does not change while the walk reads it.
    source.positionOf(source.first ?? unfused())
    this.values = new Array(source.size)
    this.routed = new Uint8Array(source.size)
    this.outputs = new Array(source.size)
    // A node read before it is walked is out of order: left to the passes, for their error.
    this.lookup = (n) => (n.graph === source && n._position < this.at ? this.values[n._position]! : unfused())
  }
}

// One call of a TensorRT module: the nodes made for it, in the order the pass makes them (for a dead call,
// the names they take: the pass makes them before dead code is eliminated).
interface EngineCall {
  readonly made: ReadonlyArray<Node | string>
  readonly attr: Node | undefined
}

// One call of a fallback module: its copied nodes and the names its placeholders take, in graph order.
interface FallbackCall {
  readonly call: Node
  readonly sub: Module.GraphModule
  readonly made: ReadonlyArray<Node | string>
}

const fuse = (gm: Module.GraphModule, crossCompile: boolean): Module.GraphModule => {
  const src = gm.graph
  // inlineTorchModules lints before it inlines (a graph that fails is left to the passes, for their error),
  // and eliminates dead code, which is read here off the original.
  Lint.lint(src)
  const dead = deadNodes(gm)

  const g = new Graph()
  const copy = GraphModule.deepCopy(gm, { lazy: true, graph: g })

  // Engines, as inlineTrtModules prepares them: module by module in registration order, for the names
  // that are called.
  const called = new Set<string>()
  for (const node of src.findNodes("call_module", undefined, { sort: false })) called.add(node.target)
  const engines = new Map<string, InlineTrt.PreparedEngine>()
  const seen = new Map<Module.TrtModule, InlineTrt.PreparedEngine>()
  copy.children.forEach((child, name) => {
    if (child.kind === "trt_module" && called.has(name)) engines.set(name, InlineTrt.prepareEngine(copy, name, child, seen, crossCompile))
  })

  const walk = new Walk(src)
  const engineCalls = new Map<string, Array<EngineCall>>()
  const fallbackCalls: Array<FallbackCall> = []
  for (const node of src.nodes()) {
    walk.at = node._position
    if (walk.routed[node._position] === 1 || (dead !== undefined && dead.has(node) && node.op !== "call_module")) {
      // A getitem of a fallback result, which inlining erases, or a dead node: its copy only took its name.
      g.createName(node.name)
      continue
    }
    if (node.op === "output") {
      g.output(Argument.mapNodes(node.args[0] ?? null, walk.lookup), { meta: Meta.copy(node.meta) })
      break
    }
    if (node.op === "call_module") {
      // The copy of the call takes its name, in graph order, and is erased by inlining.
      g.createName(node.name)
      const live = dead === undefined || !dead.has(node)
      const engine = engines.get(node.target)
      if (engine !== undefined) {
        const child = copy.children.get(node.target) as Module.TrtModule
        inlineEngine(g, node, child, engine, live, walk, engineCalls)
      } else {
        const sub = Module.getSubmodule(gm, node.target)
        if (sub?.kind !== "graph_module") return unfused()
        // A dead call is erased before fallback modules are inlined: it is not inlined.
        if (live) inlineFallback(g, node, sub, walk, fallbackCalls)
      }
      continue
    }
    const copied = g.createNode(node.op, node.target, Argument.mapNodes(node.args, walk.lookup) as ReadonlyArray<Argument.Argument>,
      Argument.mapKwargs(node.kwargs, walk.lookup), { name: node.name, meta: Meta.copy(node.meta) })
    // inlineTrtModules rule 6: a getitem of a multi-output engine call takes the meta of its index.
    const index = node.args[1]
    const of = node.args[0]
    if (node.op === "call_function" && node.target === InlineTrt.GETITEM && typeof index === "number" && Argument.isNode(of ?? null)) {
      const outputs = (of as Node).graph === src ? walk.outputs[(of as Node)._position] : undefined
      if (outputs?.[index] !== undefined) copied.meta.val = outputs[index]
    }
    walk.values[node._position] = copied
  }

  // Names, in the passes' order: the engine nodes, module by module, then the fallback modules' nodes.
  for (const name of engines.keys()) {
    for (const { made, attr } of engineCalls.get(name) ?? []) {
      for (const m of made) {
        if (typeof m === "string") g.createName(m)
        else g._nameNode(m)
      }
      if (attr !== undefined) attr.meta.val = { custom_obj: { name: attr.name, class_fqn: EngineRecord.ENGINE_CLASS_FQN } }
    }
  }
  for (const { call, sub, made } of fallbackCalls) {
    for (const m of made) {
      if (typeof m === "string") g.createName(m)
      else g._nameNode(m)
    }
    copyAttributes(copy, sub, call)
  }
  return copy
}

// inlineTrtModules' inlineCall, written in place of the call.
const inlineEngine = (
  g: Graph,
  call: Node,
  child: Module.TrtModule,
  engine: InlineTrt.PreparedEngine,
  live: boolean,
  walk: Walk,
  engineCalls: Map<string, Array<EngineCall>>
): void => {
  const val = call.meta.val
  if (val === undefined) return unfused()
  const outputs: ReadonlyArray<Val> = Array.isArray(val) ? val : [val]
  // Scalars at the engine boundary (rule 8) are left to the pass.
  for (const output of outputs) if (InlineTrt.scalarDtype(output) !== undefined) unfused()
  const args = InlineTrt.engineInputs(call, child)
  for (const a of args) if (InlineTrt.scalarInputDtype(a) !== undefined) unfused()
  const made: Array<Node | string> = []
  let calls = engineCalls.get(call.target)
  if (calls === undefined) engineCalls.set(call.target, (calls = []))
  if (!live) {
    // Made by inlineTrtModules, then eliminated as dead code: only their names are taken.
    if (engine.engineAttr !== undefined) made.push(Namespace.candidateFor("get_attr", engine.engineAttr))
    made.push(Namespace.candidateFor("call_function", engine.engineAttr === undefined ? InlineTrt.NO_OP_PLACEHOLDER : InlineTrt.EXECUTE_ENGINE))
    if (outputs.length === 1) made.push(Namespace.candidateFor("call_function", InlineTrt.GETITEM))
    calls.push({ made, attr: undefined })
    return
  }
  const inputs = args.map((a) => Argument.mapNodes(a, walk.lookup))
  let attr: Node | undefined
  let result: Node
  if (engine.engineAttr === undefined) {
    result = unnamed(g, "call_function", InlineTrt.NO_OP_PLACEHOLDER, [Argument.tuple(...inputs), ...engine.packed], { val: outputs })
    made.push(result)
  } else {
    attr = unnamed(g, "get_attr", engine.engineAttr, [], {})
    result = unnamed(g, "call_function", InlineTrt.EXECUTE_ENGINE, [Argument.tuple(...inputs), attr], { val: outputs })
    made.push(attr, result)
  }
  if (outputs.length === 1) {
    result = unnamed(g, "call_function", InlineTrt.GETITEM, [result, 0], { val: outputs[0]! })
    made.push(result)
  } else {
    // Rule 6 gives a getitem user the meta of its index wherever the call sits in its arguments; the walk
    // reads only the first.
    for (const user of call.userList) {
      if (user.op === "call_function" && user.target === InlineTrt.GETITEM && typeof user.args[1] === "number" && user.args[0] !== call) {
        unfused()
      }
    }
    walk.outputs[call._position] = outputs
  }
  walk.values[call._position] = result
  calls.push({ made, attr })
}

// inlineTorchModules' inlineCall for a top-level call, written in place of the call.
const inlineFallback = (
  g: Graph,
  call: Node,
  sub: Module.GraphModule,
  walk: Walk,
  fallbackCalls: Array<FallbackCall>
): void => {
  const source = sub._readGraph
  const placeholders = source.findNodes("placeholder")
  const wired = wireInputs(call, placeholders, (a) => Argument.mapNodes(a, walk.lookup))
  // What each node of the fallback graph stands for, by its position there (a map per call was a tenth of
  // the pass's allocations); a node read before the walk reaches it is out of order, left to the passes.
  source.positionOf(source.first ?? unfused())
  const values: Array<Argument.Argument> = new Array(source.size)
  let at = 0
  const local = (n: Node): Argument.Argument => (n.graph === source && n._position < at ? values[n._position]! : unfused())
  placeholders.forEach((ph, i) => {
    values[ph._position] = wired[i]!
  })
  const made: Array<Node | string> = []
  let result: Argument.Argument = null
  for (const node of source.nodes()) {
    at = node._position
    if (node.op === "placeholder") {
      made.push(node.name)
      at++
      continue
    }
    if (node.op === "output") {
      result = Argument.mapNodes(node.args[0] ?? null, local)
      break
    }
    // Nested calls and subgraphs (rule 5) are left to the pass.
    if (node.op === "call_module" || (node.op === "get_attr" && Module.isModuleAt(sub, node.target))) unfused()
    const copied = g._createUnnamed(node.op, node.target, Argument.mapNodes(node.args, local) as ReadonlyArray<Argument.Argument>,
      Argument.mapKwargs(node.kwargs, local), Meta.copy(node.meta), node.name)
    values[node._position] = copied
    made.push(copied)
  }
  fallbackCalls.push({ call, sub, made })
  // Rule 3: each getitem of a tuple or list result reads its element, and is not copied; other users read
  // the result itself.
  walk.values[call._position] = result
  const elements = elementsOf(result)
  if (elements === undefined) return
  for (const user of call.userList) {
    const index = user.args[1]
    if (user.op === "call_function" && user.target === InlineTrt.GETITEM && user.args[0] === call && typeof index === "number") {
      const element = elements[index < 0 ? elements.length + index : index]
      if (element === undefined) unfused()
      walk.values[user._position] = element!
      walk.routed[user._position] = 1
    }
  }
}

/**
 * The root nodes that inlineTorchModules' dead-code elimination erases (fx's `eliminate_dead_code` on the
 * graph as inlineTrtModules leaves it), or undefined when there are none: a node without side effects all of
 * whose users are dead. A call of a TensorRT module counts as the engine call that replaces it, which has
 * none (DeadCode.isImpure of a call_module would ask the TensorRT module).
 */
const deadNodes = (gm: Module.GraphModule): Set<Node> | undefined => {
  let dead: Set<Node> | undefined
  // How many users of a node are dead: most graphs have no dead node at all, and then nothing is counted.
  let deadUsers: Map<Node, number> | undefined
  for (const node of gm.graph.reversed()) {
    const pure = node.op === "call_module" && gm.children.get(node.target)?.kind === "trt_module" ? true : !DeadCode.isImpure(node)
    if (!pure || node.userCount !== (deadUsers?.get(node) ?? 0)) continue
    dead ??= new Set()
    dead.add(node)
    deadUsers ??= new Map()
    for (const input of node.inputNodes) deadUsers.set(input, (deadUsers.get(input) ?? 0) + 1)
  }
  return dead
}

const unnamed = (g: Graph, op: "call_function" | "get_attr", target: string, args: ReadonlyArray<Argument.Argument>, meta: Meta.Meta) =>
  g._createUnnamed(op, target, args, Argument.noKwargs, meta, Namespace.candidateFor(op, target))
