/**
 * `lift` (upstream `lift`, exporter-semantics §2.7): one test per numbered rule of the pass's header, one per
 * rejection of its input state (`InlinedModule`), one for the state it ensures (`LiftedModule`), and the
 * bugs found.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Argument from "../../src/graph/Argument.ts"
import * as DeadCode from "../../src/graph/DeadCode.ts"
import * as Lint from "../../src/graph/Lint.ts"
import * as Module from "../../src/graph/Module.ts"
import * as Tensor from "../../src/graph/Tensor.ts"
import { lift } from "../../src/passes/Lift.ts"
import * as Pass from "../../src/passes/Pass.ts"
import {
  asInlined,
  assertPassError,
  breaking,
  fn,
  getAttr,
  graphModule,
  inlinedRejections,
  lines,
  meta,
  nodeNamed,
  ops,
  out,
  passError,
  ph,
  placeholderNames,
  specText,
  tensorOf,
  tval,
  unorderedModule,
  inputOf
} from "../utils/PassFixtures.ts"

const NAME = "lift"
const ENGINE_FQN = "__torch__.torch.classes.tensorrt.Engine"
const engine = (): Tensor.ScriptObject => ({ _tag: "ScriptObject", classFqn: ENGINE_FQN, state: ["7", "e"] })
const run = (gm: Module.GraphModule) => Effect.flatMap(asInlined(gm), (m) => Pass.apply(lift, m))

describe("lift: rules", () => {
  it.effect("1. targets are classified from the module tree, dotted paths included: PARAMETER, BUFFER with its persistent flag, CONSTANT_TENSOR, CUSTOM_OBJ; a tied parameter is a PARAMETER under each name", () =>
    Effect.gen(function*() {
      const shared = tensorOf([2], 1)
      const mean = tensorOf([2], 2)
      const np = tensorOf([2], 3)
      const constant = tensorOf([2], 4)
      const obj = engine()
      const { gm } = graphModule([
        ph("x", meta(tval([2]))),
        getAttr("lin_weight", "lin.weight"),
        getAttr("head_weight", "head.weight"),
        getAttr("bn_running_mean", "bn.running_mean"),
        getAttr("bn_np", "bn.np"),
        getAttr("_tensor_constant0", "_tensor_constant0"),
        getAttr("blk_eng", "blk.eng"),
        fn("add", ops.ADD, ["%x", "%lin_weight"]),
        fn("add_1", ops.ADD, ["%add", "%head_weight"]),
        fn("add_2", ops.ADD, ["%add_1", "%bn_running_mean"]),
        fn("add_3", ops.ADD, ["%add_2", "%bn_np"]),
        fn("add_4", ops.ADD, ["%add_3", "%_tensor_constant0"]),
        fn("run", "torch.ops.tensorrt.execute_engine.default", [Argument.tuple("%add_4"), "%blk_eng"]),
        out("%run")
      ], (gm) => {
        const lin = new Module.PlainModule()
        const head = new Module.PlainModule()
        Module.registerParameter(lin, "weight", shared)
        Module.registerParameter(head, "weight", shared)
        const bn = new Module.PlainModule()
        Module.registerBuffer(bn, "running_mean", mean)
        Module.registerBuffer(bn, "np", np, false)
        const blk = new Module.PlainModule()
        Module.setConstant(blk, "eng", obj)
        gm.children.set("lin", lin)
        gm.children.set("head", head)
        gm.children.set("bn", bn)
        gm.children.set("blk", blk)
        Module.setConstant(gm, "_tensor_constant0", constant)
      })
      const lifted = yield* run(gm)
      assert.deepStrictEqual(lifted.inputSpecs.map(specText), [
        "Parameter:lin_weight_1=lin.weight",
        "Parameter:head_weight_1=head.weight",
        "Buffer:bn_running_mean_1=bn.running_mean persistent",
        "Buffer:bn_np_1=bn.np non-persistent",
        "ConstantTensor:_tensor_constant0_1=_tensor_constant0",
        "CustomObj:blk_eng_1=blk.eng"
      ])
      assert.deepStrictEqual(lifted.inputSpecs[5], {
        _tag: "CustomObj",
        arg: { _tag: "CustomObjArgument", name: "blk_eng_1", classFqn: ENGINE_FQN },
        target: "blk.eng"
      })
      assert.deepStrictEqual([...lifted.stateDict], [["lin.weight", shared], ["head.weight", shared], ["bn.running_mean", mean]])
      assert.deepStrictEqual([...lifted.constants], [["bn.np", np], ["_tensor_constant0", constant], ["blk.eng", obj]])
      assert.strictEqual(lifted.constants.get("blk.eng"), obj)
    }))

  it.effect("2. one placeholder per target, however many get_attrs read it", () =>
    Effect.gen(function*() {
      const w = tensorOf([2], 1)
      const { gm } = graphModule([
        ph("x", meta(tval([2]))),
        getAttr("w", "w"),
        fn("add", ops.ADD, ["%x", "%w"]),
        getAttr("w_1", "w"),
        fn("mul", ops.MUL, ["%add", "%w_1"]),
        out("%mul")
      ], (gm) => Module.registerParameter(gm, "w", w))
      const lifted = yield* run(gm)
      assert.deepStrictEqual(lifted.inputSpecs.map(specText), ["Parameter:w_2=w"])
      assert.deepStrictEqual(lines(gm), [
        "w_2 = placeholder[w]()",
        "x = placeholder[x]()",
        `add = call_function[${ops.ADD}](%x, %w_2)`,
        `mul = call_function[${ops.MUL}](%add, %w_2)`,
        "output = output[output](%mul)"
      ])
    }))

  it.effect("3. placeholders go before the first user input in canonical order (parameters, buffers, constants, custom objects), each kind in order of first use; with no user input they start the graph", () =>
    Effect.gen(function*() {
      const { gm } = graphModule([
        ph("x", meta(tval([2]))),
        ph("y", meta(tval([2]))),
        getAttr("eng", "eng"),
        getAttr("buf", "buf"),
        getAttr("p2", "p2"),
        getAttr("c", "c"),
        getAttr("p1", "p1"),
        fn("add", ops.ADD, ["%x", "%p2"]),
        fn("add_1", ops.ADD, ["%add", "%p1"]),
        fn("add_2", ops.ADD, ["%add_1", "%buf"]),
        fn("add_3", ops.ADD, ["%add_2", "%c"]),
        fn("run", "torch.ops.tensorrt.execute_engine.default", [Argument.tuple("%add_3", "%y"), "%eng"]),
        out("%run")
      ], (gm) => {
        Module.setConstant(gm, "eng", engine())
        Module.registerBuffer(gm, "buf", tensorOf([2], 1))
        Module.registerParameter(gm, "p1", tensorOf([2], 2))
        Module.registerParameter(gm, "p2", tensorOf([2], 3))
        Module.setConstant(gm, "c", tensorOf([2], 4))
      })
      const lifted = yield* run(gm)
      // p2 is read (by get_attr) before p1, so it comes first among the parameters.
      assert.deepStrictEqual(placeholderNames(gm), ["p2_1", "p1_1", "buf_1", "c_1", "eng_1", "x", "y"])
      assert.deepStrictEqual(lifted.inputSpecs.map((s) => s.arg.name), ["p2_1", "p1_1", "buf_1", "c_1", "eng_1"])

      // No user input: the lifted placeholder starts the graph.
      const none = graphModule([getAttr("w", "w"), fn("relu", ops.RELU, ["%w"]), out("%relu")], (gm) =>
        Module.registerParameter(gm, "w", tensorOf([2], 1)))
      yield* run(none.gm)
      assert.deepStrictEqual(lines(none.gm), [
        "w_1 = placeholder[w]()",
        `relu = call_function[${ops.RELU}](%w_1)`,
        "output = output[output](%relu)"
      ])
    }))

  it.effect("4. a placeholder is named as upstream names it: the target with . replaced by _, made unique while the get_attr exists; its target is that string", () =>
    Effect.gen(function*() {
      const { gm } = graphModule([
        ph("x", meta(tval([2]))),
        getAttr("bn_weight", "bn.weight"),
        getAttr("other_name", "scale"),
        fn("add", ops.ADD, ["%x", "%bn_weight"]),
        fn("mul", ops.MUL, ["%add", "%other_name"]),
        out("%mul")
      ], (gm) => {
        const bn = new Module.PlainModule()
        Module.registerParameter(bn, "weight", tensorOf([2], 1))
        gm.children.set("bn", bn)
        Module.registerParameter(gm, "scale", tensorOf([2], 2))
      })
      yield* run(gm)
      const bnWeight = nodeNamed(gm, "bn_weight_1")
      assert.strictEqual(bnWeight.op, "placeholder")
      assert.strictEqual(bnWeight.target, "bn_weight")
      // `scale` was read by a get_attr of another name: the candidate is free.
      const scale = nodeNamed(gm, "scale")
      assert.strictEqual(scale.op, "placeholder")
      assert.strictEqual(scale.target, "scale")
    }))

  it.effect("5. the placeholder's meta is a copy of the get_attr's, with val the true metadata: a tensor's own dtype, shape, stride, offset, device, requires_grad; a custom object under the placeholder's own name with its real class", () =>
    Effect.gen(function*() {
      const half = Tensor.make({
        storage: Tensor.storage(new Uint8Array(64)),
        dtype: "float16",
        shape: [2, 3],
        stride: [1, 2],
        storageOffset: 4,
        device: "cuda:0",
        requiresGrad: true
      })
      const stack = "File \"zoo.py\", line 3, in forward"
      const { gm, n } = graphModule([
        ph("x", meta(tval([2, 3]))),
        ["w", "get_attr", "w", [], {}, { val: tval([9]), stack_trace: stack, nn_module_stack: { lin: ["lin", "Linear"] } }],
        ["eng", "get_attr", "eng", [], {}, { val: { custom_obj: { name: "eng", class_fqn: "" } }, stack_trace: stack }],
        fn("add", ops.ADD, ["%x", "%w"]),
        fn("run", "torch.ops.tensorrt.execute_engine.default", [Argument.tuple("%add"), "%eng"]),
        out("%run")
      ], (gm) => {
        Module.registerParameter(gm, "w", half)
        Module.setConstant(gm, "eng", engine())
      })
      const getAttrMeta = n("w").meta
      yield* run(gm)
      const w = nodeNamed(gm, "w_1")
      assert.deepStrictEqual(w.meta, {
        val: {
          tensor: { shape: [2, 3], stride: [1, 2], storage_offset: 4, dtype: "float16", device: "cuda:0", requires_grad: true }
        },
        stack_trace: stack,
        nn_module_stack: { lin: ["lin", "Linear"] }
      })
      assert.notStrictEqual(w.meta, getAttrMeta)
      assert.deepStrictEqual(nodeNamed(gm, "eng_1").meta, {
        val: { custom_obj: { name: "eng_1", class_fqn: ENGINE_FQN } },
        stack_trace: stack
      })
    }))

  it.effect("6. get_attrs of graph modules (higher-order-op subgraphs) are not state and stay", () =>
    Effect.gen(function*() {
      const branch = graphModule([ph("a"), fn("relu", ops.RELU, ["%a"]), out(Argument.tuple("%relu"))]).gm
      const { gm } = graphModule([
        ph("x", meta(tval([2]))),
        getAttr("true_graph_0", "true_graph_0"),
        fn("cond", "torch.ops.higher_order.cond", [true, "%true_graph_0", "%true_graph_0", Argument.tuple("%x")]),
        out("%cond")
      ], (gm) => gm.children.set("true_graph_0", branch))
      const lifted = yield* run(gm)
      assert.deepStrictEqual(lifted.inputSpecs, [])
      assert.deepStrictEqual(lines(gm), [
        "x = placeholder[x]()",
        "true_graph_0 = get_attr[true_graph_0]()",
        "cond = call_function[torch.ops.higher_order.cond](true, %true_graph_0, %true_graph_0, (%x,))",
        "output = output[output](%cond)"
      ])
      assert.strictEqual(gm.children.get("true_graph_0"), branch)
    }))

  it.effect("7. dead code is eliminated and the graph linted afterwards", () =>
    Effect.gen(function*() {
      const { gm } = graphModule([
        ph("x", meta(tval([2]))),
        getAttr("w", "w"),
        fn("dead", ops.MUL, ["%x", "%w"]),
        fn("relu", ops.RELU, ["%x"]),
        out("%relu")
      ], (gm) => Module.registerParameter(gm, "w", tensorOf([2], 1)))
      const lifted = yield* run(gm)
      // The only reader of w was dead: its placeholder stays (an input of the program), the reader goes.
      assert.deepStrictEqual(lines(gm), [
        "w_1 = placeholder[w]()",
        "x = placeholder[x]()",
        `relu = call_function[${ops.RELU}](%x)`,
        "output = output[output](%relu)"
      ])
      assert.deepStrictEqual(lifted.inputSpecs.map(specText), ["Parameter:w_1=w"])
      // The closing lint: a graph out of order fails the pass's own run.
      const e = yield* passError(run(unorderedModule()))
      assertPassError(e, { pass: NAME, phase: "run", node: "neg" })
    }))
})

describe("lift: rule 7, the walks it skips", () => {
  const weighted = () =>
    graphModule([
      ph("x", meta(tval([2]))),
      getAttr("w", "w"),
      fn("mul", ops.MUL, ["%x", "%w"]),
      out("%mul")
    ], (gm) => Module.registerParameter(gm, "w", tensorOf([2], 1)))

  it.effect("a graph as cleanup left it (Graph.isClean, placeholders first) is lifted without the closing walks, to a clean result", () =>
    Effect.gen(function*() {
      const { gm } = weighted()
      DeadCode.eliminateDeadCode(gm.graph)
      Lint.lint(gm.graph)
      assert.isTrue(gm.graph.isClean && gm.graph.placeholdersLead)
      yield* run(gm)
      Lint.lint(gm.graph) // what the skipped lint would have said
      assert.isFalse(DeadCode.eliminateDeadCode(gm.graph))
    }))

  it.effect("a change after the last elimination (a pass in between made dead code) makes lift eliminate it", () =>
    Effect.gen(function*() {
      const { gm } = weighted()
      DeadCode.eliminateDeadCode(gm.graph)
      Lint.lint(gm.graph)
      const x = nodeNamed(gm, "x")
      gm.graph.insertingAfter(x, () => gm.graph.callFunction(ops.RELU, [x]))
      yield* run(gm)
      assert.notInclude(lines(gm).join("\n"), ops.RELU)
    }))

  it.effect("placeholders that do not lead the graph are linted: a get_attr read before a user input fails as upstream's lint does", () =>
    Effect.gen(function*() {
      const { gm } = graphModule([
        getAttr("w", "w"),
        fn("relu", ops.RELU, ["%w"]),
        ph("x", meta(tval([2]))),
        out(["%relu", "%x"])
      ], (gm) => Module.registerParameter(gm, "w", tensorOf([2], 1)))
      DeadCode.eliminateDeadCode(gm.graph)
      Lint.lint(gm.graph)
      const e = yield* passError(run(gm))
      assertPassError(e, { pass: NAME, phase: "run", node: "relu" })
      assert.include(e.detail, "used before it has been defined")
    }))
})

describe("lift: bugs", () => {
  // Regression (was a bug): with no placeholder, the anchor of the new placeholders is the graph's first node; when that is a
  // get_attr being lifted, it is erased after the first placeholder is placed, and placing the next one
  // fails with "Node w was erased". Rule 3 (and docs/divergences.md, "A graph without user inputs is fine")
  // says the lifted placeholders start the graph.
  it.effect("rule 3: with no user input, two lifted targets start the graph", () =>
    Effect.gen(function*() {
      const { gm } = graphModule([getAttr("w", "w"), getAttr("b", "b"), fn("add", ops.ADD, ["%w", "%b"]), out("%add")], (gm) => {
        Module.registerParameter(gm, "w", tensorOf([2], 1))
        Module.registerBuffer(gm, "b", tensorOf([2], 2))
      })
      const lifted = yield* run(gm)
      assert.deepStrictEqual(lifted.inputSpecs.map(specText), ["Parameter:w_1=w", "Buffer:b_1=b persistent"])
      assert.deepStrictEqual(lines(gm), [
        "w_1 = placeholder[w]()",
        "b_1 = placeholder[b]()",
        `add = call_function[${ops.ADD}](%w_1, %b_1)`,
        "output = output[output](%add)"
      ])
    }))

  // Regression (was a bug, as upstream): the placeholder target is the FQN with "." replaced by "_", which is not
  // unique: `a.b` (a parameter of child a) and `a_b` (a root constant) both give target "a_b", and fx's
  // codegen uses placeholder targets as parameter names (a duplicate argument, as in upstream #4642).
  it.effect("rule 4: two lifted targets that differ only by . and _ give placeholders with distinct targets", () =>
    Effect.gen(function*() {
      const { gm } = graphModule([
        ph("x", meta(tval([2]))),
        getAttr("a_b", "a.b"),
        getAttr("a_b_c", "a_b"),
        fn("add", ops.ADD, ["%x", "%a_b"]),
        fn("add_1", ops.ADD, ["%add", "%a_b_c"]),
        out("%add_1")
      ], (gm) => {
        const a = new Module.PlainModule()
        Module.registerParameter(a, "b", tensorOf([2], 1))
        gm.children.set("a", a)
        Module.setConstant(gm, "a_b", tensorOf([2], 2))
      })
      yield* run(gm)
      const targets = gm.graph.findNodes("placeholder").map((p) => p.target)
      assert.strictEqual(new Set(targets).size, targets.length, `placeholder targets ${JSON.stringify(targets)}`)
    }))
})

describe("lift: input state (InlinedModule)", () => {
  for (const rejection of inlinedRejections) {
    it.effect(`rejects ${rejection.label}`, () =>
      Effect.gen(function*() {
        const e = yield* passError(inputOf(lift, rejection.make() as never))
        assertPassError(e, { pass: NAME, phase: "requires" })
        assert.include(e.detail, rejection.mentions)
      }))
  }
})

describe("lift: output state (LiftedModule)", () => {
  it.effect("a lift that forgets a lifted input's spec fails its ensures check", () =>
    Effect.gen(function*() {
      const broken = breaking(lift, (lifted) => ({ ...lifted, inputSpecs: lifted.inputSpecs.slice(1) }))
      const { gm } = graphModule([ph("x", meta(tval([2]))), getAttr("w", "w"), getAttr("b", "b"), fn("add", ops.ADD, ["%w", "%b"]), fn("mul", ops.MUL, ["%add", "%x"]), out("%mul")], (gm) => {
        Module.registerParameter(gm, "w", tensorOf([2], 1))
        Module.registerBuffer(gm, "b", tensorOf([2], 2))
      })
      const e = yield* passError(Pass.apply(broken, yield* asInlined(gm)))
      assertPassError(e, { pass: "liftBroken", phase: "ensures" })
      assert.include(e.detail, "b_1")
    }))

  it.effect("a lift that leaves a get_attr of state fails its ensures check", () =>
    Effect.gen(function*() {
      const broken = breaking(lift, (lifted) => {
        const g = lifted.module.graph
        g.insertingBefore(g.outputNode, () => g.getAttr("w"))
        return lifted
      })
      const { gm } = graphModule([ph("x", meta(tval([2]))), getAttr("w", "w"), fn("add", ops.ADD, ["%x", "%w"]), out("%add")], (gm) =>
        Module.registerParameter(gm, "w", tensorOf([2], 1)))
      const e = yield* passError(Pass.apply(broken, yield* asInlined(gm)))
      assertPassError(e, { pass: "liftBroken", phase: "ensures" })
      assert.include(e.detail, "not lifted")
    }))
})
