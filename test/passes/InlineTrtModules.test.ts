/**
 * `inlineTrtModules` (upstream `inline_trt_modules`, exporter-semantics §2.3): one test per numbered rule of
 * the pass's header, one per rejection of its input state (`CompiledModule`), and one for the state it
 * ensures.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Result } from "effect"
import * as Argument from "../../src/graph/Argument.ts"
import * as Module from "../../src/graph/Module.ts"
import * as Lint from "../../src/graph/Lint.ts"
import { inlineTrtModules } from "../../src/passes/InlineTrtModules.ts"
import { EXECUTE_ENGINE, GETITEM, NO_OP_PLACEHOLDER } from "../../src/program/Targets.ts"
import * as Pass from "../../src/passes/Pass.ts"
import * as EngineRecord from "../../src/program/EngineRecord.ts"
import { EngineRecordError } from "../../src/program/EngineRecordError.ts"
import {
  addPlainCall,
  asCompiled,
  assertPassError,
  breaking,
  callModule,
  compiledRejections,
  fn,
  getitem,
  graphModule,
  graphNames,
  hybrid,
  line,
  lines,
  meta,
  nodeNamed,
  ops,
  out,
  passError,
  ph,
  record,
  trtModule,
  tval,
  inputOf
} from "../utils/PassFixtures.ts"

const NAME = "inlineTrtModules"
const ENGINE_FQN = "__torch__.torch.classes.tensorrt.Engine"
const run = (gm: Module.GraphModule, crossCompile = false) =>
  Effect.flatMap(asCompiled(gm), (m) => Pass.apply(inlineTrtModules({ crossCompile }), m))

describe("inlineTrtModules: rules", () => {
  it.effect("1. TensorRT modules are the TrtModule children in registration order; every call is found by target, so a module called twice is inlined twice", () =>
    Effect.gen(function*() {
      // Names that upstream's `"_run_on_acc" in name` and `node.name == name` would both miss; trt_b is
      // called first in the graph but registered second.
      const { gm } = graphModule([
        ph("x", meta(tval())),
        callModule("first_call", "trt_b", ["%x"], {}, [tval()]),
        callModule("second", "trt_a", ["%first_call"], {}, [tval()]),
        callModule("third", "trt_a", ["%second"], {}, [tval()]),
        out(Argument.tuple("%third"))
      ], (gm) => {
        gm.children.set("trt_a", trtModule("trt_a"))
        gm.children.set("trt_b", trtModule("trt_b"))
      })
      yield* run(gm)
      assert.deepStrictEqual(gm.graph.findNodes("call_module"), [])
      // trt_a's two calls are inlined first (registration order), so they take the first names.
      assert.deepStrictEqual(lines(gm), [
        "x = placeholder[x]()",
        "trt_b_engine = get_attr[trt_b_engine]()",
        `execute_engine_default_2 = call_function[${EXECUTE_ENGINE}]((%x,), %trt_b_engine)`,
        `getitem_2 = call_function[${GETITEM}](%execute_engine_default_2, 0)`,
        "trt_a_engine = get_attr[trt_a_engine]()",
        `execute_engine_default = call_function[${EXECUTE_ENGINE}]((%getitem_2,), %trt_a_engine)`,
        `getitem = call_function[${GETITEM}](%execute_engine_default, 0)`,
        "trt_a_engine_1 = get_attr[trt_a_engine]()",
        `execute_engine_default_1 = call_function[${EXECUTE_ENGINE}]((%getitem,), %trt_a_engine_1)`,
        `getitem_1 = call_function[${GETITEM}](%execute_engine_default_1, 0)`,
        "output = output[output]((%getitem_1,))"
      ])
      assert.deepStrictEqual([...gm.constants.keys()], ["trt_a_engine", "trt_b_engine"])
      Lint.lint(gm.graph)
    }))

  it.effect("2. the call's meta.val lists the engine's outputs; a call without it fails naming the node; a bare tensor val is one output", () =>
    Effect.gen(function*() {
      const missing = graphModule([
        ph("x", meta(tval())),
        callModule("trt_call", "_run_on_acc_0", ["%x"]),
        out(Argument.tuple("%trt_call"))
      ], (gm) => gm.children.set("_run_on_acc_0", trtModule("_run_on_acc_0")))
      const e = yield* passError(run(missing.gm))
      assertPassError(e, { pass: NAME, phase: "run", node: "trt_call" })

      const bare = graphModule([
        ph("x", meta(tval())),
        callModule("_run_on_acc_0", "_run_on_acc_0", ["%x"], {}, tval([4])),
        out(Argument.tuple("%_run_on_acc_0"))
      ], (gm) => gm.children.set("_run_on_acc_0", trtModule("_run_on_acc_0")))
      yield* run(bare.gm)
      assert.deepStrictEqual(nodeNamed(bare.gm, "execute_engine_default").meta.val, [tval([4])])
      assert.deepStrictEqual(nodeNamed(bare.gm, "getitem").meta.val, tval([4]))
      assert.strictEqual(line(bare.gm.graph.outputNode!), "output = output[output]((%getitem,))")
    }))

  it.effect("3. engine inputs are the positional args, then the keyword args in the order of the remaining input bindings; an unknown keyword fails", () =>
    Effect.gen(function*() {
      const spec = (kwargs: Argument.Kwargs) =>
        graphModule([
          ph("x", meta(tval())),
          ph("y", meta(tval())),
          ph("z", meta(tval())),
          callModule("_run_on_acc_0", "_run_on_acc_0", ["%x"], kwargs, [tval()]),
          out(Argument.tuple("%_run_on_acc_0"))
        ], (gm) => gm.children.set("_run_on_acc_0", trtModule("_run_on_acc_0", ["a", "b", "c"], ["o"])))
      const ok = spec({ c: "%z", b: "%y" })
      yield* run(ok.gm)
      assert.strictEqual(
        line(nodeNamed(ok.gm, "execute_engine_default")),
        `execute_engine_default = call_function[${EXECUTE_ENGINE}]((%x, %y, %z), %_run_on_acc_0_engine)`
      )
      const unknown = spec({ c: "%z", w: "%y" })
      const e = yield* passError(run(unknown.gm))
      assertPassError(e, { pass: NAME, phase: "run", node: "_run_on_acc_0" })
      assert.include(e.detail, "w")
      const notGiven = spec({ c: "%z" })
      const e2 = yield* passError(run(notGiven.gm))
      assertPassError(e2, { pass: NAME, phase: "run", node: "_run_on_acc_0" })
      assert.include(e2.detail, "b")
    }))

  it.effect("4. the plain path registers {name}_engine as a tensorrt::Engine script object (engine_state where present, else packed_engine_info) read by a get_attr whose val names the real class", () =>
    Effect.gen(function*() {
      const { gm } = hybrid()
      const acc0 = gm.children.get("_run_on_acc_0") as Module.TrtModule
      const acc2 = gm.children.get("_run_on_acc_2") as Module.TrtModule
      assert.isDefined(acc2.engineState)
      yield* run(gm)
      const c0 = gm.constants.get("_run_on_acc_0_engine")
      const c2 = gm.constants.get("_run_on_acc_2_engine")
      assert.deepStrictEqual(c0, { _tag: "ScriptObject", classFqn: ENGINE_FQN, state: acc0.packedEngineInfo })
      assert.strictEqual(c0?._tag === "ScriptObject" ? c0.state : undefined, acc0.packedEngineInfo)
      assert.strictEqual(c2?._tag === "ScriptObject" ? c2.state : undefined, acc2.engineState)
      assert.deepStrictEqual(nodeNamed(gm, "_run_on_acc_0_engine").meta.val, {
        custom_obj: { name: "_run_on_acc_0_engine", class_fqn: ENGINE_FQN }
      })
      assert.deepStrictEqual(nodeNamed(gm, "_run_on_acc_2_engine").meta.val, {
        custom_obj: { name: "_run_on_acc_2_engine", class_fqn: ENGINE_FQN }
      })
      assert.deepStrictEqual(
        gm.graph.findNodes("get_attr").map((n) => n.target),
        ["_run_on_acc_0_engine", "_run_on_acc_2_engine"]
      )
    }))

  it.effect("5. the cross-compile path passes the packed_engine_info record, validated, with the engine in base64", () =>
    Effect.gen(function*() {
      const { gm } = hybrid()
      yield* run(gm, true)
      const noOps = gm.graph.findNodes("call_function", NO_OP_PLACEHOLDER)
      assert.deepStrictEqual(noOps.map((n) => n.name), [
        "no_op_placeholder_for_execute_engine_default",
        "no_op_placeholder_for_execute_engine_default_1"
      ])
      // _run_on_acc_2 has an engine_state, but the no-op carries packed_engine_info.
      const rec2 = record("_run_on_acc_2", ["input0"], ["output0"])
      assert.deepStrictEqual(noOps[1]!.args.slice(1), Result.getOrThrow(EngineRecord.encodeBase64(rec2)))
      assert.deepStrictEqual(noOps[1]!.args.slice(1), [
        "7",
        "_run_on_acc_2_engine",
        "0%9%0%0%NVIDIA H100 80GB HBM3",
        Buffer.from("plan:_run_on_acc_2").toString("base64"),
        "input0",
        "output0",
        "0",
        "bWV0YQ==",
        "linux_x86_64",
        "0"
      ])
      assert.strictEqual(line(noOps[0]!).split("](")[1]!.startsWith("(%x,), \"7\""), true)
      assert.deepStrictEqual(gm.graph.findNodes("get_attr"), [])
      assert.deepStrictEqual([...gm.constants.keys()], [])

      // One engine module (bindings x → out) holding `rec` as its packed record.
      const holding = (rec: EngineRecord.EngineRecord) =>
        graphModule([
          ph("x", meta(tval())),
          callModule("_run_on_acc_0", "_run_on_acc_0", ["%x"], {}, [tval()]),
          out(Argument.tuple("%_run_on_acc_0"))
        ], (gm) => gm.children.set("_run_on_acc_0", trtModule("_run_on_acc_0", ["x"], ["out"], { packedEngineInfo: EngineRecord.encodeRaw(rec) })))

      // Validated: a record whose bindings differ from the module's is refused, with the located fault.
      const e = yield* passError(run(holding(record("_run_on_acc_0", ["not_x"], ["out"])).gm, true))
      assertPassError(e, { pass: NAME, phase: "run" })
      assert.instanceOf(e.cause, EngineRecordError)
      assert.strictEqual((e.cause as EngineRecordError).reason, "BindingMismatch")
      assert.strictEqual((e.cause as EngineRecordError).field, "INPUT_BINDING_NAMES")

      // An engine with no base64 form (its text would outgrow a JavaScript string) is refused by name, not
      // thrown by Node. The buffer is never written, so the operating system gives it no memory.
      const big = holding(record("_run_on_acc_0", ["x"], ["out"], { engine: new Uint8Array(EngineRecord.MAX_BASE64_ENGINE_BYTES + 1) }))
      const tooLarge = yield* passError(run(big.gm, true))
      assertPassError(tooLarge, { pass: NAME, phase: "run" })
      assert.strictEqual((tooLarge.cause as EngineRecordError).reason, "TooLarge")
      assert.strictEqual((tooLarge.cause as EngineRecordError).record, "_run_on_acc_0")
      assert.include(tooLarge.detail, `${EngineRecord.MAX_BASE64_ENGINE_BYTES + 1} bytes`)
    }))

  it.effect("6. one output: an inserted getitem(engine, 0) with that output's meta; several: the partitioner's getitems, each with its own index's meta; no inputs or no outputs are accepted", () =>
    Effect.gen(function*() {
      const a = tval([1], { dtype: "float32" })
      const b = tval([2], { dtype: "float16" })
      // The getitem of index 1 is created (and so listed among the users) before the getitem of index 0.
      const { gm } = graphModule([
        ph("x", meta(tval())),
        callModule("_run_on_acc_0", "_run_on_acc_0", ["%x"], {}, [a, b]),
        getitem("second", "_run_on_acc_0", 1),
        getitem("first", "_run_on_acc_0", 0),
        callModule("_run_on_acc_1", "_run_on_acc_1", ["%first"], {}, [a]),
        out(Argument.tuple("%_run_on_acc_1", "%second"))
      ], (gm) => {
        gm.children.set("_run_on_acc_0", trtModule("_run_on_acc_0", ["x"], ["a", "b"]))
        gm.children.set("_run_on_acc_1", trtModule("_run_on_acc_1", ["x"], ["a"]))
      })
      yield* run(gm)
      assert.deepStrictEqual(nodeNamed(gm, "second").meta.val, b)
      assert.deepStrictEqual(nodeNamed(gm, "first").meta.val, a)
      assert.deepStrictEqual(nodeNamed(gm, "getitem").meta.val, a)
      assert.strictEqual(line(nodeNamed(gm, "getitem")), `getitem = call_function[${GETITEM}](%execute_engine_default_1, 0)`)
      assert.strictEqual(line(gm.graph.outputNode!), "output = output[output]((%getitem, %second))")
      assert.strictEqual(line(nodeNamed(gm, "second")), `second = call_function[${GETITEM}](%execute_engine_default, 1)`)

      // An engine with no inputs and one with no outputs.
      const edge = graphModule([
        ph("x", meta(tval())),
        callModule("source", "_run_on_acc_0", [], {}, [a]),
        callModule("sink", "_run_on_acc_1", ["%x"], {}, []),
        out(Argument.tuple("%source"))
      ], (gm) => {
        gm.children.set("_run_on_acc_0", trtModule("_run_on_acc_0", [], ["a"]))
        gm.children.set("_run_on_acc_1", trtModule("_run_on_acc_1", ["x"], []))
      })
      yield* run(edge.gm)
      assert.deepStrictEqual(lines(edge.gm), [
        "x = placeholder[x]()",
        "_run_on_acc_0_engine = get_attr[_run_on_acc_0_engine]()",
        `execute_engine_default = call_function[${EXECUTE_ENGINE}]((), %_run_on_acc_0_engine)`,
        `getitem = call_function[${GETITEM}](%execute_engine_default, 0)`,
        "_run_on_acc_1_engine = get_attr[_run_on_acc_1_engine]()",
        `execute_engine_default_1 = call_function[${EXECUTE_ENGINE}]((%x,), %_run_on_acc_1_engine)`,
        "output = output[output]((%getitem,))"
      ])
      assert.deepStrictEqual(nodeNamed(edge.gm, "execute_engine_default_1").meta.val, [])
    }))

  it.effect("7. the call node is erased; the TensorRT module stays registered until cleanup", () =>
    Effect.gen(function*() {
      const { gm, n } = hybrid()
      const call = n("_run_on_acc_0")
      yield* run(gm)
      assert.isTrue(call.erased)
      assert.isFalse(graphNames(gm.graph).includes("_run_on_acc_0"))
      assert.deepStrictEqual([...gm.children.keys()], ["_run_on_acc_0", "_run_on_gpu_1", "_run_on_acc_2"])
      assert.strictEqual(gm.children.get("_run_on_acc_0")?.kind, "trt_module")
      // The fallback call is not this pass's business.
      assert.deepStrictEqual(gm.graph.findNodes("call_module").map((x) => x.name), ["_run_on_gpu_1"])
    }))

  it.effect("8. scalars at the boundary: scalar inputs become 0-d tensors by aten.scalar_tensor; a scalar output is read back by aten.item, whose value its users read", () =>
    Effect.gen(function*() {
      const t = tval([2, 3])
      const { gm } = graphModule([
        ph("x", meta(t)),
        fn("sym_size_int", "torch.ops.aten.sym_size.int", ["%x", 0], {}, meta({ sym_int: "s0" })),
        callModule("_run_on_acc_0", "_run_on_acc_0", ["%x", "%sym_size_int", 3, Argument.float(0.5), true], {}, [t, { int: 2 }]),
        getitem("getitem", "_run_on_acc_0", 0),
        getitem("getitem_1", "_run_on_acc_0", 1),
        fn("add", ops.ADD, ["%getitem", "%getitem_1"], {}, meta(t)),
        out(Argument.tuple("%add"))
      ], (gm) => gm.children.set("_run_on_acc_0", trtModule("_run_on_acc_0", ["x", "n", "k", "f", "b"], ["y", "m"])))
      yield* run(gm)
      const ST = "torch.ops.aten.scalar_tensor.default"
      assert.deepStrictEqual(lines(gm), [
        "x = placeholder[x]()",
        "sym_size_int = call_function[torch.ops.aten.sym_size.int](%x, 0)",
        `scalar_tensor_default = call_function[${ST}](%sym_size_int)`,
        `scalar_tensor_default_1 = call_function[${ST}](3)`,
        `scalar_tensor_default_2 = call_function[${ST}](0.5f)`,
        `scalar_tensor_default_3 = call_function[${ST}](true)`,
        "_run_on_acc_0_engine = get_attr[_run_on_acc_0_engine]()",
        `execute_engine_default = call_function[${EXECUTE_ENGINE}]((%x, %scalar_tensor_default, %scalar_tensor_default_1, %scalar_tensor_default_2, %scalar_tensor_default_3), %_run_on_acc_0_engine)`,
        `getitem = call_function[${GETITEM}](%execute_engine_default, 0)`,
        `getitem_1 = call_function[${GETITEM}](%execute_engine_default, 1)`,
        "item_default = call_function[torch.ops.aten.item.default](%getitem_1)",
        `add = call_function[${ops.ADD}](%getitem, %item_default)`,
        "output = output[output]((%add,))"
      ])
      const zeroDim = (dtype: string) => ({
        tensor: { shape: [], stride: [], storage_offset: 0, dtype, device: "cuda:0", requires_grad: false }
      })
      const st = (name: string) => nodeNamed(gm, name)
      assert.deepStrictEqual(st("scalar_tensor_default").kwargs, { dtype: Argument.dtype("int64"), device: Argument.device("cuda:0") })
      assert.deepStrictEqual(st("scalar_tensor_default").meta.val, zeroDim("int64"))
      assert.deepStrictEqual(st("scalar_tensor_default_1").meta.val, zeroDim("int64"))
      assert.deepStrictEqual(st("scalar_tensor_default_2").meta.val, zeroDim("float32"))
      assert.deepStrictEqual(st("scalar_tensor_default_3").meta.val, zeroDim("bool"))
      assert.deepStrictEqual(st("getitem_1").meta.val, zeroDim("int64"))
      assert.deepStrictEqual(st("item_default").meta.val, { int: 2 })
      assert.deepStrictEqual(st("getitem").meta.val, t)
    }))
})

describe("inlineTrtModules: bugs", () => {
  // Regression (was a bug): the TensorRT children are walked with namedChildren, which lists a module object once,
  // under its first name; the calls are then looked up by that name only, so a call through a second name
  // of the same TrtModule is never inlined, and the export fails later ("call_module c2 calls alias, a
  // trt_module, which cannot be inlined", from inlineTorchModules).
  it.effect("rule 1: a TensorRT module registered under two names is inlined at the calls through both", () =>
    Effect.gen(function*() {
      const shared = trtModule("_run_on_acc_0")
      const { gm } = graphModule([
        ph("x", meta(tval())),
        callModule("c1", "_run_on_acc_0", ["%x"], {}, [tval()]),
        callModule("c2", "alias", ["%c1"], {}, [tval()]),
        out(Argument.tuple("%c2"))
      ], (gm) => {
        gm.children.set("_run_on_acc_0", shared)
        gm.children.set("alias", shared)
      })
      yield* run(gm)
      assert.deepStrictEqual(gm.graph.findNodes("call_module").map((n) => n.name), [])
      assert.strictEqual(gm.graph.findNodes("call_function", EXECUTE_ENGINE).length, 2)
    }))

  // Regression (was a bug): `binding in call.kwargs` also finds inherited properties, so an input binding named like an
  // Object.prototype member ("valueOf", "constructor"...) that no keyword gives is taken to be given, and
  // the engine is passed the JavaScript function Object.prototype.valueOf instead of failing.
  it.effect("rule 3: an input binding named \"valueOf\" that no keyword gives fails, naming the call", () =>
    Effect.gen(function*() {
      const { gm } = graphModule([
        ph("x", meta(tval())),
        callModule("_run_on_acc_0", "_run_on_acc_0", ["%x"], { y: "%x" }, [tval()]),
        out(Argument.tuple("%_run_on_acc_0"))
      ], (gm) => gm.children.set("_run_on_acc_0", trtModule("_run_on_acc_0", ["x", "y", "valueOf"], ["o"])))
      const e = yield* passError(run(gm))
      assertPassError(e, { pass: NAME, phase: "run", node: "_run_on_acc_0" })
      assert.include(e.detail, "valueOf")
    }))
})

describe("inlineTrtModules: input state (CompiledModule)", () => {
  for (const rejection of compiledRejections) {
    it.effect(`rejects ${rejection.label}`, () =>
      Effect.gen(function*() {
        const e = yield* passError(inputOf(inlineTrtModules(), rejection.make() as never))
        assertPassError(e, { pass: NAME, phase: "requires" })
        assert.include(e.detail, rejection.mentions)
      }))
  }
})

describe("inlineTrtModules: output state (CompiledModule)", () => {
  it.effect("a pass that leaves a call of a plain module fails its ensures check", () =>
    Effect.gen(function*() {
      const broken = breaking(inlineTrtModules(), (gm) => {
        addPlainCall(gm)
        return gm
      })
      const e = yield* passError(Pass.apply(broken, yield* asCompiled(hybrid().gm)))
      assertPassError(e, { pass: "inlineTrtModulesBroken", phase: "ensures" })
      assert.include(e.detail, "plain")
    }))
})
