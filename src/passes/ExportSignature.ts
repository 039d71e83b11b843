/**
 * `buildSignature` and `createExportedProgram`: upstream `create_trt_exp_program`
 * (`torch_tensorrt/dynamo/_exporter.py`), run after lifting, so that the signature is read from the
 * finished graph.
 *
 * Rules (one test each):
 * 1. Input specs: the lifted inputs, then one user input per remaining placeholder, typed by its
 *    `meta.val`: a tensor, a symbolic int, a custom object, or a constant (upstream called everything a
 *    tensor).
 * 2. Output specs: one user output per element of the output (a tuple, a list, or a single value), typed
 *    the same way; `None` and other literals are constants (upstream failed on them); no target (upstream
 *    wrote the node's target object). Being read from the final graph, an output that is a lifted constant
 *    names its placeholder (upstream issue 3189).
 * 3. The module call graph has one root entry with the compiled module's `in_spec` / `out_spec`; without
 *    them, specs are rebuilt: all inputs positional, outputs a tuple (upstream HEAD).
 * 4. Range constraints: every symbol the graph's metas use, with its range from the archive's `symbols`; a
 *    symbol used but not listed fails, naming the node (upstream recorded none, so dynamic programs did not
 *    load: issues 3108, 3205).
 * 5. Operator schemas: every operator the program's graphs call has a schema, the module's own
 *    (`GraphModule.opSchemas`) or trtx's built-in one (`KnownSchemas`); the program holds those it calls. An
 *    operator known to neither fails, naming it and the node (upstream had torch's live registry; without one,
 *    the `.pt2` writer could not name the arguments).
 *
 * @since 0.1.0
 */
import { Effect, Result } from "effect"
import * as Argument from "../graph/Argument.ts"
import type { Val } from "../graph/Meta.ts"
import * as Module from "../graph/Module.ts"
import type { Node } from "../graph/Node.ts"
import type * as OpSchema from "../graph/OpSchema.ts"
import * as SymExpr from "../graph/SymExpr.ts"
import * as SymExprParser from "../graph/SymExprParser.ts"
import * as ExportedProgram from "../program/ExportedProgram.ts"
import * as KnownSchemas from "../program/KnownSchemas.ts"
import type * as Signature from "../program/Signature.ts"
import * as GraphState from "./GraphState.ts"
import * as Pass from "./Pass.ts"
import * as PassError from "./PassError.ts"

const NAME = "createExportedProgram"

const LEAF = `{"type": null, "context": null, "children_spec": []}`

/**
 * The `treespec_dumps` string of `((x0, ..., xn-1), {})`: n positional inputs and no keyword inputs.
 *
 * @since 0.1.0
 * @category constructors
 */
export const positionalInSpec = (n: number): string =>
  `[1, {"type": "builtins.tuple", "context": "null", "children_spec": [{"type": "builtins.tuple", "context": "null", ` +
  `"children_spec": [${Array(n).fill(LEAF).join(", ")}]}, {"type": "builtins.dict", "context": "[]", "children_spec": []}]}]`

/**
 * The `treespec_dumps` string of an n-tuple of leaves.
 *
 * @since 0.1.0
 * @category constructors
 */
export const tupleOutSpec = (n: number): string =>
  `[1, {"type": "builtins.tuple", "context": "null", "children_spec": [${Array(n).fill(LEAF).join(", ")}]}]`

const argumentFor = (node: Node): Signature.ArgumentSpec => {
  const val = node.meta.val
  // A `val` of None is a constant None; no `val` at all says nothing, and a tensor is the default.
  if (val === null) return { _tag: "ConstantArgument", name: node.name, value: null }
  if (val !== undefined && !Array.isArray(val)) {
    const v = val as Exclude<Val, ReadonlyArray<Val> | null>
    if ("sym_int" in v) return { _tag: "SymIntArgument", name: node.name }
    if ("custom_obj" in v) return { _tag: "CustomObjArgument", name: node.name, classFqn: v.custom_obj.class_fqn }
    if ("int" in v) return { _tag: "ConstantArgument", name: node.name, value: Number(v.int) }
    if ("bool" in v) return { _tag: "ConstantArgument", name: node.name, value: v.bool }
    if ("float" in v) {
      const f = v.float
      return { _tag: "ConstantArgument", name: node.name, value: f === "inf" ? Infinity : f === "-inf" ? -Infinity : f === "nan" ? NaN : f }
    }
  }
  return { _tag: "TensorArgument", name: node.name }
}

const outputArgument = (a: Argument.Argument, index: number): Result.Result<Signature.ArgumentSpec, PassError.PassError> => {
  const spec = outputSpec(a)
  return spec === undefined
    ? Result.fail(PassError.run(NAME, `output ${index} is ${typeof a === "bigint" ? "an int beyond 2^53" : "a container"}, which an exported program cannot return as one value`))
    : Result.succeed(spec)
}

// The spec of an output that can be one, or undefined.
const outputSpec = (a: Argument.Argument): Signature.ArgumentSpec | undefined => {
  if (a === null || typeof a === "boolean" || typeof a === "string") return { _tag: "ConstantArgument", name: "", value: a }
  if (typeof a === "number") return { _tag: "ConstantArgument", name: "", value: a }
  if (typeof a === "object" && !Array.isArray(a)) {
    const t = a as Exclude<Argument.Argument, ReadonlyArray<Argument.Argument> | null | boolean | number | bigint | string>
    if (t._tag === "Node") return argumentFor(t)
    if (t._tag === "Float") return { _tag: "ConstantArgument", name: "", value: t.value }
  }
  return undefined
}

/**
 * The graph signature of a lifted module.
 *
 * @since 0.1.0
 * @category getters
 */
export const buildSignature = (lifted: GraphState.Lifted): Result.Result<Signature.GraphSignature, PassError.PassError> => {
  const g = lifted.module.graph
  const placeholders = g.findNodes("placeholder")
  const inputSpecs: Array<Signature.InputSpec> = [...lifted.inputSpecs]
  for (const ph of placeholders.slice(lifted.inputSpecs.length)) inputSpecs.push({ _tag: "UserInput", arg: argumentFor(ph) })
  const output = g.outputNode
  if (output === undefined) return Result.fail(PassError.run(NAME, "the graph has no output node"))
  const outputSpecs: Array<Signature.OutputSpec> = []
  const elements = outputElements(output)
  for (let i = 0; i < elements.length; i++) {
    const arg = outputArgument(elements[i]!, i)
    if (Result.isFailure(arg)) return Result.fail(arg.failure)
    outputSpecs.push({ _tag: "UserOutput", arg: arg.success })
  }
  return Result.succeed({ inputSpecs, outputSpecs })
}

const outputElements = (output: Node): ReadonlyArray<Argument.Argument> => {
  const result = output.args[0] ?? null
  return Argument.elements(result) ?? [result]
}

// The symbols of each expression text, parsed once per text (a program names the same few in every node).
type SymbolCache = Map<string, ReadonlyArray<string>>

// Adds the symbols of a size or value to `into`; a text that is not an expression is the caller's fault
// to report, returned (this runs for every dim of every node: no Result is allocated on the way).
const symbolsIn = (x: number | string, into: Set<string>, node: Node, cache: SymbolCache): PassError.PassError | undefined => {
  if (typeof x !== "string") return undefined
  let found = cache.get(x)
  if (found === undefined) {
    if (SymExpr.isSymbol(x)) found = [x]
    else {
      const parsed = SymExprParser.parse(x)
      if (Result.isFailure(parsed)) {
        return PassError.run(NAME, `${node.name} has the size or value ${JSON.stringify(x)}, which is not a symbolic expression: ${parsed.failure.detail}`, {
          node: node.name
        })
      }
      found = SymExpr.freeSymbols(parsed.success)
    }
    cache.set(x, found)
  }
  for (let i = 0; i < found.length; i++) into.add(found[i]!)
  return undefined
}

const symbolsOf = (val: Val | undefined, into: Set<string>, node: Node, cache: SymbolCache): PassError.PassError | undefined => {
  if (val === undefined || val === null) return undefined
  if (Array.isArray(val)) {
    for (const v of val as ReadonlyArray<Val>) {
      const e = symbolsOf(v, into, node, cache)
      if (e !== undefined) return e
    }
    return undefined
  }
  const v = val as Exclude<Val, ReadonlyArray<Val> | null>
  if ("tensor" in v) {
    // Plain loops: this runs for every dim of every node.
    const { shape, stride } = v.tensor
    for (let i = 0; i < shape.length; i++) {
      const e = symbolsIn(shape[i]!, into, node, cache)
      if (e !== undefined) return e
    }
    for (let i = 0; i < stride.length; i++) {
      const e = symbolsIn(stride[i]!, into, node, cache)
      if (e !== undefined) return e
    }
    return symbolsIn(v.tensor.storage_offset, into, node, cache)
  }
  if ("sym_int" in v) return symbolsIn(v.sym_int, into, node, cache)
  if ("sym_bool" in v) return symbolsIn(v.sym_bool, into, node, cache)
  if ("sym_float" in v) return symbolsIn(v.sym_float, into, node, cache)
  return undefined
}

/**
 * The range of every symbol the module's graphs use (the root's, and those of graph modules below it), or a
 * `PassError` naming the first node that uses a symbol the module does not list, or a size that is not an
 * expression.
 *
 * @since 0.1.0
 * @category getters
 */
export const rangeConstraints = (gm: Module.GraphModule): Result.Result<Map<string, Signature.RangeConstraint>, PassError.PassError> => {
  const out = new Map<string, Signature.RangeConstraint>()
  const cache: SymbolCache = new Map()
  // One set for the walk, emptied per node: most nodes use no symbol, and a set per node is garbage (so is
  // clearing an empty set, which allocates a new table).
  const used = new Set<string>()
  for (const [, mod] of Module.namedModules(gm)) {
    if (mod.kind !== "graph_module") continue
    for (const node of mod.graph.nodes()) {
      if (used.size > 0) used.clear()
      const e = symbolsOf(node.meta.val, used, node, cache)
      if (e !== undefined) return Result.fail(e)
      if (used.size === 0) continue
      for (const sym of used) {
        if (out.has(sym)) continue
        const range = gm.symbols?.get(sym)
        if (range === undefined) {
          return Result.fail(PassError.run(NAME, `symbol ${sym} is used by ${node.name} but the module's symbols do not list it`, { node: node.name }))
        }
        out.set(sym, { min: range.min, max: range.max })
      }
    }
  }
  return Result.succeed(out)
}

/**
 * The schema of every operator the module's graphs call (the root's, and those of graph modules below it,
 * such as the branches of a `cond`): the module's own first, then trtx's built-in ones; or a `PassError`
 * naming the first operator neither knows, and the node that calls it.
 *
 * @since 0.1.0
 * @category getters
 */
export const operatorSchemas = (gm: Module.GraphModule): Result.Result<Map<string, OpSchema.OpSchema>, PassError.PassError> => {
  const out = new Map<string, OpSchema.OpSchema>()
  const seen = new Set<string>()
  for (const [, mod] of Module.namedModules(gm)) {
    if (mod.kind !== "graph_module") continue
    for (const node of mod.graph.findNodes("call_function", undefined, { sort: false })) {
      if (seen.has(node.target)) continue
      seen.add(node.target)
      if (!KnownSchemas.needsSchema(node.target)) continue
      const schema = gm.opSchemas?.get(node.target) ?? KnownSchemas.get(node.target)
      if (schema === undefined) {
        return Result.fail(PassError.run(
          NAME,
          `no schema is known for the operator ${node.target} (called by ${node.name}): trtx knows TensorRT's ` +
            `operators and every one torch ${KnownSchemas.torchTable().torch} registers; give a custom operator's ` +
            `schema (str(op._schema)) in the archive's op_schemas.json, as python/trtx_dump.py writes it, or ` +
            `with trtx export --schemas`,
          { node: node.name }
        ))
      }
      out.set(node.target, schema)
    }
  }
  return Result.succeed(out)
}

/**
 * @since 0.1.0
 * @category passes
 */
export const createExportedProgram: Pass.Pass<GraphState.LiftedModule, GraphState.ExportedProgram> = Pass.make({
  name: NAME,
  upstream: "torch_tensorrt.dynamo._exporter.create_trt_exp_program",
  requires: GraphState.LiftedModule,
  ensures: GraphState.ExportedProgram,
  changesInput: true,
  run: (lifted) =>
    Effect.gen(function*() {
      const gm = lifted.module
      const graphSignature = yield* Effect.fromResult(buildSignature(lifted))
      const userInputs = graphSignature.inputSpecs.length - lifted.inputSpecs.length
      return ExportedProgram.make({
        graphModule: gm,
        graphSignature,
        stateDict: lifted.stateDict,
        constants: lifted.constants,
        rangeConstraints: yield* Effect.fromResult(rangeConstraints(gm)),
        opSchemas: yield* Effect.fromResult(operatorSchemas(gm)),
        moduleCallGraph: [{
          fqn: "",
          signature: {
            inputs: [],
            outputs: [],
            inSpec: gm.inSpec ?? positionalInSpec(userInputs),
            outSpec: gm.outSpec ?? tupleOutSpec(graphSignature.outputSpecs.length),
            forwardArgNames: null
          }
        }]
      })
    }).pipe(Effect.withSpan("trtx.createExportedProgram"))
})
