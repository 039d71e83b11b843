/**
 * `replaceNoOpPlaceholders` (upstream `replace_execute_engine_no_op_node`, exporter-semantics §2.9): one test
 * per numbered rule of the pass's header, one per rejection of its input state (`ExportedProgram`), one for
 * the state it ensures, and the bugs found.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Argument from "../../src/graph/Argument.ts"
import * as Module from "../../src/graph/Module.ts"
import * as Exporter from "../../src/passes/Exporter.ts"
import { EXECUTE_ENGINE, NO_OP_PLACEHOLDER } from "../../src/program/Targets.ts"
import * as Pass from "../../src/passes/Pass.ts"
import { replaceNoOpPlaceholders } from "../../src/passes/ReplaceNoOpPlaceholders.ts"
import * as EngineRecord from "../../src/program/EngineRecord.ts"
import { EngineRecordError } from "../../src/program/EngineRecordError.ts"
import type { ExportedProgram } from "../../src/program/ExportedProgram.ts"
import { printGraph } from "../utils/GraphBuilder.ts"
import {
  asProgram,
  assertPassError,
  breaking,
  callModule,
  fn,
  graphModule,
  hybrid,
  lines,
  meta,
  multiOutputEngine,
  nodeNamed,
  ops,
  out,
  passError,
  ph,
  placeholderNames,
  record,
  specText,
  trtModule,
  tval,
  weightedHybrid,
  inputOf
} from "../utils/PassFixtures.ts"

const NAME = "replaceNoOpPlaceholders"
const ENGINE_FQN = "__torch__.torch.classes.tensorrt.Engine"
const cross = (gm: Module.GraphModule) => Exporter.exportModule(gm, { crossCompile: true })
const run = (ep: ExportedProgram) => Effect.flatMap(asProgram(ep), (p) => Pass.apply(replaceNoOpPlaceholders, p))

describe("replaceNoOpPlaceholders: rules", () => {
  it.effect("1. no-op nodes are found by target; a program without any is returned unchanged", () =>
    Effect.gen(function*() {
      const ep = yield* cross(hybrid().gm)
      // Rename the no-ops so that upstream's `"no_op_placeholder_for_execute_engine" in node.name` misses them.
      for (const noOp of ep.graphModule.graph.findNodes("call_function", NO_OP_PLACEHOLDER)) {
        ep.graphModule.graph.renameNode(noOp, "engine_call")
      }
      const loaded = yield* run(ep)
      assert.deepStrictEqual(loaded.graphModule.graph.findNodes("call_function", NO_OP_PLACEHOLDER), [])
      assert.strictEqual(loaded.graphModule.graph.findNodes("call_function", EXECUTE_ENGINE).length, 2)

      const plain = yield* Exporter.exportModule(hybrid().gm)
      assert.strictEqual(yield* run(plain), plain)
      const noEngines = yield* cross(graphModule([ph("x", meta(tval())), fn("relu", ops.RELU, ["%x"]), out("%relu")]).gm)
      assert.strictEqual(yield* Exporter.load(noEngines), noEngines)
    }))

  it.effect("2. a no-op node without meta.val fails, naming that node", () =>
    Effect.gen(function*() {
      const ep = yield* cross(hybrid().gm)
      const second = nodeNamed(ep.graphModule, "no_op_placeholder_for_execute_engine_default_1")
      delete second.meta.val
      const e = yield* passError(run(ep))
      assertPassError(e, { pass: NAME, phase: "run", node: "no_op_placeholder_for_execute_engine_default_1" })
      assert.include(e.detail, "no_op_placeholder_for_execute_engine_default_1")
    }))

  it.effect("3. every record is decoded and validated (field count, ABI, device, bindings, base64) before anything changes", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<readonly [string, (fields: Array<string>) => Array<string>, EngineRecordError["reason"]]> = [
        ["a field too few", (f) => f.slice(0, 9), "FieldCount"],
        ["an unknown ABI", (f) => ["6", ...f.slice(1)], "UnsupportedAbi"],
        ["a bad device", (f) => f.map((x, i) => (i === EngineRecord.DEVICE_IDX ? "0%9%0%0" : x)), "BadDevice"],
        ["a binding list with an empty item", (f) => f.map((x, i) => (i === EngineRecord.INPUT_BINDING_NAMES_IDX ? "a%%b" : x)), "BadBindings"],
        ["an engine that is not base64", (f) => f.map((x, i) => (i === EngineRecord.ENGINE_IDX ? "not base64!" : x)), "BadBase64"]
      ]
      for (const [label, corrupt, reason] of cases) {
        const ep = yield* cross(hybrid().gm)
        const [, second] = ep.graphModule.graph.findNodes("call_function", NO_OP_PLACEHOLDER)
        second!.args = [second!.args[0]!, ...corrupt(second!.args.slice(1) as Array<string>)]
        const before = printGraph(ep.graphModule.graph)
        const e = yield* passError(run(ep))
        assertPassError(e, { pass: NAME, phase: "run", node: "no_op_placeholder_for_execute_engine_default_1" })
        assert.instanceOf(e.cause, EngineRecordError, label)
        assert.strictEqual((e.cause as EngineRecordError).reason, reason, label)
        // The first (valid) no-op was not replaced either.
        assert.strictEqual(printGraph(ep.graphModule.graph), before, label)
        assert.deepStrictEqual([...ep.graphModule.constants.keys()], [], label)
      }
    }))

  it.effect("4. each engine is a constant under its record's NAME; a NAME already taken gets the next free _k suffix", () =>
    Effect.gen(function*() {
      // Two engines whose records share the default NAME, and a root attribute already holding it.
      const { gm } = graphModule([
        ph("x", meta(tval())),
        callModule("_run_on_acc_0", "_run_on_acc_0", ["%x"], {}, [tval()]),
        callModule("_run_on_acc_1", "_run_on_acc_1", ["%_run_on_acc_0"], {}, [tval()]),
        out(Argument.tuple("%_run_on_acc_1"))
      ], (gm) => {
        gm.children.set("_run_on_acc_0", trtModule("_run_on_acc_0", ["x"], ["o"], { name: "tensorrt_engine" }))
        gm.children.set("_run_on_acc_1", trtModule("_run_on_acc_1", ["x"], ["o"], { name: "tensorrt_engine" }))
      })
      const ep = yield* cross(gm)
      Module.setConstant(ep.graphModule, "tensorrt_engine", { _tag: "ScriptObject", classFqn: "other", state: [] })
      const loaded = yield* run(ep)
      const engines = [...loaded.constants].filter(([, c]) => c._tag === "ScriptObject" && c.classFqn === ENGINE_FQN)
      assert.deepStrictEqual(engines.map(([k]) => k), ["tensorrt_engine_1", "tensorrt_engine_2"])
      const first = loaded.constants.get("tensorrt_engine_1")
      assert.deepStrictEqual(
        first?._tag === "ScriptObject" ? first.state : undefined,
        EngineRecord.encodeRaw(record("_run_on_acc_0", ["x"], ["o"], { name: "tensorrt_engine" }))
      )
      assert.deepStrictEqual(
        loaded.graphSignature.inputSpecs.map(specText),
        ["CustomObj:tensorrt_engine_3=tensorrt_engine_1", "CustomObj:tensorrt_engine_4=tensorrt_engine_2", "UserInput:x"]
      )
    }))

  it.effect("4b. one constant per distinct record: a module called twice gives one, records that differ only outside the engine give two", () =>
    Effect.gen(function*() {
      const same = new TextEncoder().encode("plan:shared")
      const { gm } = graphModule([
        ph("x", meta(tval())),
        callModule("first", "_run_on_acc_0", ["%x"], {}, [tval()]),
        callModule("second", "_run_on_acc_0", ["%first"], {}, [tval()]),
        callModule("third", "_run_on_acc_1", ["%second"], {}, [tval()]),
        out(Argument.tuple("%third"))
      ], (gm) => {
        // The same engine bytes under two NAMEs: two records.
        for (const m of ["_run_on_acc_0", "_run_on_acc_1"]) {
          gm.children.set(m, trtModule(m, ["x"], ["o"], { packedEngineInfo: EngineRecord.encodeRaw(record(m, ["x"], ["o"], { engine: same })) }))
        }
      })
      const loaded = yield* run(yield* cross(gm))
      const engines = [...loaded.constants].filter(([, c]) => c._tag === "ScriptObject" && c.classFqn === ENGINE_FQN).map(([k]) => k)
      assert.deepStrictEqual(engines, ["_run_on_acc_0_engine", "_run_on_acc_1_engine"])
      const calls = loaded.graphModule.graph.findNodes("call_function", EXECUTE_ENGINE)
      assert.deepStrictEqual(calls.map((c) => (c.args[1] as { target: string }).target), ["_run_on_acc_0_engine", "_run_on_acc_0_engine", "_run_on_acc_1_engine"])
    }))

  it.effect("5. execute_engine keeps the no-op's meta.val; every getitem keeps its own meta, which the export set from its own index", () =>
    Effect.gen(function*() {
      const ep = yield* cross(multiOutputEngine().gm)
      const noOp = ep.graphModule.graph.findNodes("call_function", NO_OP_PLACEHOLDER)[0]!
      const outputs = noOp.meta.val
      // Put getitem(1) before getitem(0), so that it comes first among the users: upstream reassigned the
      // metas in users order, which would swap them.
      const g0 = nodeNamed(ep.graphModule, "getitem")
      const g1 = nodeNamed(ep.graphModule, "getitem_1")
      g0.prepend(g1)
      assert.deepStrictEqual(g0.meta.val, tval([1, 16, 6, 6]))
      assert.deepStrictEqual(g1.meta.val, tval([1, 16, 6, 6], { dtype: "float16" }))
      const loaded = yield* run(ep)
      const exec = loaded.graphModule.graph.findNodes("call_function", EXECUTE_ENGINE)[0]!
      assert.strictEqual(exec.meta.val, outputs)
      assert.deepStrictEqual([...exec.users].map((u) => u.name), ["getitem_1", "getitem"])
      assert.deepStrictEqual(nodeNamed(loaded.graphModule, "getitem").meta.val, tval([1, 16, 6, 6]))
      assert.deepStrictEqual(nodeNamed(loaded.graphModule, "getitem_1").meta.val, tval([1, 16, 6, 6], { dtype: "float16" }))
      // A getitem's meta is its own: a 0-d tensor meta (a scalar output's) is not reset from the list.
      const scalarish = yield* cross(multiOutputEngine().gm)
      const marker = { tensor: { shape: [], stride: [], storage_offset: 0, dtype: "int64", device: "cuda:0", requires_grad: false } }
      nodeNamed(scalarish.graphModule, "getitem_1").meta.val = marker
      const loaded2 = yield* run(scalarish)
      assert.deepStrictEqual(nodeNamed(loaded2.graphModule, "getitem_1").meta.val, marker)
    }))

  it.effect("6. engines are lifted as custom objects after the existing lifted inputs, with the plain export's placeholder names; dead code is eliminated and the graph linted", () =>
    Effect.gen(function*() {
      const ep = yield* cross(weightedHybrid().gm)
      const loaded = yield* run(ep)
      const plain = yield* Exporter.exportModule(weightedHybrid().gm)
      assert.deepStrictEqual(loaded.graphSignature.inputSpecs.map(specText), [
        "Parameter:conv_weight_1=conv.weight",
        "Parameter:conv_bias_1=conv.bias",
        "Buffer:conv_scale_1=conv.scale non-persistent",
        "CustomObj:_run_on_acc_1_engine_1=_run_on_acc_1_engine",
        "UserInput:x"
      ])
      assert.deepStrictEqual(loaded.graphSignature.inputSpecs, plain.graphSignature.inputSpecs)
      assert.deepStrictEqual(placeholderNames(loaded.graphModule), placeholderNames(plain.graphModule))
      assert.deepStrictEqual(lines(loaded.graphModule), lines(plain.graphModule))
      assert.deepStrictEqual(nodeNamed(loaded.graphModule, "_run_on_acc_1_engine_1").meta.val, {
        custom_obj: { name: "_run_on_acc_1_engine_1", class_fqn: ENGINE_FQN }
      })
    }))

  it.effect("7. the program given is not changed: the pass works on a copy", () =>
    Effect.gen(function*() {
      const ep = yield* cross(hybrid().gm)
      const before = printGraph(ep.graphModule.graph)
      const signature = ep.graphSignature
      const loaded = yield* run(ep)
      assert.notStrictEqual(loaded, ep)
      assert.notStrictEqual(loaded.graphModule, ep.graphModule)
      assert.strictEqual(printGraph(ep.graphModule.graph), before)
      assert.strictEqual(ep.graphSignature, signature)
      assert.deepStrictEqual(signature.inputSpecs.map(specText), ["UserInput:x"])
      assert.deepStrictEqual([...ep.graphModule.constants.keys()], [])
      assert.deepStrictEqual([...ep.constants.keys()], [])
    }))
})

describe("replaceNoOpPlaceholders: bugs", () => {
  // Regression (was a bug): the engines are lifted before dead code is eliminated, so the engine of a dead no-op
  // becomes an unused CUSTOM_OBJ input (and constant) of the loaded program, where the plain export (which
  // eliminates dead code before lifting) has none. The exporter's own cross-compiled programs have no dead
  // no-op (cleanup removes it), so only other producers' programs show it.
  it.effect("rule 6: the engine of a dead no-op is not lifted", () =>
    Effect.gen(function*() {
      const ep = yield* cross(hybrid().gm)
      const g = ep.graphModule.graph
      const x = g.findNodes("placeholder")[0]!
      const live = g.findNodes("call_function", NO_OP_PLACEHOLDER)[0]!
      g.insertingBefore(g.outputNode, () =>
        g.callFunction(NO_OP_PLACEHOLDER, [Argument.tuple(x), ...(live.args.slice(1) as Array<string>)], {}, { meta: { val: [tval()] } }))
      const loaded = yield* run(ep)
      assert.strictEqual(loaded.graphModule.graph.findNodes("call_function", EXECUTE_ENGINE).length, 2)
      assert.deepStrictEqual(loaded.graphSignature.inputSpecs.map(specText), [
        "CustomObj:_run_on_acc_0_engine_1=_run_on_acc_0_engine",
        "CustomObj:_run_on_acc_2_engine_1=_run_on_acc_2_engine",
        "UserInput:x"
      ])
    }))

  // Regression (was a bug): lifting the engines of a program without any placeholder anchors the new placeholders on the
  // graph's first node, which is the first engine's get_attr; it is erased once lifted, and placing the
  // second placeholder fails ("Node _run_on_acc_0_engine was erased"). The same bug is in `lift` (the plain
  // export of this module fails the same way).
  it.effect("rule 6: a program with no inputs and two engines without inputs loads", () =>
    Effect.gen(function*() {
      const { gm } = graphModule([
        callModule("a", "_run_on_acc_0", [], {}, [tval()]),
        callModule("b", "_run_on_acc_1", [], {}, [tval()]),
        fn("add", ops.ADD, ["%a", "%b"]),
        out(Argument.tuple("%add"))
      ], (gm) => {
        gm.children.set("_run_on_acc_0", trtModule("_run_on_acc_0", [], ["o"]))
        gm.children.set("_run_on_acc_1", trtModule("_run_on_acc_1", [], ["o"]))
      })
      const loaded = yield* Exporter.load(yield* cross(gm))
      assert.deepStrictEqual(loaded.graphSignature.inputSpecs.map(specText), [
        "CustomObj:_run_on_acc_0_engine_1=_run_on_acc_0_engine",
        "CustomObj:_run_on_acc_1_engine_1=_run_on_acc_1_engine"
      ])
    }))
})

// ===== Input state =====

type Breaker = (ep: ExportedProgram) => ExportedProgram

const programRejections: ReadonlyArray<{ readonly label: string; readonly make: Breaker; readonly mentions: string }> = [
  { label: "not an ExportedProgram (a GraphModule)", make: (ep) => ep.graphModule as never, mentions: "ExportedProgram" },
  {
    label: "fewer input specs than placeholders",
    make: (ep) => ({ ...ep, graphSignature: { ...ep.graphSignature, inputSpecs: ep.graphSignature.inputSpecs.slice(1) } }),
    mentions: "input specs"
  },
  {
    label: "an input spec that names another placeholder",
    make: (ep) => {
      const [a, b, ...rest] = ep.graphSignature.inputSpecs
      return { ...ep, graphSignature: { ...ep.graphSignature, inputSpecs: [b!, a!, ...rest] } }
    },
    mentions: "conv_bias_1"
  },
  {
    label: "a lifted input after a user input",
    make: (ep) => {
      // x first, in the graph and in the signature: names match, but lifted inputs follow a user input.
      const g = ep.graphModule.graph
      const placeholders = g.findNodes("placeholder")
      placeholders[0]!.prepend(placeholders.at(-1)!)
      const specs = ep.graphSignature.inputSpecs
      return { ...ep, graphSignature: { ...ep.graphSignature, inputSpecs: [specs.at(-1)!, ...specs.slice(0, -1)] } }
    },
    mentions: "after a user input"
  },
  {
    label: "a target lifted twice",
    make: (ep) => {
      const specs = ep.graphSignature.inputSpecs
      const twice = { ...specs[1]!, target: (specs[0] as { target: string }).target } as (typeof specs)[number]
      return { ...ep, graphSignature: { ...ep.graphSignature, inputSpecs: [specs[0]!, twice, ...specs.slice(2)] } }
    },
    mentions: "lifted twice"
  },
  {
    label: "a parameter missing from the state dict",
    make: (ep) => ({ ...ep, stateDict: new Map([...ep.stateDict].filter(([k]) => k !== "conv.weight")) }),
    mentions: "conv.weight"
  },
  {
    label: "a non-persistent buffer missing from the constants",
    make: (ep) => ({ ...ep, constants: new Map([...ep.constants].filter(([k]) => k !== "conv.scale")) }),
    mentions: "conv.scale"
  },
  {
    label: "a call_module in the graph",
    make: (ep) => {
      const g = ep.graphModule.graph
      ep.graphModule.children.set("fb", graphModule([ph("p"), out("%p")]).gm)
      g.insertingBefore(g.outputNode, () => g.callModule("fb", [null]))
      return ep
    },
    mentions: "fb"
  },
  {
    label: "a get_attr of state that is not an input",
    make: (ep) => {
      const g = ep.graphModule.graph
      g.insertingBefore(g.outputNode, () => g.getAttr("conv.weight"))
      return ep
    },
    mentions: "conv.weight"
  },
  {
    label: "a graph without an output node",
    make: (ep) => {
      const g = ep.graphModule.graph
      g.eraseNode(g.outputNode!)
      return ep
    },
    mentions: "output"
  },
  {
    label: "more outputs than output specs",
    make: (ep) => {
      const output = ep.graphModule.graph.outputNode!
      output.args = [Argument.tuple(...(output.args[0] as Argument.Tuple).items, null)]
      return ep
    },
    mentions: "output specs"
  }
]

describe("replaceNoOpPlaceholders: input state (ExportedProgram)", () => {
  it.effect("the sample program (cross-compiled weighted hybrid) is accepted", () =>
    Effect.gen(function*() {
      const ep = yield* cross(weightedHybrid().gm)
      assert.deepStrictEqual(ep.graphSignature.inputSpecs.map(specText), [
        "Parameter:conv_weight_1=conv.weight",
        "Parameter:conv_bias_1=conv.bias",
        "Buffer:conv_scale_1=conv.scale non-persistent",
        "UserInput:x"
      ])
      yield* run(ep)
    }))
  for (const rejection of programRejections) {
    it.effect(`rejects ${rejection.label}`, () =>
      Effect.gen(function*() {
        const input = rejection.make(yield* cross(weightedHybrid().gm))
        const e = yield* passError(inputOf(replaceNoOpPlaceholders, input))
        assertPassError(e, { pass: NAME, phase: "requires" })
        assert.include(e.detail, rejection.mentions)
      }))
  }
})

describe("replaceNoOpPlaceholders: output state (ExportedProgram)", () => {
  it.effect("a load that forgets to lift an engine fails its ensures check", () =>
    Effect.gen(function*() {
      const broken = breaking(replaceNoOpPlaceholders, (ep) => ({
        ...ep,
        graphSignature: {
          ...ep.graphSignature,
          inputSpecs: ep.graphSignature.inputSpecs.filter((s) => s._tag !== "CustomObj")
        }
      }))
      const e = yield* passError(Pass.apply(broken, yield* asProgram(yield* cross(hybrid().gm))))
      assertPassError(e, { pass: "replaceNoOpPlaceholdersBroken", phase: "ensures" })
      assert.include(e.detail, "input specs")
    }))
})
