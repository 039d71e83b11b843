/**
 * `inlineTrtModules`: upstream `inline_trt_modules` (`torch_tensorrt/dynamo/_exporter.py`). Every call of a
 * TensorRT module becomes a call of `tensorrt::execute_engine(inputs, engine)` on a `get_attr` of the engine
 * (registered as the constant `{name}_engine`), or, when cross-compiling, a call of
 * `tensorrt::no_op_placeholder_for_execute_engine(inputs, *record)` holding the engine record as strings
 * (engine base64 at ENGINE_IDX). Its results are read through `getitem`s.
 *
 * Rules (one test each):
 * 1. TensorRT modules are the `TrtModule` children, in registration order; each call of one (found by
 *    target, not by a name scan) is inlined, so a module called twice, or through two names, is inlined at
 *    every call, with one engine.
 * 2. The call's `meta.val` lists the engine's outputs; a call without it fails, naming the node. A bare
 *    tensor `val` counts as one output (upstream took `len()` of the tensor).
 * 3. The engine's inputs are the call's positional arguments, then its keyword arguments in the order of
 *    the remaining input binding names (upstream dropped kwargs); an unknown keyword, a missing one, or a
 *    count of inputs other than the engine's input bindings fails, naming the call.
 * 4. The plain path registers the engine as the constant `{name}_engine` (a `tensorrt::Engine` script
 *    object holding the module's record: `engine_state` where the archive has it, else
 *    `packed_engine_info`), reads it with a `get_attr` whose `meta.val` names the real class
 *    (`__torch__.torch.classes.tensorrt.Engine`; upstream wrote `""`).
 * 5. The cross-compile path passes the `packed_engine_info` record, validated, with the engine base64.
 * 6. A single output gets an inserted `getitem(engine, 0)` whose `meta.val` is that output (upstream gave it
 *    the whole list); several outputs keep the partitioner's getitems, each given the meta of its own index
 *    (upstream assigned them in users order). Engines with no inputs or no outputs are accepted.
 * 7. The call node is erased; the module stays registered until cleanup deletes it.
 * 8. Scalars at the engine boundary (upstream #4620, fixed after HEAD by #4628): a scalar input (an int,
 *    float or bool, or a node whose `meta.val` is one) is passed as a 0-d tensor made by
 *    `aten.scalar_tensor`, because `execute_engine` takes `Tensor[]`; a scalar output is a 0-d tensor in the
 *    engine's `meta.val` and its getitem's (it returns `Tensor[]`), read back with `aten.item`, and the
 *    users of that output read the item.
 *
 * @since 0.1.0
 */
import { Effect, Result } from "effect"
import * as Argument from "../graph/Argument.ts"
import type { Val } from "../graph/Meta.ts"
import * as Module from "../graph/Module.ts"
import type { Node } from "../graph/Node.ts"
import * as EngineRecord from "../program/EngineRecord.ts"
import { EXECUTE_ENGINE, GETITEM, NO_OP_PLACEHOLDER } from "../program/Targets.ts"
import * as GraphState from "./GraphState.ts"
import * as Pass from "./Pass.ts"
import * as PassError from "./PassError.ts"


const NAME = "inlineTrtModules"

/**
 * The pass, for the plain or the cross-compile path.
 *
 * @since 0.1.0
 * @category passes
 */
export const inlineTrtModules = (options?: { readonly crossCompile?: boolean }): Pass.Pass<
  GraphState.CompiledModule,
  GraphState.CompiledModule
> =>
  Pass.make({
    name: NAME,
    upstream: "torch_tensorrt.dynamo._exporter.inline_trt_modules",
    requires: GraphState.CompiledModule,
    ensures: GraphState.CompiledModule,
    changesInput: true,
    run: ({ module }) => PassError.attempt(NAME, () => inline(module, options?.crossCompile === true)).pipe(Effect.as(module))
  })

const inline = (gm: Module.GraphModule, crossCompile: boolean): void => {
  const engines = new Map<Module.TrtModule, PreparedEngine>()
  for (const [name, child] of gm.children) {
    if (child.kind !== "trt_module") continue
    const calls = gm.graph.findNodes("call_module", name)
    if (calls.length === 0) continue
    const engine = prepareEngine(gm, name, child, engines, crossCompile)
    for (const call of calls) inlineCall(gm, child, engine.record, call, engine.engineAttr, engine.packed)
  }
}

/**
 * What the calls of one TensorRT module are inlined with: its decoded record, the constant that holds its
 * engine (plain path) and the record as strings (cross-compile path).
 *
 * @since 0.1.0
 * @category models
 */
export interface PreparedEngine {
  readonly record: EngineRecord.EngineRecord
  readonly engineAttr: string | undefined
  readonly packed: ReadonlyArray<string>
}

/**
 * Decodes and validates the record of the TensorRT module registered as `name`, and on the plain path
 * registers its engine as the constant `{name}_engine`. Every name counts: a module registered under two
 * names is called through both, with one engine, prepared once under the first name that is called
 * (`engines` remembers it, in the order of the module's children).
 *
 * @since 0.1.0
 * @category mutations
 */
export const prepareEngine = (
  gm: Module.GraphModule,
  name: string,
  child: Module.TrtModule,
  engines: Map<Module.TrtModule, PreparedEngine>,
  crossCompile: boolean
): PreparedEngine => {
  const known = engines.get(child)
  if (known !== undefined) return known
  const source = crossCompile ? child.packedEngineInfo : (child.engineState ?? child.packedEngineInfo)
  const decoded = EngineRecord.decodeRaw(source, name)
  if (Result.isFailure(decoded)) {
    throw PassError.run(NAME, `engine record of ${name}: ${decoded.failure.message}`, { cause: decoded.failure })
  }
  const record = decoded.success
  const bindings = EngineRecord.validateBindings(record, child, name)
  if (Result.isFailure(bindings)) throw PassError.run(NAME, bindings.failure.message, { cause: bindings.failure })
  let engineAttr: string | undefined
  if (!crossCompile) {
    engineAttr = `${name}_engine`
    const existing = gm.constants.get(engineAttr)
    if (Module.hasAttribute(gm, engineAttr) && !(existing?._tag === "ScriptObject" && existing.state === source)) {
      throw PassError.run(NAME, `cannot register engine ${engineAttr}: the module already has an attribute of that name`)
    }
    Module.setConstant(gm, engineAttr, { _tag: "ScriptObject", classFqn: EngineRecord.ENGINE_CLASS_FQN, state: source })
  }
  let packed: ReadonlyArray<string> = []
  if (crossCompile) {
    const encoded = EngineRecord.encodeBase64(record, name)
    if (Result.isFailure(encoded)) throw PassError.run(NAME, encoded.failure.message, { cause: encoded.failure })
    packed = encoded.success
  }
  const engine: PreparedEngine = { record, engineAttr, packed }
  engines.set(child, engine)
  return engine
}

const inlineCall = (
  gm: Module.GraphModule,
  child: Module.TrtModule,
  record: EngineRecord.EngineRecord,
  call: Node,
  engineAttr: string | undefined,
  packed: ReadonlyArray<string>
): void => {
  const g = gm.graph
  const val = call.meta.val
  if (val === undefined) {
    throw PassError.run(
      NAME,
      `trt_module_node: ${call.name} does not have the metadata which should be set during dynamo compile_module step.`,
      { node: call.name }
    )
  }
  const outputs: ReadonlyArray<Val> = Array.isArray(val) ? val : [val]
  const device = `cuda:${record.device.gpuId}`
  // What the engine returns: tensors (`Tensor[]`), a scalar output as its 0-d tensor (rule 8).
  const tensors = outputs.map((o) => {
    const dtype = scalarDtype(o)
    return dtype === undefined ? o : zeroDim(dtype, device)
  })
  const inputs = g.insertingBefore(call, () => engineInputs(call, child).map((a) => tensorFromScalar(g, a, device)))
  const engine = g.insertingBefore(call, () => {
    if (engineAttr === undefined) {
      return g.callFunction(NO_OP_PLACEHOLDER, [Argument.tuple(...inputs), ...packed], {}, { meta: { val: tensors } })
    }
    const attr = g.getAttr(engineAttr)
    attr.meta.val = { custom_obj: { name: attr.name, class_fqn: EngineRecord.ENGINE_CLASS_FQN } }
    return g.callFunction(EXECUTE_ENGINE, [Argument.tuple(...inputs), attr], {}, { meta: { val: tensors } })
  })
  if (outputs.length === 1) {
    const getitem = g.insertingAfter(engine, () => g.callFunction(GETITEM, [engine, 0], {}, { meta: { val: tensors[0]! } }))
    call.replaceAllUsesWith(getitem)
  } else {
    call.replaceAllUsesWith(engine)
    setGetitemMetas(engine, tensors)
  }
  g.eraseNode(call)
  for (const user of engine.userList) scalarFromTensor(g, user, outputs, device)
}

const SCALAR_TENSOR = "torch.ops.aten.scalar_tensor.default"
const ITEM = "torch.ops.aten.item.default"

/** @internal The dtype a Python scalar becomes as a tensor, when a meta describes a scalar. */
export const scalarDtype = (val: Val | undefined): string | undefined => {
  if (val === undefined || val === null || Array.isArray(val)) return undefined
  const v = val as Exclude<Val, ReadonlyArray<Val> | null>
  if ("sym_int" in v || "int" in v) return "int64"
  if ("float" in v) return "float32"
  if ("bool" in v) return "bool"
  return undefined
}

const zeroDim = (dtype: string, device: string): Val => ({
  tensor: { shape: [], stride: [], storage_offset: 0, dtype, device, requires_grad: false }
})

/**
 * @internal The dtype of the 0-d tensor an engine input becomes when it is a scalar (rule 8), or undefined
 * for a tensor and everything else.
 */
export const scalarInputDtype = (a: Argument.Argument): string | undefined => {
  if (Argument.isNode(a)) return scalarDtype(a.meta.val)
  if (typeof a === "number" || typeof a === "bigint") return "int64"
  if (typeof a === "boolean") return "bool"
  if (typeof a === "object" && a !== null && !Array.isArray(a) && (a as { _tag?: string })._tag === "Float") return "float32"
  return undefined
}

// A scalar input as a 0-d tensor; tensors and everything else pass unchanged.
const tensorFromScalar = (g: Module.GraphModule["graph"], a: Argument.Argument, device: string): Argument.Argument => {
  const dtype = scalarInputDtype(a)
  if (dtype === undefined) return a
  return g.callFunction(SCALAR_TENSOR, [a], { dtype: Argument.dtype(dtype), device: Argument.device(device) }, {
    meta: { val: zeroDim(dtype, device) }
  })
}

// A getitem of a scalar output reads a 0-d tensor: its users get the item instead.
const scalarFromTensor = (g: Module.GraphModule["graph"], getitem: Node, outputs: ReadonlyArray<Val>, device: string): void => {
  const index = getitem.args[1]
  if (getitem.target !== GETITEM || typeof index !== "number") return
  const scalar = outputs[index]
  const dtype = scalarDtype(scalar)
  if (dtype === undefined || getitem.userCount === 0) return
  getitem.meta.val = zeroDim(dtype, device)
  const item = g.insertingAfter(getitem, () => g.callFunction(ITEM, [getitem], {}, { meta: { val: scalar! } }))
  getitem.replaceAllUsesWith(item, { deleteUserCb: (u) => u !== item })
}

/**
 * Gives each `getitem(node, i)` user of a multi-output node the meta of output `i` (upstream assigned metas
 * in users order, swapping them when getitems were created out of order).
 *
 * @since 0.1.0
 * @category mutations
 */
export const setGetitemMetas = (node: Node, outputs: ReadonlyArray<Val>): void => {
  for (const user of node.userList) {
    const index = user.args[1]
    if (user.op === "call_function" && user.target === GETITEM && typeof index === "number" && outputs[index] !== undefined) {
      user.meta.val = outputs[index]
    }
  }
}

/** @internal A call's engine inputs (rule 3): positional arguments first, then keywords in binding order. */
export const engineInputs = (call: Node, child: Module.TrtModule): ReadonlyArray<Argument.Argument> => {
  const keys = Object.keys(call.kwargs)
  // Without keywords the positional arguments are the inputs, read as they are.
  const inputs: Array<Argument.Argument> = keys.length === 0 ? (call.args as Array<Argument.Argument>) : [...call.args]
  const arity = () => {
    if (inputs.length !== child.inputBindingNames.length) {
      throw PassError.run(
        NAME,
        `${call.name} gives ${inputs.length} inputs to ${call.target}, whose engine has ${child.inputBindingNames.length} input bindings`,
        { node: call.name }
      )
    }
    return inputs
  }
  if (keys.length === 0) return arity()
  const rest = child.inputBindingNames.slice(inputs.length)
  for (const key of keys) {
    if (!rest.includes(key)) {
      throw PassError.run(NAME, `keyword argument ${key} of ${call.name} is not an input binding of ${call.target}`, {
        node: call.name
      })
    }
  }
  for (const binding of rest) {
    if (!Object.hasOwn(call.kwargs, binding)) {
      throw PassError.run(NAME, `input binding ${binding} of ${call.target} is not given by ${call.name}`, { node: call.name })
    }
    inputs.push(call.kwargs[binding]!)
  }
  return arity()
}
