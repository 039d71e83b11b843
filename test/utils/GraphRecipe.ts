/**
 * Random valid graphs and random mutation sequences, described by schemas so that `it.prop` derives their
 * arbitraries (and shrinks them). A recipe refers to earlier nodes by index modulo how many exist, so every
 * recipe builds a valid, topologically ordered graph.
 */
import { Schema } from "effect"
import * as Argument from "../../src/graph/Argument.ts"
import { Graph } from "../../src/graph/Graph.ts"
import * as Module from "../../src/graph/Module.ts"
import type { Node } from "../../src/graph/Node.ts"
import * as Tensor from "../../src/graph/Tensor.ts"

const Index = Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 1000 }))

// Candidates that exercise fx's naming: duplicates, reserved words, suffixes, illegal characters.
export const NameCandidate = Schema.Literals([
  "x", "x_1", "add", "add_1", "add_5", "input", "sum", "a.b", "1abc", "", "getitem", "None", "foo__1", "myInput", "w"
])

export const Targets = Schema.Literals([
  "torch.ops.aten.add.Tensor",
  "torch.ops.aten.mul.Tensor",
  "torch.ops.aten.relu.default",
  "torch.ops.aten.cat.default",
  "_operator.getitem",
  "torch.ops.tensorrt.execute_engine.default",
  "torch.ops.aten.add_.Tensor"
])

// A literal argument, or a reference to an earlier node.
export const Leaf = Schema.Union([
  Schema.Struct({ ref: Index }),
  Schema.Struct({ int: Schema.Int.check(Schema.isBetween({ minimum: -5, maximum: 5 })) }),
  Schema.Struct({ float: Schema.Literals(["0.5", "-1", "inf", "nan"]) }),
  Schema.Struct({ str: Schema.Literals(["a", "b"]) }),
  Schema.Struct({ none: Schema.Literal(true) })
])
export const Arg = Schema.Union([
  Leaf,
  Schema.Struct({ list: Schema.Array(Leaf).check(Schema.isMaxLength(3)) }),
  Schema.Struct({ tuple: Schema.Array(Leaf).check(Schema.isMaxLength(3)) })
])

export const Step = Schema.Union([
  Schema.Struct({ op: Schema.Literal("placeholder"), name: NameCandidate }),
  Schema.Struct({
    op: Schema.Literal("call_function"),
    target: Targets,
    args: Schema.Array(Arg).check(Schema.isMaxLength(3)),
    kwarg: Schema.optionalKey(Arg),
    name: Schema.optionalKey(NameCandidate)
  }),
  Schema.Struct({ op: Schema.Literal("get_attr") }),
  Schema.Struct({ op: Schema.Literal("call_method"), args: Schema.Array(Arg).check(Schema.isMaxLength(2)) })
])

export const GraphRecipe = Schema.Struct({
  steps: Schema.Array(Step).check(Schema.isMinLength(1), Schema.isMaxLength(40)),
  outputs: Schema.Array(Index).check(Schema.isMaxLength(3))
})
export type GraphRecipe = typeof GraphRecipe.Type

const leaf = (l: typeof Leaf.Type, pool: ReadonlyArray<Node>): Argument.Argument => {
  if ("ref" in l) return pool.length === 0 ? null : pool[l.ref % pool.length]!
  if ("int" in l) return l.int
  if ("float" in l) return Argument.float(l.float === "inf" ? Infinity : l.float === "nan" ? NaN : Number(l.float))
  if ("str" in l) return l.str
  return null
}
export const arg = (a: typeof Arg.Type, pool: ReadonlyArray<Node>): Argument.Argument => {
  if ("list" in a) return a.list.map((l) => leaf(l, pool))
  if ("tuple" in a) return Argument.tuple(...a.tuple.map((l) => leaf(l, pool)))
  return leaf(a, pool)
}

/** Builds a root graph module: `w0`..`w2` parameters (w1 tied to w0), get_attrs read them. */
export const build = (recipe: GraphRecipe): Module.GraphModule => {
  const gm = new Module.GraphModule(new Graph())
  const bytes = new Uint8Array(64).map((_, i) => i)
  const storage = Tensor.storage(bytes)
  const w = Tensor.make({ storage, dtype: "float32", shape: [4, 2], requiresGrad: true })
  Module.registerParameter(gm, "w0", w)
  Module.registerParameter(gm, "w1", w)
  Module.registerBuffer(gm, "b0", Tensor.make({ storage, dtype: "float32", shape: [2], storageOffset: 4 }), false)
  const g = gm.graph
  const pool: Array<Node> = []
  let attrs = 0
  for (const step of recipe.steps) {
    switch (step.op) {
      case "placeholder":
        pool.push(g.placeholder(step.name, { meta: { val: { tensor: tensorMeta } } }))
        break
      case "call_function":
        pool.push(
          g.callFunction(
            step.target,
            step.args.map((a) => arg(a, pool)),
            step.kwarg === undefined ? {} : { alpha: arg(step.kwarg, pool) },
            { name: step.name }
          )
        )
        break
      case "get_attr":
        pool.push(g.getAttr(["w0", "w1", "b0"][attrs++ % 3]!))
        break
      case "call_method":
        pool.push(g.callMethod("relu", step.args.map((a) => arg(a, pool))))
        break
    }
  }
  g.output(Argument.tuple(...recipe.outputs.map((i) => (pool.length === 0 ? null : pool[i % pool.length]!))))
  return gm
}

const tensorMeta = {
  shape: [2, "s0"],
  stride: ["s0", 1],
  storage_offset: 0,
  dtype: "float32",
  device: "cuda:0",
  requires_grad: false
} as const

/** One random edit of a graph that keeps it valid (or that the graph must refuse without changing). */
export const Mutation = Schema.Union([
  Schema.Struct({ kind: Schema.Literal("insertBefore"), at: Index, target: Targets, inputs: Schema.Array(Index).check(Schema.isMaxLength(3)) }),
  Schema.Struct({ kind: Schema.Literal("insertAfter"), at: Index, target: Targets, inputs: Schema.Array(Index).check(Schema.isMaxLength(3)) }),
  Schema.Struct({ kind: Schema.Literal("erase"), at: Index }),
  Schema.Struct({ kind: Schema.Literal("replaceAllUses"), at: Index, by: Index }),
  Schema.Struct({ kind: Schema.Literal("setArgs"), at: Index, inputs: Schema.Array(Index).check(Schema.isMaxLength(3)) }),
  Schema.Struct({ kind: Schema.Literal("rename"), at: Index, name: NameCandidate }),
  Schema.Struct({ kind: Schema.Literal("setMeta"), at: Index }),
  Schema.Struct({ kind: Schema.Literal("deadCode") })
])
export type Mutation = typeof Mutation.Type

/**
 * Applies a mutation. Inputs are picked among the nodes before the place where they are used, so the graph
 * stays topologically ordered; an erase of a node with users must be refused (returns "refused").
 */
export const apply = (
  g: Graph,
  m: Mutation,
  deadCode: (g: Graph) => void
): "done" | "refused" | "skipped" => {
  const nodes = [...g.nodes()].filter((n) => n.op !== "output")
  if (m.kind === "deadCode") {
    deadCode(g)
    return "done"
  }
  if (nodes.length === 0) return "skipped"
  const i = m.at % nodes.length
  const node = nodes[i]!
  const before = (k: number) => nodes.slice(0, k)
  switch (m.kind) {
    case "insertBefore": {
      const pool = before(i)
      g.insertingBefore(node, () => g.callFunction(m.target, m.inputs.map((j) => (pool.length ? pool[j % pool.length]! : null))))
      return "done"
    }
    case "insertAfter": {
      const pool = before(i + 1)
      g.insertingAfter(node, () => g.callFunction(m.target, m.inputs.map((j) => pool[j % pool.length]!)))
      return "done"
    }
    case "erase":
      if (node.users.size > 0) return "refused"
      g.eraseNode(node)
      return "done"
    case "replaceAllUses": {
      if (i === 0) return "skipped"
      node.replaceAllUsesWith(nodes[m.by % i]!)
      return "done"
    }
    case "setArgs": {
      if (node.op === "placeholder") return "skipped"
      const pool = before(i)
      node.args = m.inputs.map((j) => (pool.length ? pool[j % pool.length]! : 0))
      return "done"
    }
    case "rename":
      g.renameNode(node, m.name)
      return "done"
    case "setMeta":
      node.meta.val = { int: m.at }
      node.meta.stack_trace = `mutated ${m.at}`
      return "done"
  }
}
