/**
 * Test fixtures for the exporter passes: compiled modules built by hand (TensorRT modules with valid ABI "7"
 * records, PyTorch fallback modules with weights), the casts that hand them to a pass, and helpers that
 * read a program back as plain values.
 *
 * The modules imitate what `torch_tensorrt.dynamo.compile` partitions a model into: a root graph whose
 * `call_module`s call `_run_on_acc_N` TensorRT modules (`meta.val` the list of the engine's outputs; the
 * partitioner's getitems read multi-output engines) and `_run_on_gpu_N` fallback graph modules.
 */
import { assert } from "@effect/vitest"
import { Effect, Exit } from "effect"
import * as Argument from "../../src/graph/Argument.ts"
import type { Val } from "../../src/graph/Meta.ts"
import * as Module from "../../src/graph/Module.ts"
import type { Node } from "../../src/graph/Node.ts"
import type { Tensor } from "../../src/graph/Tensor.ts"
import * as GraphState from "../../src/passes/GraphState.ts"
import * as Pass from "../../src/passes/Pass.ts"
import * as Pipeline from "../../src/passes/Pipeline.ts"
import { PassError } from "../../src/passes/PassError.ts"
import * as EngineRecord from "../../src/program/EngineRecord.ts"
import type { ExportedProgram } from "../../src/program/ExportedProgram.ts"
import type * as Signature from "../../src/program/Signature.ts"
import { build, fn, formatArg, names as graphNames, type NodeSpec, out, ph, tensor } from "./GraphBuilder.ts"

export { build, fn, formatArg, graphNames, out, ph, tensor }

// ===== Metadata =====

/** The device every fixture record names. */
export const H100: EngineRecord.Device = {
  gpuId: 0,
  major: 9,
  minor: 0,
  deviceType: 0,
  deviceName: "NVIDIA H100 80GB HBM3"
}

/** A fake tensor's `meta.val`: contiguous, on cuda:0 unless said otherwise. */
export const tval = (
  shape: ReadonlyArray<number | string> = [2, 3],
  options?: { readonly dtype?: string; readonly device?: string; readonly stride?: ReadonlyArray<number | string> }
): Val => {
  let s = 1
  const stride = options?.stride ?? [...shape].reverse().map((d) => {
    const here = s
    s *= typeof d === "number" ? Math.max(d, 1) : 1
    return here
  }).reverse()
  return {
    tensor: {
      shape,
      stride,
      storage_offset: 0,
      dtype: options?.dtype ?? "float32",
      device: options?.device ?? "cuda:0",
      requires_grad: false
    }
  }
}

/** The meta of a node whose value is `val`. */
export const meta = (val: Val) => ({ val })

// ===== Engine records and TensorRT modules =====

/** A valid ABI "7" record for the TensorRT module `moduleName` (NAME `${moduleName}_engine`). */
export const record = (
  moduleName: string,
  inputs: ReadonlyArray<string>,
  outputs: ReadonlyArray<string>,
  options?: { readonly name?: string; readonly engine?: Uint8Array; readonly serializedMetadata?: string }
): EngineRecord.Abi7Record => ({
  abi: "7",
  name: options?.name ?? EngineRecord.engineName(moduleName),
  device: H100,
  engine: options?.engine ?? new TextEncoder().encode(`plan:${moduleName}`),
  inputBindingNames: inputs,
  outputBindingNames: outputs,
  hardwareCompatible: false,
  serializedMetadata: options?.serializedMetadata ?? "bWV0YQ==",
  targetPlatform: "linux_x86_64",
  requiresOutputAllocator: false
})

/**
 * A TensorRT module whose `packed_engine_info` is a valid record for its bindings. With `engineState`, it
 * also holds a live-engine record that differs from the packed one in its serialized metadata (as the
 * archive records engines that feed the output).
 */
export const trtModule = (
  moduleName: string,
  inputs: ReadonlyArray<string> = ["x"],
  outputs: ReadonlyArray<string> = ["out"],
  options?: { readonly engineState?: boolean; readonly packedEngineInfo?: Module.EngineInfo; readonly name?: string }
): Module.TrtModule => {
  const rec = record(moduleName, inputs, outputs, options?.name === undefined ? undefined : { name: options.name })
  return new Module.TrtModule({
    name: moduleName,
    packedEngineInfo: options?.packedEngineInfo ?? EngineRecord.encodeRaw(rec),
    engineState: options?.engineState === true
      ? EngineRecord.encodeRaw({ ...rec, serializedMetadata: "c3RhdGU=" })
      : undefined,
    inputBindingNames: inputs,
    outputBindingNames: outputs
  })
}

// ===== Graph modules =====

/** A built graph module and its nodes by spec name. */
export interface BuiltModule {
  readonly gm: Module.GraphModule
  readonly n: (name: string) => Node
}

/** A graph module over the graph the specs build; `setup` registers children and state. */
export const graphModule = (specs: ReadonlyArray<NodeSpec>, setup?: (gm: Module.GraphModule) => void): BuiltModule => {
  const built = build(specs)
  const gm = new Module.GraphModule(built.graph)
  setup?.(gm)
  return { gm, n: built.n }
}

/** A call_module spec. */
export const callModule = (
  name: string,
  target: string,
  args: ReadonlyArray<Argument.Argument> = [],
  kwargs: Argument.Kwargs = {},
  val?: Val
): NodeSpec => val === undefined ? [name, "call_module", target, args, kwargs] : [name, "call_module", target, args, kwargs, { val }]

/** A get_attr spec. */
export const getAttr = (name: string, target: string, val?: Val): NodeSpec =>
  val === undefined ? [name, "get_attr", target] : [name, "get_attr", target, [], {}, { val }]

/** A getitem spec. */
export const getitem = (name: string, of: string, index: number, val?: Val): NodeSpec =>
  fn(name, "_operator.getitem", [`%${of}`, index], {}, val === undefined ? undefined : { val })

// ===== The pass states, made by their checking constructors =====

// A fixture that is not the state it is meant to be is a bug of the test: a defect, not a failure to assert on
// (the rejection tests call `make` or `inputOf` themselves and look at the error).
export const asCompiled = (gm: Module.GraphModule): Effect.Effect<GraphState.CompiledModule> =>
  Effect.orDie(GraphState.CompiledModule.make(gm))
export const asInlined = (gm: Module.GraphModule): Effect.Effect<GraphState.InlinedModule> =>
  Effect.orDie(GraphState.InlinedModule.make(gm))
export const asLifted = (parts: GraphState.Lifted): Effect.Effect<GraphState.LiftedModule> =>
  Effect.orDie(GraphState.LiftedModule.make(parts))
export const asProgram = (ep: ExportedProgram): Effect.Effect<GraphState.ExportedProgram> =>
  Effect.orDie(GraphState.ExportedProgram.make(ep))

/**
 * `parts` made the input of `pass`, as a pipeline starting with it makes its input (`Pipeline.makeInput`):
 * a value that is not the state the pass requires fails as the pass's input.
 */
export const inputOf = <I extends GraphState.GraphState, O extends GraphState.GraphState>(
  pass: Pass.Pass<I, O, any>,
  parts: GraphState.PartsOf<I>
): Effect.Effect<I, PassError> => Pipeline.makeInput(Pipeline.make(pass), parts)

// ===== Sample compiled modules =====

const ADD = "torch.ops.aten.add.Tensor"
const MUL = "torch.ops.aten.mul.Tensor"
const RELU = "torch.ops.aten.relu.default"
const CONV = "torch.ops.aten.convolution.default"
export const ops = { ADD, MUL, RELU, CONV, SUB: "torch.ops.aten.sub.Tensor" } as const

/**
 * `test_base_full_compile`: the whole model in one engine. `x → _run_on_acc_0(x) → output (r,)`, with the
 * compiled module's pytree specs.
 */
export const singleEngine = (options?: { readonly engineState?: boolean }): BuiltModule =>
  graphModule([
    ph("x", meta(tval([1, 3, 8, 8]))),
    callModule("_run_on_acc_0", "_run_on_acc_0", ["%x"], {}, [tval([1, 16, 6, 6])]),
    out(Argument.tuple("%_run_on_acc_0"))
  ], (gm) => {
    gm.children.set("_run_on_acc_0", trtModule("_run_on_acc_0", ["x"], ["output0"], options))
    gm.inSpec = POSITIONAL_1
    gm.outSpec = TUPLE_1
  })

/**
 * `test_base_full_compile_multiple_outputs`: one engine with two outputs, read through the partitioner's
 * getitems (created in index order), returned as `(conv, relu)`.
 */
export const multiOutputEngine = (): BuiltModule =>
  graphModule([
    ph("x", meta(tval([1, 3, 8, 8]))),
    callModule("_run_on_acc_0", "_run_on_acc_0", ["%x"], {}, [tval([1, 16, 6, 6]), tval([1, 16, 6, 6], { dtype: "float16" })]),
    getitem("getitem", "_run_on_acc_0", 0),
    getitem("getitem_1", "_run_on_acc_0", 1),
    out(Argument.tuple("%getitem", "%getitem_1"))
  ], (gm) => {
    gm.children.set("_run_on_acc_0", trtModule("_run_on_acc_0", ["x"], ["conv", "relu"]))
  })

/** A fallback graph module computing `relu(x)`; its placeholder is named `name`. */
export const reluFallback = (input = "x"): Module.GraphModule =>
  graphModule([ph(input, meta(tval([1, 16, 6, 6]))), fn("relu", RELU, [`%${input}`], {}, meta(tval([1, 16, 6, 6]))), out("%relu")]).gm

/**
 * `test_hybrid_relu_fallback`: TRT / torch / TRT. `x → _run_on_acc_0 → _run_on_gpu_1 (relu) → _run_on_acc_2
 * → output (r,)`; `_run_on_acc_2` feeds the output, so it has an engine state.
 */
export const hybrid = (): BuiltModule =>
  graphModule([
    ph("x", meta(tval([1, 3, 8, 8]))),
    callModule("_run_on_acc_0", "_run_on_acc_0", ["%x"], {}, [tval([1, 16, 6, 6])]),
    callModule("_run_on_gpu_1", "_run_on_gpu_1", ["%_run_on_acc_0"], {}, tval([1, 16, 6, 6])),
    callModule("_run_on_acc_2", "_run_on_acc_2", ["%_run_on_gpu_1"], {}, [tval([1, 16, 6, 6])]),
    out(Argument.tuple("%_run_on_acc_2"))
  ], (gm) => {
    gm.children.set("_run_on_acc_0", trtModule("_run_on_acc_0", ["x"], ["output0"]))
    gm.children.set("_run_on_gpu_1", reluFallback("_run_on_acc_0"))
    gm.children.set("_run_on_acc_2", trtModule("_run_on_acc_2", ["input0"], ["output0"], { engineState: true }))
    gm.inSpec = POSITIONAL_1
    gm.outSpec = TUPLE_1
  })

/**
 * A fallback module with state: `conv(x, conv.weight, conv.bias)` then `mul` by the non-persistent buffer
 * `conv.scale`, as a `_run_on_gpu_N` module holds it (its state under the model's FQNs, `conv` a plain
 * module).
 */
export const convFallback = (): { readonly gm: Module.GraphModule; readonly weight: Tensor; readonly bias: Tensor; readonly scale: Tensor } => {
  const weight = tensorOf([16, 3, 3, 3], 1)
  const bias = tensorOf([16], 2)
  const scale = tensorOf([1], 3)
  const { gm } = graphModule([
    ph("x", meta(tval([1, 3, 8, 8]))),
    getAttr("conv_weight", "conv.weight"),
    getAttr("conv_bias", "conv.bias"),
    fn("convolution", CONV, ["%x", "%conv_weight", "%conv_bias", [1, 1], [0, 0], [1, 1], false, [0, 0], 1], {}, meta(tval([1, 16, 6, 6]))),
    getAttr("conv_scale", "conv.scale"),
    fn("mul", MUL, ["%convolution", "%conv_scale"], {}, meta(tval([1, 16, 6, 6]))),
    out("%mul")
  ], (sub) => {
    const conv = new Module.PlainModule("torch.nn.modules.conv.Conv2d")
    Module.registerParameter(conv, "weight", weight)
    Module.registerParameter(conv, "bias", bias)
    Module.registerBuffer(conv, "scale", scale, false)
    sub.children.set("conv", conv)
  })
  return { gm, weight, bias, scale }
}

/**
 * `test_hybrid_conv_fallback`: the convolution forced to PyTorch. `x → _run_on_gpu_0 (conv, weighted) →
 * _run_on_acc_1 (relu) → output (r,)`.
 */
export const weightedHybrid = () => {
  const fallback = convFallback()
  const built = graphModule([
    ph("x", meta(tval([1, 3, 8, 8]))),
    callModule("_run_on_gpu_0", "_run_on_gpu_0", ["%x"], {}, tval([1, 16, 6, 6])),
    callModule("_run_on_acc_1", "_run_on_acc_1", ["%_run_on_gpu_0"], {}, [tval([1, 16, 6, 6])]),
    out(Argument.tuple("%_run_on_acc_1"))
  ], (gm) => {
    gm.children.set("_run_on_gpu_0", fallback.gm)
    gm.children.set("_run_on_acc_1", trtModule("_run_on_acc_1", ["input0"], ["output0"]))
    gm.inSpec = POSITIONAL_1
    gm.outSpec = TUPLE_1
  })
  return { gm: built.gm, n: built.n, fallback: fallback.gm, weight: fallback.weight, bias: fallback.bias, scale: fallback.scale }
}

/** A float32 tensor with every element `fill`. */
export const tensorOf = (shape: ReadonlyArray<number>, fill: number): Tensor => tensor(shape, fill)

// ===== Treespecs =====

const LEAF = `{"type": null, "context": null, "children_spec": []}`

/** `treespec_dumps(((x,), {}))`. */
export const POSITIONAL_1 =
  `[1, {"type": "builtins.tuple", "context": "null", "children_spec": [{"type": "builtins.tuple", "context": "null", "children_spec": [${LEAF}]}, {"type": "builtins.dict", "context": "[]", "children_spec": []}]}]`

/** `treespec_dumps((r,))`. */
export const TUPLE_1 = `[1, {"type": "builtins.tuple", "context": "null", "children_spec": [${LEAF}]}]`

/** `treespec_dumps(((), {"a": a, "b": b}))`: two keyword inputs, in the order a, b. */
export const KWARGS_AB =
  `[1, {"type": "builtins.tuple", "context": "null", "children_spec": [{"type": "builtins.tuple", "context": "null", "children_spec": []}, {"type": "builtins.dict", "context": "[\\"a\\", \\"b\\"]", "children_spec": [${LEAF}, ${LEAF}]}]}]`

// ===== Reading results =====

/** A node's name, op, target and args, as text: `name = op[target](args)`. */
export const line = (node: Node): string =>
  `${node.name} = ${node.op}[${node.target}](${node.args.map(formatArg).join(", ")})`

/** Every node of a module's graph as {@link line}s. */
export const lines = (gm: Module.GraphModule): Array<string> => [...gm.graph.nodes()].map(line)

/** An input spec as text: `Kind:argName=target` (`UserInput:x`). */
export const specText = (spec: Signature.InputSpec): string =>
  spec._tag === "UserInput"
    ? `UserInput:${spec.arg._tag === "ConstantArgument" ? `const(${String(spec.arg.value)})` : spec.arg.name}`
    : spec._tag === "Token"
    ? `Token:${spec.arg.name}`
    : `${spec._tag}:${spec.arg.name}=${spec.target}${spec._tag === "Buffer" ? (spec.persistent ? " persistent" : " non-persistent") : ""}`

/** The names of the placeholders of a graph, in order. */
export const placeholderNames = (gm: Module.GraphModule): Array<string> => gm.graph.findNodes("placeholder").map((n) => n.name)

/** The node of a graph named `name`. */
export const nodeNamed = (gm: Module.GraphModule, name: string): Node => {
  for (const node of gm.graph.nodes()) if (node.name === name) return node
  return assert.fail(`no node named ${name}`)
}

// ===== Errors =====

/** Runs a failing effect and returns its PassError; a defect or a success fails the test. */
export const passError = <A, R>(self: Effect.Effect<A, PassError, R>): Effect.Effect<PassError, never, R> =>
  Effect.gen(function*() {
    const exit = yield* Effect.exit(self)
    if (Exit.isSuccess(exit)) return assert.fail("expected a PassError, but the pass succeeded")
    const error = yield* Effect.flip(Effect.failCause(exit.cause)).pipe(
      Effect.catchDefect((d) => Effect.sync(() => assert.fail(`expected a typed PassError, got a defect: ${String(d)}`)))
    )
    assert.instanceOf(error, PassError)
    assert.strictEqual(error._tag, "PassError")
    return error
  })

/** Checks a PassError's pass, phase and (where given) node. */
export const assertPassError = (
  e: PassError,
  expected: { readonly pass: string; readonly phase: "requires" | "run" | "ensures"; readonly node?: string | undefined }
): void => {
  assert.strictEqual(e._tag, "PassError")
  assert.strictEqual(e.pass, expected.pass)
  assert.strictEqual(e.phase, expected.phase, `phase of: ${e.detail}`)
  if ("node" in expected) assert.strictEqual(e.node, expected.node)
}

/**
 * A copy of `pass` under another name (`<name>Broken`) whose run breaks the state it ensures: `breakIt`
 * maps what the real pass's run returns to a broken one. Applying it must fail in the `ensures` phase.
 */
export const breaking = <I extends GraphState.GraphState, O extends GraphState.GraphState>(
  pass: Pass.Pass<I, O>,
  breakIt: (output: GraphState.PartsOf<O>) => GraphState.PartsOf<O>
): Pass.Pass<I, O> =>
  Pass.make({
    name: `${pass.name}Broken`,
    upstream: pass.upstream,
    requires: pass.requires,
    ensures: pass.ensures,
    changesInput: pass.changesInput,
    run: (input) => Effect.map(pass.run(input), breakIt)
  })

/** Adds, before the output, a call of a new plain module `plain` (no compiled module calls one). */
export const addPlainCall = (gm: Module.GraphModule): Node => {
  gm.children.set("plain", new Module.PlainModule())
  return gm.graph.insertingBefore(gm.graph.outputNode, () => gm.graph.callModule("plain", []))
}

/** Adds, before the output, a `get_attr` of an attribute the module does not have (so lint fails). */
export const addDanglingGetAttr = (gm: Module.GraphModule, target = "nowhere"): Node =>
  gm.graph.insertingBefore(gm.graph.outputNode, () => gm.graph.getAttr(target))

// ===== Rejections of the input states =====

/** A module that breaks a state, and what the check must name. */
export interface Rejection<A> {
  readonly label: string
  readonly make: () => A
  /** A word the detail must hold (a node or target name). */
  readonly mentions: string
}

/** A module whose graph has no output node. */
const noOutput = () => graphModule([ph("x"), fn("relu", RELU, ["%x"])]).gm

/**
 * Every way a module can fail to be a `CompiledModule` (`GraphState.compiledViolation`; the state does not
 * lint: lint runs inside the passes that upstream lints in, and between passes under `LintBetweenPasses`).
 */
export const compiledRejections: ReadonlyArray<Rejection<unknown>> = [
  {
    label: "not a GraphModule (a plain module)",
    make: () => new Module.PlainModule(),
    mentions: "GraphModule"
  },
  {
    label: "a graph without an output node",
    make: noOutput,
    mentions: "output"
  },
  {
    label: "a call_module of a plain module (neither a graph module nor a TensorRT module)",
    make: () =>
      graphModule([ph("x"), callModule("lin", "lin", ["%x"]), out("%lin")], (gm) => {
        gm.children.set("lin", new Module.PlainModule("torch.nn.modules.linear.Linear"))
      }).gm,
    mentions: "lin"
  },
  {
    label: "a call_module of a module that does not exist",
    make: () => graphModule([ph("x"), callModule("ghost_call", "ghost", ["%x"]), out("%ghost_call")]).gm,
    mentions: "ghost"
  }
]

/** Every way a module can fail to be an `InlinedModule` (`GraphState.inlinedViolation`). */
export const inlinedRejections: ReadonlyArray<Rejection<unknown>> = [
  compiledRejections[0]!,
  compiledRejections[1]!,
  {
    label: "a call_module still in the graph",
    make: () => hybrid().gm,
    mentions: "_run_on_acc_0"
  },
  {
    label: "a TensorRT module still in the module tree",
    make: () =>
      graphModule([ph("x"), fn("relu", RELU, ["%x"]), out("%relu")], (gm) => {
        gm.children.set("_run_on_acc_0", trtModule("_run_on_acc_0"))
      }).gm,
    mentions: "_run_on_acc_0"
  }
]

/** A module whose graph reads a node before defining it (fx's lint fails; the state checks do not lint). */
export const unorderedModule = (): Module.GraphModule => {
  const { gm, n } = graphModule([ph("x"), fn("relu", RELU, ["%x"]), fn("neg", "torch.ops.aten.neg.default", ["%relu"]), out("%neg")])
  n("relu").prepend(n("neg")) // neg now reads relu before relu is defined
  return gm
}
