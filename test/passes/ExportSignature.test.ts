/**
 * `createExportedProgram` and `buildSignature` (upstream `create_trt_exp_program`, exporter-semantics §2.8):
 * one test per numbered rule of the pass's header, one per rejection of its input state (`LiftedModule`),
 * one for the state it ensures (`ExportedProgram`), and the bugs found.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Argument from "../../src/graph/Argument.ts"
import * as Module from "../../src/graph/Module.ts"
import { createExportedProgram, positionalInSpec, tupleOutSpec } from "../../src/passes/ExportSignature.ts"
import type * as GraphState from "../../src/passes/GraphState.ts"
import { lift } from "../../src/passes/Lift.ts"
import * as Pass from "../../src/passes/Pass.ts"
import {
  asInlined,
  asLifted,
  assertPassError,
  breaking,
  fn,
  getAttr,
  graphModule,
  KWARGS_AB,
  meta,
  ops,
  out,
  passError,
  ph,
  POSITIONAL_1,
  tensorOf,
  TUPLE_1,
  tval,
  inputOf
} from "../utils/PassFixtures.ts"

const NAME = "createExportedProgram"
const ENGINE_FQN = "__torch__.torch.classes.tensorrt.Engine"
const LEAF = `{"type": null, "context": null, "children_spec": []}`

/** lift, then createExportedProgram. */
const toProgram = (gm: Module.GraphModule) =>
  Effect.flatMap(asInlined(gm), (m) => Pass.apply(lift, m)).pipe(Effect.flatMap((lifted) => Pass.apply(createExportedProgram, lifted)))

/** A lifted state with no lifted inputs (the module has no get_attr of state). */
const unlifted = (gm: Module.GraphModule) => asLifted({ module: gm, inputSpecs: [], stateDict: new Map(), constants: new Map() })

describe("createExportedProgram: rules", () => {
  it.effect("1. input specs: the lifted inputs, then one user input per remaining placeholder, typed by its meta.val (tensor, symbolic int, custom object, constant)", () =>
    Effect.gen(function*() {
      const { gm } = graphModule([
        ph("x", meta(tval(["s0", 3]))),
        ph("n", meta({ sym_int: "s0" })),
        ph("obj", meta({ custom_obj: { name: "obj", class_fqn: ENGINE_FQN } })),
        ph("k", meta({ int: 3 })),
        ph("flag", meta({ bool: true })),
        getAttr("w", "w"),
        fn("add", ops.ADD, ["%x", "%w"]),
        fn("run", "torch.ops.tensorrt.execute_engine.default", [Argument.tuple("%add", "%n", "%k", "%flag"), "%obj"]),
        out(Argument.tuple("%run"))
      ], (gm) => {
        Module.registerParameter(gm, "w", tensorOf([3], 1))
        gm.symbols = new Map([["s0", { hint: 4, min: 2, max: 16 }]])
      })
      const ep = yield* toProgram(gm)
      assert.deepStrictEqual(ep.graphSignature.inputSpecs, [
        { _tag: "Parameter", arg: { _tag: "TensorArgument", name: "w_1" }, target: "w" },
        { _tag: "UserInput", arg: { _tag: "TensorArgument", name: "x" } },
        { _tag: "UserInput", arg: { _tag: "SymIntArgument", name: "n" } },
        { _tag: "UserInput", arg: { _tag: "CustomObjArgument", name: "obj", classFqn: ENGINE_FQN } },
        { _tag: "UserInput", arg: { _tag: "ConstantArgument", name: "k", value: 3 } },
        { _tag: "UserInput", arg: { _tag: "ConstantArgument", name: "flag", value: true } }
      ])
    }))

  it.effect("2. output specs: one user output per element (tuple, list or single value), typed the same way; None and literals are constants; no target; a lifted constant output names its placeholder (#3189)", () =>
    Effect.gen(function*() {
      const { gm } = graphModule([
        ph("x", meta(tval([2]))),
        fn("relu", ops.RELU, ["%x"], {}, meta(tval([2]))),
        fn("size", "torch.ops.aten.sym_size.int", ["%x", 0], {}, meta({ sym_int: "s0" })),
        getAttr("arange", "_tensor_constant0"),
        out(Argument.tuple("%relu", null, 3, Argument.float(1.5), true, "s", "%size", "%arange"))
      ], (gm) => {
        Module.setConstant(gm, "_tensor_constant0", tensorOf([2], 1))
        gm.symbols = new Map([["s0", { hint: 2, min: 1, max: null }]])
      })
      const ep = yield* toProgram(gm)
      assert.deepStrictEqual(ep.graphSignature.outputSpecs, [
        { _tag: "UserOutput", arg: { _tag: "TensorArgument", name: "relu" } },
        { _tag: "UserOutput", arg: { _tag: "ConstantArgument", name: "", value: null } },
        { _tag: "UserOutput", arg: { _tag: "ConstantArgument", name: "", value: 3 } },
        { _tag: "UserOutput", arg: { _tag: "ConstantArgument", name: "", value: 1.5 } },
        { _tag: "UserOutput", arg: { _tag: "ConstantArgument", name: "", value: true } },
        { _tag: "UserOutput", arg: { _tag: "ConstantArgument", name: "", value: "s" } },
        { _tag: "UserOutput", arg: { _tag: "SymIntArgument", name: "size" } },
        // The constant was lifted: the output names its placeholder (`_tensor_constant0`), not the erased
        // get_attr `arange` (upstream keyed the rename by the target-derived string and so missed a get_attr
        // whose name differs from its target).
        { _tag: "UserOutput", arg: { _tag: "TensorArgument", name: "_tensor_constant0" } }
      ])
      assert.isTrue(ep.graphSignature.outputSpecs.every((s) => !("target" in s)))

      // A list and a single value.
      const list = graphModule([ph("x", meta(tval([2]))), fn("relu", ops.RELU, ["%x"]), out(["%relu", "%x"])])
      const single = graphModule([ph("x", meta(tval([2]))), fn("relu", ops.RELU, ["%x"]), out("%relu")])
      assert.deepStrictEqual((yield* toProgram(list.gm)).graphSignature.outputSpecs.map((s) => s.arg), [
        { _tag: "TensorArgument", name: "relu" },
        { _tag: "TensorArgument", name: "x" }
      ])
      assert.deepStrictEqual((yield* toProgram(single.gm)).graphSignature.outputSpecs.map((s) => s.arg), [
        { _tag: "TensorArgument", name: "relu" }
      ])

      // A nested container cannot be one output.
      const nested = graphModule([ph("x", meta(tval([2]))), out(Argument.tuple("%x", Argument.tuple("%x")))])
      const e = yield* passError(Pass.apply(createExportedProgram, yield* unlifted(nested.gm)))
      assertPassError(e, { pass: NAME, phase: "run" })
    }))

  it.effect("3. the module call graph has one root entry with the compiled module's in_spec and out_spec; without them, all inputs positional and the outputs a tuple", () =>
    Effect.gen(function*() {
      const specs = graphModule([ph("a", meta(tval([2]))), ph("b", meta(tval([2]))), fn("sub", ops.SUB, ["%a", "%b"]), out("%sub")], (gm) => {
        gm.inSpec = KWARGS_AB
        gm.outSpec = `[1, ${LEAF}]`
      })
      const ep = yield* toProgram(specs.gm)
      assert.deepStrictEqual(ep.moduleCallGraph, [{
        fqn: "",
        signature: { inputs: [], outputs: [], inSpec: KWARGS_AB, outSpec: `[1, ${LEAF}]`, forwardArgNames: null }
      }])

      // No specs: rebuilt from the two user inputs (the lifted one does not count) and the two outputs.
      const bare = graphModule([
        ph("a", meta(tval([2]))),
        ph("b", meta(tval([2]))),
        getAttr("w", "w"),
        fn("sub", ops.SUB, ["%a", "%w"]),
        out(Argument.tuple("%sub", "%b"))
      ], (gm) => Module.registerParameter(gm, "w", tensorOf([2], 1)))
      const rebuilt = yield* toProgram(bare.gm)
      const sig = rebuilt.moduleCallGraph[0]!.signature!
      assert.strictEqual(sig.inSpec, positionalInSpec(2))
      assert.strictEqual(
        sig.inSpec,
        `[1, {"type": "builtins.tuple", "context": "null", "children_spec": [{"type": "builtins.tuple", "context": "null", "children_spec": [${LEAF}, ${LEAF}]}, {"type": "builtins.dict", "context": "[]", "children_spec": []}]}]`
      )
      assert.strictEqual(sig.outSpec, tupleOutSpec(2))
      assert.strictEqual(sig.outSpec, `[1, {"type": "builtins.tuple", "context": "null", "children_spec": [${LEAF}, ${LEAF}]}]`)
      assert.strictEqual(positionalInSpec(1), POSITIONAL_1)
      assert.strictEqual(tupleOutSpec(1), TUPLE_1)
    }))

  it.effect("4. range constraints: every symbol the metas use, with its range from the module's symbols; a symbol used but not listed fails, naming the node", () =>
    Effect.gen(function*() {
      const { gm } = graphModule([
        ph("x", meta(tval(["s0", 3], { stride: [3, 1] }))),
        fn("nonzero", "torch.ops.aten.nonzero.default", ["%x"], {}, meta(tval(["u3", 2], { stride: [2, 1] }))),
        fn("view", "torch.ops.aten.view.default", ["%x", [-1]], {}, meta(tval(["3*s0"]))),
        out(Argument.tuple("%nonzero", "%view"))
      ], (gm) => {
        gm.symbols = new Map([
          ["s0", { hint: 4, min: 2, max: 16 }],
          ["u3", { hint: 0, min: 0, max: null }],
          ["s9", { hint: 1, min: 1, max: 1 }]
        ])
      })
      const ep = yield* toProgram(gm)
      assert.deepStrictEqual([...ep.rangeConstraints], [["s0", { min: 2, max: 16 }], ["u3", { min: 0, max: null }]])

      const unknown = graphModule([
        ph("x", meta(tval([2]))),
        fn("nonzero", "torch.ops.aten.nonzero.default", ["%x"], {}, meta(tval(["u7"]))),
        out("%nonzero")
      ], (gm) => {
        gm.symbols = new Map([["s0", { hint: 4, min: 2, max: 16 }]])
      })
      const e = yield* passError(toProgram(unknown.gm))
      assertPassError(e, { pass: NAME, phase: "run", node: "nonzero" })
      assert.include(e.detail, "u7")
    }))
})

describe("createExportedProgram: bugs", () => {
  // Regression (was a bug): rule 1 types a user input by its meta.val as "a constant" for ints and bools only; a float (or a
  // None) placeholder falls through to TensorArgument. torch.export specializes a float input to a
  // ConstantArgument (exporter-semantics §7, bug 6: "SymInt placeholders ... get TensorArgument; use
  // ConstantArgument / SymIntArgument").
  it.effect("rule 1: a float user input is a ConstantArgument with its value", () =>
    Effect.gen(function*() {
      const { gm } = graphModule([ph("x", meta(tval([2]))), ph("alpha", meta({ float: 0.5 })), fn("mul", ops.MUL, ["%x", "%alpha"]), out("%mul")])
      const ep = yield* toProgram(gm)
      assert.deepStrictEqual(ep.graphSignature.inputSpecs[1], {
        _tag: "UserInput",
        arg: { _tag: "ConstantArgument", name: "alpha", value: 0.5 }
      })
    }))

  it.effect("rule 1: a None user input is a ConstantArgument with value null", () =>
    Effect.gen(function*() {
      const { gm } = graphModule([ph("x", meta(tval([2]))), ph("bias", meta(null)), fn("relu", ops.RELU, ["%x"]), out("%relu")])
      const ep = yield* toProgram(gm)
      assert.deepStrictEqual(ep.graphSignature.inputSpecs[1], {
        _tag: "UserInput",
        arg: { _tag: "ConstantArgument", name: "bias", value: null }
      })
    }))
})

// ===== Input state =====

/** A valid lifted state: `w` (parameter), `b` (persistent buffer), `nb` (non-persistent buffer), `c`
 * (constant tensor), `e` (engine), then the user input `x`. */
const liftedSample = () =>
  Effect.gen(function*() {
    const { gm } = graphModule([
      ph("x", meta(tval([2]))),
      getAttr("w", "w"),
      getAttr("b", "b"),
      getAttr("nb", "nb"),
      getAttr("c", "c"),
      getAttr("e", "e"),
      fn("add", ops.ADD, ["%x", "%w"]),
      fn("add_1", ops.ADD, ["%add", "%b"]),
      fn("add_2", ops.ADD, ["%add_1", "%nb"]),
      fn("add_3", ops.ADD, ["%add_2", "%c"]),
      fn("run", "torch.ops.tensorrt.execute_engine.default", [Argument.tuple("%add_3"), "%e"]),
      out(Argument.tuple("%run"))
    ], (gm) => {
      Module.registerParameter(gm, "w", tensorOf([2], 1))
      Module.registerBuffer(gm, "b", tensorOf([2], 2))
      Module.registerBuffer(gm, "nb", tensorOf([2], 3), false)
      Module.setConstant(gm, "c", tensorOf([2], 4))
      Module.setConstant(gm, "e", { _tag: "ScriptObject", classFqn: ENGINE_FQN, state: [] })
    })
    return yield* Pass.apply(lift, yield* asInlined(gm))
  })

const withMaps = (
  l: GraphState.LiftedModule,
  f: (sd: Map<string, unknown>, c: Map<string, unknown>) => void
): GraphState.Lifted => {
  const stateDict = new Map(l.stateDict)
  const constants = new Map(l.constants)
  f(stateDict as Map<string, unknown>, constants as Map<string, unknown>)
  return { ...l, stateDict, constants }
}

const liftedRejections: ReadonlyArray<{
  readonly label: string
  readonly make: (l: GraphState.LiftedModule) => GraphState.Lifted
  readonly mentions: string
}> = [
  { label: "not a lifted module (a bare GraphModule)", make: (l) => l.module as never, mentions: "lifted module" },
  {
    label: "a call_module in the graph (not inlined)",
    make: (l) => {
      const g = l.module.graph
      l.module.children.set("fb", graphModule([ph("p"), out("%p")]).gm)
      g.insertingBefore(g.outputNode, () => g.callModule("fb", [null]))
      return l
    },
    mentions: "fb"
  },
  {
    label: "a get_attr of state left in the graph",
    make: (l) => {
      const g = l.module.graph
      g.insertingBefore(g.outputNode, () => g.getAttr("w"))
      return l
    },
    mentions: "not lifted"
  },
  {
    label: "more lifted inputs than placeholders",
    make: (l) => ({
      ...l,
      inputSpecs: [...l.inputSpecs, ...l.inputSpecs, ...l.inputSpecs]
    }),
    mentions: "placeholders"
  },
  {
    label: "a lifted input that names another placeholder",
    make: (l) => ({ ...l, inputSpecs: [l.inputSpecs[1]!, l.inputSpecs[0]!, ...l.inputSpecs.slice(2)] }),
    mentions: "b_1"
  },
  {
    label: "lifted inputs out of canonical order",
    make: (l) => {
      // Swap the parameter and buffer placeholders and their specs: names match, order is not canonical.
      const [w, b] = l.module.graph.findNodes("placeholder")
      w!.prepend(b!)
      return { ...l, inputSpecs: [l.inputSpecs[1]!, l.inputSpecs[0]!, ...l.inputSpecs.slice(2)] }
    },
    mentions: "canonical"
  },
  { label: "a parameter missing from the state dict", make: (l) => withMaps(l, (sd) => sd.delete("w")), mentions: "w" },
  { label: "a persistent buffer missing from the state dict", make: (l) => withMaps(l, (sd) => sd.delete("b")), mentions: "b" },
  { label: "a non-persistent buffer missing from the constants", make: (l) => withMaps(l, (_, c) => c.delete("nb")), mentions: "nb" },
  { label: "a constant tensor missing from the constants", make: (l) => withMaps(l, (_, c) => c.delete("c")), mentions: "c" },
  { label: "a custom object missing from the constants", make: (l) => withMaps(l, (_, c) => c.delete("e")), mentions: "e" }
]

describe("createExportedProgram: input state (LiftedModule)", () => {
  it.effect("the sample lifted state is accepted", () =>
    Effect.gen(function*() {
      const ep = yield* Pass.apply(createExportedProgram, yield* liftedSample())
      assert.deepStrictEqual(ep.graphSignature.inputSpecs.map((s) => s.arg.name), ["w_1", "b_1", "nb_1", "c_1", "e_1", "x"])
    }))
  for (const rejection of liftedRejections) {
    it.effect(`rejects ${rejection.label}`, () =>
      Effect.gen(function*() {
        const input = rejection.make(yield* liftedSample())
        const e = yield* passError(inputOf(createExportedProgram, input))
        assertPassError(e, { pass: NAME, phase: "requires" })
        assert.include(e.detail, rejection.mentions)
      }))
  }
})

describe("createExportedProgram: output state (ExportedProgram)", () => {
  it.effect("a program whose signature misses an output spec fails the ensures check", () =>
    Effect.gen(function*() {
      const broken = breaking(createExportedProgram, (ep) => ({
        ...ep,
        graphSignature: { ...ep.graphSignature, outputSpecs: [] }
      }))
      const e = yield* passError(Pass.apply(broken, yield* liftedSample()))
      assertPassError(e, { pass: "createExportedProgramBroken", phase: "ensures" })
      assert.include(e.detail, "output specs")
    }))
})
