/**
 * A symbolic evaluator for compiled modules and exported programs: the meaning-preservation check of the
 * exporter. Both sides are run on symbolic inputs and must produce the same output terms.
 *
 * Terms are hash-consed: building the same term twice gives the same object, so two terms are equal exactly
 * when they are `===` (and a DAG with shared subterms stays linear in size). The leaves:
 *
 * - `input(i)`: the i-th user input;
 * - `weight`: a tensor read from module state, by identity of its storage object plus its view (dtype, shape,
 *   stride, offset), never by the FQN it was read under: a tied weight read as `w0` and as `tied.weight`, or
 *   lifted to a placeholder and read back from the state dict, is one term;
 * - `engine(id)`: a TensorRT engine, keyed by its bytes (a hash of them), whatever record or name carries it;
 * - literals (JSON of a Python constant).
 *
 * Inner terms: `seq(...)` (a tuple or a list: one kind, since `execute_engine` returns a list where a
 * TensorRT module returns a tuple), and applications `op(args; kwargs)`.
 *
 * Evaluation rules:
 * - placeholders bind the inputs in order (in a graph module called by `call_module`: positional arguments by
 *   position, keyword arguments by the placeholder's target, then the placeholder's default value);
 * - `get_attr` of a tensor gives its weight term, of a script object its engine term;
 * - `call_function` gives `op(args)`, except:
 *   - `_operator.getitem(seq, i)` selects element i;
 *   - `tensorrt::execute_engine(inputs, engine)` gives a list of opaque terms `trt:<engine>:<k>(inputs)`, one
 *     per output, counted by the node's `meta.val` list;
 *   - `tensorrt::no_op_placeholder_for_execute_engine(inputs, *record)` (a cross-compiled program, evaluated
 *     directly) is the same, with the engine keyed by the base64-decoded bytes at ENGINE_IDX;
 *   - scalars at the engine boundary: the exporter passes a scalar `x` to an engine as
 *     `aten.scalar_tensor(x)` and reads a scalar output back with `aten.item`. The evaluator unwraps
 *     `scalar_tensor(x)` to `x` among an engine's inputs, and `item(t)` to `t` when `t` is an engine output
 *     or `scalar_tensor(x)` (giving `x`), so that a compiled module, which hands scalars to its TensorRT
 *     modules directly, compares equal. Nowhere else are these ops rewritten.
 * - `call_module` of a TensorRT module gives the same opaque terms keyed by the engine bytes of its
 *   `packed_engine_info`, its inputs the positional arguments, then keyword arguments in the order of the
 *   remaining input binding names; one output is the term itself (as `TorchTensorRTModule` returns
 *   `outputs[0]`), several a `seq`. The number of outputs is the module's output binding count;
 * - `call_module` of a graph module evaluates its graph recursively;
 * - `call_method` gives `method:<name>(args)`;
 * - the output node returns its argument.
 */
import { createHash } from "node:crypto"
import { Buffer } from "node:buffer"
import { Result } from "effect"
import * as Argument from "../../src/graph/Argument.ts"
import type { Val } from "../../src/graph/Meta.ts"
import * as Module from "../../src/graph/Module.ts"
import type { Node } from "../../src/graph/Node.ts"
import type { ScriptObject, Storage, Tensor } from "../../src/graph/Tensor.ts"
import * as EngineRecord from "../../src/program/EngineRecord.ts"
import type { ExportedProgram } from "../../src/program/ExportedProgram.ts"

// ===== Terms =====

/** A hash-consed term. */
export type Term =
  | { readonly _tag: "Input"; readonly id: number; readonly index: number }
  | { readonly _tag: "Weight"; readonly id: number; readonly key: string }
  | { readonly _tag: "Engine"; readonly id: number; readonly key: string }
  | { readonly _tag: "Literal"; readonly id: number; readonly json: string }
  | { readonly _tag: "Seq"; readonly id: number; readonly items: ReadonlyArray<Term> }
  | {
    readonly _tag: "App"
    readonly id: number
    readonly op: string
    readonly args: ReadonlyArray<Term>
    readonly kwargs: ReadonlyArray<readonly [string, Term]>
  }

type Shape<T> = T extends Term ? Omit<T, "id"> : never

const table = new Map<string, Term>()
let nextId = 0

const keyOf = (t: Shape<Term>): string => {
  switch (t._tag) {
    case "Input":
      return `I${t.index}`
    case "Weight":
      return `W${t.key}`
    case "Engine":
      return `E${t.key}`
    case "Literal":
      return `L${t.json}`
    case "Seq":
      return `S(${t.items.map((x) => x.id).join(",")})`
    case "App":
      return `A${JSON.stringify(t.op)}(${t.args.map((x) => x.id).join(",")};${
        t.kwargs.map(([k, v]) => `${k}=${v.id}`).join(",")
      })`
  }
}

const intern = <T extends Term>(t: Shape<T>): T => {
  const key = keyOf(t)
  let found = table.get(key)
  if (found === undefined) {
    found = { ...t, id: nextId++ } as Term
    table.set(key, found)
  }
  return found as T
}

/** The i-th user input. */
export const input = (index: number): Term => intern({ _tag: "Input", index })

/** A literal: the canonical JSON of a Python constant. */
export const literal = (json: string): Term => intern({ _tag: "Literal", json })

/** A tuple or list. */
export const seq = (items: ReadonlyArray<Term>): Term => intern({ _tag: "Seq", items })

/** An application. */
export const app = (op: string, args: ReadonlyArray<Term>, kwargs: ReadonlyArray<readonly [string, Term]> = []): Term =>
  intern({ _tag: "App", op, args, kwargs })

/** An engine, keyed by its bytes. */
export const engine = (bytes: Uint8Array): Term => intern({ _tag: "Engine", key: engineKey(bytes) })

const storageIds = new WeakMap<Storage, number>()
let nextStorage = 0

/** A tensor of module state: its storage's identity and its view, whatever name it is read under. */
export const weight = (t: Tensor): Term => {
  let sid = storageIds.get(t.storage)
  if (sid === undefined) storageIds.set(t.storage, (sid = nextStorage++))
  const view = `${sid}:${t.dtype}:[${t.shape.join(",")}]:[${t.stride.join(",")}]+${t.storageOffset}`
  return intern({ _tag: "Weight", key: view })
}

/** The key of an engine: a hash of its bytes (short, stable, content-derived). */
export const engineKey = (bytes: Uint8Array): string =>
  createHash("sha256").update(bytes).digest("hex").slice(0, 12)

/** The k-th output of an engine applied to inputs. */
export const engineOutput = (engineTerm: Term, k: number, inputs: ReadonlyArray<Term>): Term => {
  if (engineTerm._tag !== "Engine") throw new Error(`execute_engine on ${show(engineTerm)}, which is not an engine`)
  return app(`trt:${engineTerm.key}:${k}`, inputs.map(unwrapScalarTensor))
}

// ===== Printing =====

/** A readable rendering (shared subterms are printed again; cut at `limit` characters). */
export const show = (t: Term, limit = 2000): string => {
  let out = ""
  const go = (t: Term): void => {
    if (out.length > limit) return
    switch (t._tag) {
      case "Input":
        out += `in${t.index}`
        return
      case "Weight":
        out += `w<${t.key}>`
        return
      case "Engine":
        out += `engine<${t.key}>`
        return
      case "Literal":
        out += t.json
        return
      case "Seq":
        out += "("
        t.items.forEach((x, i) => {
          if (i > 0) out += ", "
          go(x)
        })
        out += ")"
        return
      case "App": {
        out += `${shortOp(t.op)}(`
        t.args.forEach((x, i) => {
          if (i > 0) out += ", "
          go(x)
        })
        for (const [k, v] of t.kwargs) {
          out += `, ${k}=`
          go(v)
        }
        out += ")"
      }
    }
  }
  go(t)
  return out.length > limit ? `${out.slice(0, limit)}…` : out
}

const shortOp = (op: string): string => op.replace(/^torch\.ops\./, "").replace(/\.default$/, "")

/** The canonical JSON of a term (equal terms give equal strings). */
export const canonical = (t: Term): string => {
  switch (t._tag) {
    case "Input":
      return JSON.stringify({ input: t.index })
    case "Weight":
      return JSON.stringify({ weight: t.key })
    case "Engine":
      return JSON.stringify({ engine: t.key })
    case "Literal":
      return `{"lit":${t.json}}`
    case "Seq":
      return `{"seq":[${t.items.map(canonical).join(",")}]}`
    case "App":
      return `{"op":${JSON.stringify(t.op)},"args":[${t.args.map(canonical).join(",")}],"kwargs":{${
        t.kwargs.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")
      }}}`
  }
}

/**
 * Where two terms first differ: a path of argument positions and the two subterms there, or undefined when
 * they are equal.
 */
export const difference = (a: Term, b: Term): string | undefined => {
  const go = (a: Term, b: Term, path: string): string | undefined => {
    if (a === b) return undefined
    const children = (t: Term): ReadonlyArray<Term> | undefined =>
      t._tag === "Seq" ? t.items : t._tag === "App" ? [...t.args, ...t.kwargs.map(([, v]) => v)] : undefined
    const same = a._tag === b._tag && (a._tag !== "App" || (b._tag === "App" && a.op === b.op))
    const ca = children(a)
    const cb = children(b)
    if (same && ca !== undefined && cb !== undefined && ca.length === cb.length) {
      for (let i = 0; i < ca.length; i++) {
        const d = go(ca[i]!, cb[i]!, `${path}/${i}`)
        if (d !== undefined) return d
      }
    }
    return `at ${path === "" ? "/" : path}:\n  ${show(a, 600)}\nvs\n  ${show(b, 600)}`
  }
  return go(a, b, "")
}

// ===== Evaluation =====

const GETITEM = "_operator.getitem"
const EXECUTE_ENGINE = "torch.ops.tensorrt.execute_engine.default"
const NO_OP = "torch.ops.tensorrt.no_op_placeholder_for_execute_engine.default"
const SCALAR_TENSOR = "torch.ops.aten.scalar_tensor.default"
const ITEM = "torch.ops.aten.item.default"

const unwrapScalarTensor = (t: Term): Term => (t._tag === "App" && t.op === SCALAR_TENSOR ? t.args[0]! : t)

const isEngineOutput = (t: Term): boolean => t._tag === "App" && t.op.startsWith("trt:")

/** An error of the evaluator itself (an unsupported node, a malformed program). */
export class EvalError extends Error {}

const fail = (message: string): never => {
  throw new EvalError(message)
}

/** The canonical JSON of a literal argument (no nodes inside). */
const literalJson = (a: Argument.Argument): string => {
  if (a === null) return "null"
  if (typeof a === "bigint") return JSON.stringify({ int: a.toString() })
  if (typeof a === "number") return JSON.stringify({ int: a })
  if (typeof a === "boolean" || typeof a === "string") return JSON.stringify(a)
  const tagged = a as { readonly _tag: string; readonly value?: number; readonly name?: string; readonly expr?: string }
  if (tagged._tag === "Float") return JSON.stringify({ float: String(tagged.value) })
  return JSON.stringify(tagged)
}

/** The engine term of a raw record (a TensorRT module's, or a `tensorrt::Engine` script object's state). */
const engineOfRaw = (fields: ReadonlyArray<string | Uint8Array>, label: string): Term => {
  const decoded = EngineRecord.decodeRaw(fields, label)
  if (Result.isSuccess(decoded)) return engine(decoded.success.engine)
  const bytes = fields[EngineRecord.ENGINE_IDX]
  return bytes instanceof Uint8Array ? engine(bytes) : fail(`${label}: no engine bytes: ${decoded.failure.message}`)
}

const stateTerm = (value: Tensor | ScriptObject, label: string): Term =>
  value._tag === "Tensor" ? weight(value) : engineOfRaw(value.state, label)

type Env = Map<Node, Term>

const argTerm = (a: Argument.Argument, env: Env): Term => {
  if (Argument.isNode(a)) {
    const t = env.get(a)
    return t ?? fail(`node ${a.name} read before it was evaluated`)
  }
  if (Array.isArray(a)) return seq((a as ReadonlyArray<Argument.Argument>).map((x) => argTerm(x, env)))
  if (typeof a === "object" && a !== null) {
    const tagged = a as Exclude<Argument.Argument, ReadonlyArray<Argument.Argument> | null | boolean | number | bigint | string>
    switch (tagged._tag) {
      case "Tuple":
        return seq(tagged.items.map((x) => argTerm(x, env)))
      case "Dict":
        return app("dict", tagged.entries.map(([k, v]) => seq([argTerm(k, env), argTerm(v, env)])))
      case "Slice":
        return app("slice", [argTerm(tagged.start, env), argTerm(tagged.stop, env), argTerm(tagged.step, env)])
      default:
        break
    }
  }
  return literal(literalJson(a))
}

const outputCount = (node: Node): number => {
  const val: Val | undefined = node.meta.val
  if (val === undefined) return fail(`${node.name} (${node.target}) has no meta.val to count its outputs`)
  return Array.isArray(val) ? val.length : 1
}

const engineCall = (node: Node, inputs: Term, engineTerm: Term): Term => {
  if (inputs._tag !== "Seq") return fail(`${node.name}: the engine inputs are not a list: ${show(inputs)}`)
  const n = outputCount(node)
  return seq(Array.from({ length: n }, (_, k) => engineOutput(engineTerm, k, inputs.items)))
}

const callFunction = (node: Node, env: Env): Term => {
  const args = node.args.map((a) => argTerm(a, env))
  const kwargs = Object.entries(node.kwargs).map(([k, v]) => [k, argTerm(v, env)] as const)
  switch (node.target) {
    case GETITEM: {
      const [container, index] = node.args
      const c = args[0]!
      if (c._tag === "Seq" && typeof index === "number" && Number.isInteger(index)) {
        const i = index < 0 ? c.items.length + index : index
        return c.items[i] ?? fail(`${node.name} reads element ${index} of a ${c.items.length}-element value`)
      }
      if (container === undefined) return fail(`${node.name}: getitem without arguments`)
      break
    }
    case EXECUTE_ENGINE:
      return engineCall(node, args[0] ?? fail(`${node.name}: no inputs`), args[1] ?? fail(`${node.name}: no engine`))
    case NO_OP: {
      const fields = node.args.slice(1)
      if (!fields.every((f): f is string => typeof f === "string")) return fail(`${node.name}: record fields are not strings`)
      const decoded = EngineRecord.decodeBase64(fields, node.name)
      const bytes = Result.isSuccess(decoded)
        ? decoded.success.engine
        : new Uint8Array(Buffer.from(fields[EngineRecord.ENGINE_IDX] ?? "", "base64"))
      return engineCall(node, args[0] ?? fail(`${node.name}: no inputs`), engine(bytes))
    }
    case ITEM: {
      const t = args[0]
      if (t !== undefined && kwargs.length === 0 && args.length === 1) {
        if (t._tag === "App" && t.op === SCALAR_TENSOR) return t.args[0]!
        if (isEngineOutput(t)) return t
      }
      break
    }
  }
  return app(node.target, args, kwargs)
}

const callTrtModule = (node: Node, mod: Module.TrtModule, env: Env): Term => {
  const inputs = node.args.map((a) => argTerm(a, env))
  const rest = mod.inputBindingNames.slice(inputs.length)
  const keys = Object.keys(node.kwargs)
  for (const k of keys) if (!rest.includes(k)) fail(`${node.name}: keyword ${k} is not an input binding of ${node.target}`)
  for (const b of rest) {
    if (b in node.kwargs) inputs.push(argTerm(node.kwargs[b]!, env))
    else if (keys.length > 0) fail(`${node.name}: input binding ${b} of ${node.target} is not given`)
  }
  const e = engineOfRaw(mod.packedEngineInfo, node.target)
  const n = mod.outputBindingNames.length
  const outputs = Array.from({ length: n }, (_, k) => engineOutput(e, k, inputs))
  return n === 1 ? outputs[0]! : seq(outputs)
}

/**
 * Evaluates a graph module's graph. `bind(ph, i)` gives the term of the i-th placeholder.
 */
const evalGraph = (gm: Module.GraphModule, bind: (ph: Node, index: number) => Term, depth: number): Term => {
  if (depth > 32) fail("graph modules nested too deeply (a cycle?)")
  const env: Env = new Map()
  let placeholders = 0
  for (const node of gm.graph.nodes()) {
    let t: Term
    switch (node.op) {
      case "placeholder":
        t = bind(node, placeholders++)
        break
      case "get_attr": {
        const found = Module.resolve(gm, node.target)
        if (found === undefined) return fail(`get_attr ${node.name}: ${node.target} does not resolve`)
        if (found.kind === "module") return fail(`get_attr ${node.name}: ${node.target} is a module (not supported)`)
        t = stateTerm(found.kind === "constant" ? found.value : found.tensor, node.target)
        break
      }
      case "call_function":
        t = callFunction(node, env)
        break
      case "call_method":
        t = app(`method:${node.target}`, node.args.map((a) => argTerm(a, env)), Object.entries(node.kwargs).map(([k, v]) => [k, argTerm(v, env)] as const))
        break
      case "call_module": {
        const sub = Module.getSubmodule(gm, node.target)
        if (sub === undefined) return fail(`call_module ${node.name}: ${node.target} does not resolve`)
        if (sub.kind === "trt_module") t = callTrtModule(node, sub, env)
        else if (sub.kind === "graph_module") {
          const args = node.args.map((a) => argTerm(a, env))
          t = evalGraph(sub, (ph, i) => {
            if (i < args.length) return args[i]!
            if (ph.target in node.kwargs) return argTerm(node.kwargs[ph.target]!, env)
            if (ph.args.length > 0) return argTerm(ph.args[0]!, new Map())
            return fail(`call_module ${node.name} gives no value for input ${ph.target} of ${node.target}`)
          }, depth + 1)
        } else return fail(`call_module ${node.name}: ${node.target} is a plain module`)
        break
      }
      case "output":
        return argTerm(node.args[0] ?? null, env)
    }
    env.set(node, t)
  }
  return fail("the graph has no output node")
}

/**
 * Makes the storages of `copy`'s state the same weights as those of `source` at the same FQNs: a program
 * read back from its archive holds new storage objects for the same bytes (one per file, as the writer
 * wrote one file per storage).
 */
export const identifyState = (source: ExportedProgram, copy: ExportedProgram): void => {
  const link = (from: Tensor | ScriptObject | undefined, to: Tensor | ScriptObject) => {
    if (from?._tag !== "Tensor" || to._tag !== "Tensor") return
    let sid = storageIds.get(from.storage)
    if (sid === undefined) storageIds.set(from.storage, (sid = nextStorage++))
    storageIds.set(to.storage, sid)
  }
  for (const [fqn, t] of copy.stateDict) link(source.stateDict.get(fqn), t)
  for (const [fqn, c] of copy.constants) link(source.constants.get(fqn), c)
}

/**
 * Evaluates a compiled (or any) graph module on inputs: placeholders bind `inputs` in order, then their
 * default values.
 */
export const evalModule = (gm: Module.GraphModule, inputs: ReadonlyArray<Term>): Term =>
  evalGraph(gm, (ph, i) => {
    if (i < inputs.length) return inputs[i]!
    if (ph.args.length > 0) return argTerm(ph.args[0]!, new Map())
    return fail(`no input for placeholder ${ph.name}`)
  }, 0)

/**
 * Evaluates an exported program on user inputs: lifted placeholders are bound from the signature
 * (parameters and persistent buffers from the state dict, the rest from the constants, by the spec's
 * target), user inputs in order.
 */
export const evalProgram = (ep: ExportedProgram, userInputs: ReadonlyArray<Term>): Term => {
  const specs = ep.graphSignature.inputSpecs
  let user = 0
  return evalGraph(ep.graphModule, (ph, i) => {
    const spec = specs[i] ?? fail(`placeholder ${ph.name} has no input spec`)
    if (spec.arg.name !== ph.name) fail(`input spec ${i} names ${spec.arg.name}, placeholder ${i} is ${ph.name}`)
    switch (spec._tag) {
      case "UserInput":
        return userInputs[user++] ?? fail(`no user input for ${ph.name}`)
      case "Parameter": {
        const t = ep.stateDict.get(spec.target)
        return t === undefined ? fail(`parameter ${spec.target} is not in the state dict`) : weight(t)
      }
      case "Buffer": {
        const t = spec.persistent ? ep.stateDict.get(spec.target) : ep.constants.get(spec.target)
        return t === undefined ? fail(`buffer ${spec.target} is missing`) : stateTerm(t, spec.target)
      }
      case "ConstantTensor":
      case "CustomObj": {
        const c = ep.constants.get(spec.target)
        if (c === undefined) return fail(`constant ${spec.target} is missing`)
        if ((spec._tag === "CustomObj") !== (c._tag === "ScriptObject")) fail(`constant ${spec.target} is a ${c._tag}, spec says ${spec._tag}`)
        return stateTerm(c, spec.target)
      }
      case "Token":
        return fail(`token ${ph.name}: effect tokens are not evaluated`)
    }
  }, 0)
}
