/**
 * Test helpers for the graph IR: build graphs tersely, print graphs and module trees deterministically,
 * make tensors, and check GraphErrors.
 *
 * A graph is written as a list of node specs `[name, op, target, args?, kwargs?, meta?]`. Inside args and
 * kwargs (at any depth: arrays, tuples, dicts, slices) a string `"%name"` refers to the node built earlier
 * under that name, as fx's printouts write it; any other value is a literal (use {@link lit} for a literal
 * string that starts with `%`).
 *
 * ```ts
 * const { graph, n } = build([
 *   ["x", "placeholder", "x"],
 *   ["add", "call_function", "torch.ops.aten.add.Tensor", ["%x", "%x"]],
 *   out("%add")
 * ])
 * ```
 *
 * Each node is created with `name` as its candidate, so its name is exactly `name` unless the graph's
 * namespace changes it; by default that is an error (pass `strictNames: false` to allow it).
 */
import { assert } from "@effect/vitest"
import * as Argument from "../../src/graph/Argument.ts"
import { Graph } from "../../src/graph/Graph.ts"
import { GraphError, type GraphFault } from "../../src/graph/GraphError.ts"
import type { Meta } from "../../src/graph/Meta.ts"
import type { Module } from "../../src/graph/Module.ts"
import type { Node, Op } from "../../src/graph/Node.ts"
import * as Tensor from "../../src/graph/Tensor.ts"

// ===== Building graphs =====

/** A node spec: `[name, op, target, args?, kwargs?, meta?]`; `"%name"` inside args/kwargs is a reference. */
export type NodeSpec = readonly [
  name: string,
  op: Op,
  target: string,
  args?: ReadonlyArray<Argument.Argument>,
  kwargs?: Argument.Kwargs,
  meta?: Meta
]

/** A built graph and its nodes by the names of their specs. */
export interface Built {
  readonly graph: Graph
  /** The node built from the spec named `name` (throws for an unknown name). */
  readonly n: (name: string) => Node
  readonly nodes: ReadonlyMap<string, Node>
}

const LITERAL = Symbol("literal")

/** A literal string argument that starts with `%` (not a reference). */
export const lit = (s: string): Argument.Argument => ({ [LITERAL]: s }) as unknown as Argument.Argument

/** The output spec returning `result`. */
export const out = (result: Argument.Argument, name = "output"): NodeSpec => [name, "output", "output", [result]]

/** A placeholder spec whose target is its name. */
export const ph = (name: string, meta?: Meta): NodeSpec =>
  meta === undefined ? [name, "placeholder", name] : [name, "placeholder", name, [], {}, meta]

/** A call_function spec. */
export const fn = (
  name: string,
  target: string,
  args: ReadonlyArray<Argument.Argument> = [],
  kwargs: Argument.Kwargs = {},
  meta?: Meta
): NodeSpec => (meta === undefined ? [name, "call_function", target, args, kwargs] : [name, "call_function", target, args, kwargs, meta])

/**
 * Resolves `"%name"` references of an argument against a lookup.
 */
export const resolveArg = (a: Argument.Argument, lookup: (name: string) => Node): Argument.Argument => {
  if (typeof a === "string") return a.startsWith("%") ? lookup(a.slice(1)) : a
  if (a === null || typeof a !== "object") return a
  if (Array.isArray(a)) return (a as ReadonlyArray<Argument.Argument>).map((x) => resolveArg(x, lookup))
  if (LITERAL in (a as object)) return (a as unknown as { readonly [LITERAL]: string })[LITERAL]
  const tagged = a as Exclude<Argument.Argument, ReadonlyArray<Argument.Argument> | null | boolean | number | bigint | string>
  switch (tagged._tag) {
    case "Tuple":
      return Argument.tuple(...tagged.items.map((x) => resolveArg(x, lookup)))
    case "Dict":
      return Argument.dict(tagged.entries.map(([k, v]) => [resolveArg(k, lookup), resolveArg(v, lookup)] as const))
    case "Slice":
      return Argument.slice(resolveArg(tagged.start, lookup), resolveArg(tagged.stop, lookup), resolveArg(tagged.step, lookup))
    default:
      return tagged
  }
}

/**
 * Builds nodes from specs into `options.graph` (a new graph by default) at its current insertion point.
 */
export const build = (
  specs: ReadonlyArray<NodeSpec>,
  options?: { readonly graph?: Graph; readonly strictNames?: boolean }
): Built => {
  const graph = options?.graph ?? new Graph()
  const nodes = new Map<string, Node>()
  const n = (name: string): Node => {
    const node = nodes.get(name)
    if (node === undefined) throw new Error(`GraphBuilder: no node named ${name} was built before`)
    return node
  }
  for (const [name, op, target, args = [], kwargs = {}, meta] of specs) {
    const rargs = args.map((a) => resolveArg(a, n))
    const rkwargs: Record<string, Argument.Argument> = {}
    for (const k of Object.keys(kwargs)) rkwargs[k] = resolveArg(kwargs[k]!, n)
    const node = graph.createNode(op, target, rargs, rkwargs, meta === undefined ? { name } : { name, meta })
    if (options?.strictNames !== false && node.name !== name) {
      throw new Error(`GraphBuilder: node ${name} was named ${node.name} by the graph`)
    }
    nodes.set(name, node)
  }
  return { graph, n, nodes }
}

// ===== Reading graphs =====

/** The names of nodes, in iteration order. */
export const namesOf = (nodes: Iterable<Node>): Array<string> => [...nodes].map((x) => x.name)

/** The node names of a graph in graph order. */
export const names = (graph: Graph): Array<string> => namesOf(graph.nodes())

/** The names of a node's users, in users order. */
export const userNames = (node: Node): Array<string> => namesOf(node.users)

/** An argument as text: nodes as `%name`, tuples `(..)`, lists `[..]`, floats with a trailing `f`. */
export const formatArg = (a: Argument.Argument): string => {
  if (a === null) return "None"
  if (typeof a === "string") return JSON.stringify(a)
  if (typeof a === "bigint") return `${a}n`
  if (typeof a !== "object") return String(a)
  if (Array.isArray(a)) return `[${(a as ReadonlyArray<Argument.Argument>).map(formatArg).join(", ")}]`
  const tagged = a as Exclude<Argument.Argument, ReadonlyArray<Argument.Argument> | null | boolean | number | bigint | string>
  switch (tagged._tag) {
    case "Node":
      return `%${tagged.name}`
    case "Tuple":
      return `(${tagged.items.map(formatArg).join(", ")}${tagged.items.length === 1 ? "," : ""})`
    case "Dict":
      return `{${tagged.entries.map(([k, v]) => `${formatArg(k)}: ${formatArg(v)}`).join(", ")}}`
    case "Float":
      return `${tagged.value}f`
    case "Complex":
      return `complex(${tagged.real}, ${tagged.imag})`
    case "Slice":
      return `slice(${formatArg(tagged.start)}, ${formatArg(tagged.stop)}, ${formatArg(tagged.step)})`
    case "SymInt":
      return `SymInt(${tagged.expr})`
    default:
      return `${tagged._tag}(${tagged.name})`
  }
}

/**
 * A deterministic printout of a graph: one line per node with its name, op, target, args, kwargs, meta and
 * users, so that two printouts are equal exactly when the graphs read the same.
 */
export const printGraph = (graph: Graph): string =>
  [...graph.nodes()]
    .map((node) => {
      const kwargs = Object.entries(node.kwargs).map(([k, v]) => `${k}=${formatArg(v)}`)
      return `${node.name} = ${node.op}[${node.target}](${node.args.map(formatArg).join(", ")}` +
        `${kwargs.length > 0 ? ` | ${kwargs.join(", ")}` : ""}) meta=${JSON.stringify(node.meta)} users=[${userNames(node).join(", ")}]`
    })
    .join("\n")

const describeTensor = (t: Tensor.Tensor, ids: Map<object, number>): string => {
  const id = (o: object) => {
    let i = ids.get(o)
    if (i === undefined) ids.set(o, (i = ids.size))
    return i
  }
  return `tensor#${id(t)}(storage#${id(t.storage)}:${t.storage.bytes.byteLength}B ${t.dtype}${JSON.stringify(t.shape)} ` +
    `stride=${JSON.stringify(t.stride)} off=${t.storageOffset} ${t.device} grad=${t.requiresGrad})`
}

/**
 * A deterministic printout of a module tree: every child name (aliases included; an object seen before
 * is printed as a reference to its first path), its kind and flags, its parameters, buffers (with
 * persistence), constants, TensorRT fields and graph. Object identity shows as `#k` numbers assigned in
 * printing order, so printing the same tree twice gives the same text only if no identity changed either.
 */
export const printModule = (root: Module): string => {
  const ids = new Map<object, number>()
  const firstPath = new Map<Module, string>()
  const lines: Array<string> = []
  const walk = (mod: Module, path: string, depth: number): void => {
    const pad = "  ".repeat(depth)
    const seen = firstPath.get(mod)
    if (seen !== undefined) {
      lines.push(`${pad}${path || "<root>"} -> alias of ${seen || "<root>"}`)
      return
    }
    firstPath.set(mod, path)
    const kind = mod.kind === "module" ? `module(${mod.type})` : mod.kind
    lines.push(`${pad}${path || "<root>"}: ${kind} impure=${mod.impure}`)
    for (const [name, t] of mod.parameters) lines.push(`${pad}  param ${name} ${describeTensor(t, ids)}`)
    for (const [name, t] of mod.buffers) {
      lines.push(`${pad}  buffer ${name}${mod.nonPersistent.has(name) ? " (non-persistent)" : ""} ${describeTensor(t, ids)}`)
    }
    for (const [name, c] of mod.constants) {
      lines.push(`${pad}  const ${name} ${Tensor.isTensor(c) ? describeTensor(c, ids) : `script(${c.classFqn}) state=${c.state.map((s) => (typeof s === "string" ? JSON.stringify(s) : `bytes:${s.byteLength}`)).join(",")}`}`)
    }
    if (mod.kind === "trt_module") {
      lines.push(`${pad}  trt ${mod.name} in=${mod.inputBindingNames.join(",")} out=${mod.outputBindingNames.join(",")} ` +
        `engine=${mod.packedEngineInfo.map((s) => (typeof s === "string" ? JSON.stringify(s) : `bytes:${s.byteLength}`)).join(",")}`)
    }
    if (mod.kind === "graph_module") {
      lines.push(`${pad}  specs in=${mod.inSpec} out=${mod.outSpec} symbols=${mod.symbols === undefined ? "-" : JSON.stringify([...mod.symbols])}`)
      for (const line of printGraph(mod.graph).split("\n")) if (line !== "") lines.push(`${pad}  | ${line}`)
    }
    for (const [name, child] of mod.children) walk(child, path === "" ? name : `${path}.${name}`, depth + 1)
  }
  walk(root, "", 0)
  return lines.join("\n")
}

// ===== State =====

/** A float32 tensor of the given shape over a fresh storage (zeros, or `fill` in every element). */
export const tensor = (shape: ReadonlyArray<number> = [1], fill?: number): Tensor.Tensor => {
  const n = Tensor.numel({ shape })
  const values = new Float32Array(n)
  if (fill !== undefined) values.fill(fill)
  return Tensor.make({ storage: Tensor.storage(new Uint8Array(values.buffer)), dtype: "float32", shape })
}

/** The float32 values of a contiguous float32 tensor. */
export const values = (t: Tensor.Tensor): Array<number> => [
  ...new Float32Array(t.storage.bytes.buffer, t.storage.bytes.byteOffset + t.storageOffset * 4, Tensor.numel(t))
]

// ===== Errors =====

/** Runs `f`, which must throw a GraphError, and returns that error. */
export const catchGraphError = (f: () => unknown): GraphError => {
  try {
    f()
  } catch (e) {
    assert.instanceOf(e, GraphError, `expected a GraphError, got ${String(e)}`)
    return e as GraphError
  }
  return assert.fail("expected a GraphError, but nothing was thrown")
}

/**
 * Runs `f`, which must throw a GraphError with `fault` (and, where given, exactly `detail` and `node`);
 * returns the error for further checks.
 */
export const assertGraphError = (
  f: () => unknown,
  expected: { readonly fault: GraphFault; readonly detail?: string; readonly node?: string | undefined }
): GraphError => {
  const e = catchGraphError(f)
  assert.strictEqual(e._tag, "GraphError")
  assert.strictEqual(e.fault, expected.fault, `fault of: ${e.detail}`)
  if (expected.detail !== undefined) {
    assert.strictEqual(e.detail, expected.detail)
    assert.strictEqual(e.message, expected.detail)
  }
  if ("node" in expected) assert.strictEqual(e.node, expected.node)
  return e
}
