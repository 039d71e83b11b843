/**
 * Dead-code elimination against torch.fx 2.11's `Graph.eliminate_dead_code` and its impurity rules
 * (spec §4.5, A.8's DCE case).
 */
import { assert, describe, it } from "@effect/vitest"
import * as DeadCode from "../../src/graph/DeadCode.ts"
import type { Graph } from "../../src/graph/Graph.ts"
import * as GraphModule from "../../src/graph/GraphModule.ts"
import { PlainModule, TrtModule, addSubmodule, registerParameter } from "../../src/graph/Module.ts"
import { assertGraphError, build, fn, type NodeSpec, names, out, ph, tensor } from "../utils/GraphBuilder.ts"

const NEG = "torch.ops.aten.neg.default"
const MUL = "torch.ops.aten.mul.Tensor"
const GETITEM = "_operator.getitem"
const EXECUTE_ENGINE = "torch.ops.tensorrt.execute_engine.default"
const INVOKE_SUBGRAPH = "torch.ops.higher_order.invoke_subgraph"

/** A.8's DCE graph. */
const a8Specs: ReadonlyArray<NodeSpec> = [
  ph("x"),
  ph("unused_ph"),
  ["w", "get_attr", "w"],
  fn("dead_neg", NEG, ["%x"]),
  fn("dead_rand", "torch.ops.aten.rand.default", [[2]]),
  fn("dead_add_", "torch.ops.aten.add_.Tensor", ["%x", "%x"]),
  fn("dead_getitem", GETITEM, ["%x", 0]),
  fn("dead_assert", "torch.ops.aten._assert_scalar.default", [true, "msg"]),
  ["relu", "call_method", "relu", ["%x"]],
  fn("live", MUL, ["%x", "%x"]),
  out("%live")
]
const A8_REMAINING = ["x", "unused_ph", "dead_rand", "dead_add_", "dead_assert", "live", "output"]

describe("eliminateDeadCode: A.8", () => {
  it("on a plain graph: removes neg, getitem, call_method relu and get_attr; keeps rand, add_, _assert_scalar, placeholders", () => {
    const { graph } = build(a8Specs)
    assert.isTrue(DeadCode.eliminateDeadCode(graph))
    assert.deepStrictEqual(names(graph), A8_REMAINING)
    assert.isFalse(DeadCode.eliminateDeadCode(graph), "a second pass changes nothing")
    assert.deepStrictEqual(names(graph), A8_REMAINING)
  })

  it("on a GraphModule owning the get_attr target: the same", () => {
    const gm = GraphModule.make()
    registerParameter(gm, "w", tensor([2]))
    build(a8Specs, { graph: gm.graph })
    assert.isTrue(GraphModule.eliminateDeadCode(gm))
    assert.deepStrictEqual(names(gm.graph), A8_REMAINING)
    // The parameter itself stays: DCE touches nodes only.
    assert.isTrue(gm.parameters.has("w"))
  })

  it("a whole chain dies in one pass, and with it the users it held", () => {
    const { graph, n } = build([
      ph("x"),
      fn("a", NEG, ["%x"]),
      fn("b", NEG, ["%a"]),
      fn("c", GETITEM, [["%a", "%b"], 1]),
      fn("live", NEG, ["%x"]),
      out("%live")
    ])
    assert.isTrue(DeadCode.eliminateDeadCode(graph))
    assert.deepStrictEqual(names(graph), ["x", "live", "output"])
    assert.deepStrictEqual([...n("x").users], [n("live")])
    assert.isTrue(n("a").erased && n("b").erased && n("c").erased)
  })

  it("returns false when nothing is dead", () => {
    const { graph } = build([ph("x"), fn("a", NEG, ["%x"]), out("%a")])
    assert.isFalse(DeadCode.eliminateDeadCode(graph))
    assert.deepStrictEqual(names(graph), ["x", "a", "output"])
  })

  it("lints first: a broken graph is refused and nothing is erased", () => {
    const { graph, n } = build([ph("na"), fn("nb", NEG, ["%na"]), fn("dead", NEG, ["%na"])])
    n("na").prepend(n("nb"))
    assertGraphError(() => DeadCode.eliminateDeadCode(graph), { fault: "Lint", node: "nb" })
    assert.deepStrictEqual(names(graph), ["nb", "na", "dead"])
  })
})

describe("eliminateDeadCode: impurity", () => {
  it("tensorrt::execute_engine is pure: an unused engine call and its getitems are removed", () => {
    const { graph } = build([
      ph("x"),
      ["engine", "get_attr", "_run_on_acc_0_engine"],
      fn("execute_engine_default", EXECUTE_ENGINE, [["%x"], "%engine"]),
      fn("getitem", GETITEM, ["%execute_engine_default", 0]),
      out("%x")
    ])
    assert.isTrue(DeadCode.eliminateDeadCode(graph))
    assert.deepStrictEqual(names(graph), ["x", "output"])
  })

  it("a call_module of an impure module survives; of a module not marked impure it is removed", () => {
    const gm = GraphModule.make()
    const sideEffect = new PlainModule()
    sideEffect.impure = true
    addSubmodule(gm, "side", sideEffect)
    addSubmodule(gm, "trt", new TrtModule({ name: "e", packedEngineInfo: [], inputBindingNames: [], outputBindingNames: [] }))
    addSubmodule(gm, "nested.side", sideEffect)
    build(
      [
        ph("x"),
        ["side_call", "call_module", "side", ["%x"]],
        ["nested_call", "call_module", "nested.side", ["%x"]],
        ["trt_call", "call_module", "trt", ["%x"]],
        out("%x")
      ],
      { graph: gm.graph }
    )
    assert.isTrue(GraphModule.eliminateDeadCode(gm))
    assert.deepStrictEqual(names(gm.graph), ["x", "side_call", "nested_call", "output"])
  })

  it("isImpureFunction follows torch._library.utils.is_impure for the names torch.export writes", () => {
    const impure = [
      "torch._assert",
      "torch._assert_async",
      "torch.ops.aten._assert_async.msg",
      "torch.ops.aten._assert_scalar.default",
      "torch.ops.aten._assert_tensor_metadata.default",
      "torch.ops.aten.sym_constrain_range.default",
      "torch.ops.aten.sym_constrain_range_for_size.default",
      "torch.ops.profiler._record_function_enter_new.default",
      "torch.ops.profiler._record_function_exit._RecordFunction",
      "torch.ops.inductor.accumulate_grad_.default",
      "torch.ops.inductor.resize_storage_bytes_.default",
      "_operator.setitem",
      "torch._C._set_grad_enabled",
      "torch.amp.autocast_mode._enter_autocast",
      "torch.amp.autocast_mode._exit_autocast",
      // mutable schemas
      "torch.ops.aten.add_.Tensor",
      "torch.ops.aten.copy_.default",
      "torch.ops.aten._index_put_impl_.default",
      "torch.ops.aten.add.out",
      // seeded random ops (impure_random is true outside a tracing context)
      "torch.ops.aten.rand.default",
      "torch.ops.aten.randn.default",
      "torch.ops.aten.bernoulli.p",
      "torch.ops.aten.native_dropout.default",
      "torch.rand",
      "torch.randn"
    ]
    const pure = [
      NEG,
      MUL,
      "torch.ops.aten.add.Tensor",
      GETITEM,
      "_operator.add",
      EXECUTE_ENGINE,
      "torch.ops.aten.__and__.Tensor",
      "torch.ops.aten._to_copy.default",
      "torch.ops.aten.sym_size.int",
      "torch.ops.higher_order.invoke_subgraph"
    ]
    for (const t of impure) assert.isTrue(DeadCode.isImpureFunction(t), t)
    for (const t of pure) assert.isFalse(DeadCode.isImpureFunction(t), t)
  })

  it("isImpure by op: placeholder and output impure, get_attr and call_method pure", () => {
    const { n } = build([ph("x"), ["w", "get_attr", "w"], ["m", "call_method", "add_", ["%x", 1]], out("%x")])
    assert.isTrue(DeadCode.isImpure(n("x")))
    assert.isTrue(DeadCode.isImpure(n("output")))
    assert.isFalse(DeadCode.isImpure(n("w")))
    // fx treats every call_method as pure, even an in-place one.
    assert.isFalse(DeadCode.isImpure(n("m")))
  })

  it("an in-place dunder op (aten.__iand__.Tensor, mutable schema `Tensor(a!) self`) is impure", () => {
    assert.isTrue(DeadCode.isImpureFunction("torch.ops.aten.__iand__.Tensor"))
  })

  it("an out= overload not named `out` (aten.sort.values, `Tensor(a!) values`) is impure", () => {
    assert.isTrue(DeadCode.isImpureFunction("torch.ops.aten.sort.values"))
  })

  it("a custom isImpureNode replaces every rule, placeholders and output included", () => {
    const { graph } = build([
      ph("x"),
      ph("p"),
      fn("keep", NEG, ["%x"]),
      fn("rand", "torch.ops.aten.rand.default", [[2]]),
      out(null)
    ])
    const changed = DeadCode.eliminateDeadCode(graph, { isImpureNode: (n) => n.op === "output" || n.name === "keep" })
    assert.isTrue(changed)
    assert.deepStrictEqual(names(graph), ["x", "keep", "output"])
  })

  it("a custom isImpureNode that keeps nothing removes even the output", () => {
    const { graph } = build([ph("x"), out("%x")])
    assert.isTrue(GraphModule.eliminateDeadCode(GraphModule.make(graph), { isImpureNode: () => false }))
    assert.deepStrictEqual(names(graph), [])
  })
})

describe("eliminateDeadCode: child graph modules read by get_attr", () => {
  /** A child graph `y -> dead -> output(y)` with one dead node. */
  const childWithDeadNode = (): GraphModule.GraphModule => {
    const child = GraphModule.make()
    build([ph("y"), fn("child_dead", NEG, ["%y"]), out("%y")], { graph: child.graph })
    return child
  }

  /** A root graph that reads child `target` by get_attr and uses it. */
  const rootUsing = (root: GraphModule.GraphModule, target: string, extra: ReadonlyArray<NodeSpec> = []): Graph =>
    build(
      [
        ph("x"),
        ["sub", "get_attr", target],
        fn("call", INVOKE_SUBGRAPH, ["%sub", "sub", "%x"]),
        ...extra,
        out("%call")
      ],
      { graph: root.graph }
    ).graph

  it("recurses into a child GraphModule whose get_attr is used; the root's return value counts the child", () => {
    const root = GraphModule.make()
    const child = childWithDeadNode()
    addSubmodule(root, "sub", child)
    rootUsing(root, "sub")
    assert.isTrue(GraphModule.eliminateDeadCode(root))
    assert.deepStrictEqual(names(root.graph), ["x", "sub", "call", "output"])
    assert.deepStrictEqual(names(child.graph), ["y", "output"])
  })

  it("the child is cleaned with the default rules, not the root's custom isImpureNode", () => {
    const root = GraphModule.make()
    const child = childWithDeadNode()
    addSubmodule(root, "sub", child)
    rootUsing(root, "sub", [fn("root_dead", NEG, ["%x"])])
    assert.isTrue(GraphModule.eliminateDeadCode(root, { isImpureNode: () => true }))
    assert.deepStrictEqual(names(root.graph), ["x", "sub", "call", "root_dead", "output"])
    assert.deepStrictEqual(names(child.graph), ["y", "output"])
  })

  it("does not recurse when the get_attr died in this pass (targets are collected after erasing)", () => {
    const root = GraphModule.make()
    const child = childWithDeadNode()
    addSubmodule(root, "sub", child)
    build([ph("x"), ["sub", "get_attr", "sub"], out("%x")], { graph: root.graph })
    assert.isTrue(GraphModule.eliminateDeadCode(root))
    assert.deepStrictEqual(names(root.graph), ["x", "output"])
    assert.deepStrictEqual(names(child.graph), ["y", "child_dead", "output"])
  })

  it("does not recurse into a child that no get_attr reads, nor into a call_module'd one", () => {
    const root = GraphModule.make()
    const called = childWithDeadNode()
    const unread = childWithDeadNode()
    addSubmodule(root, "called", called)
    addSubmodule(root, "unread", unread)
    build([ph("x"), ["c", "call_module", "called", ["%x"]], out("%c")], { graph: root.graph })
    assert.isFalse(GraphModule.eliminateDeadCode(root))
    assert.deepStrictEqual(names(called.graph), ["y", "child_dead", "output"])
    assert.deepStrictEqual(names(unread.graph), ["y", "child_dead", "output"])
  })

  it("recurses into a grandchild read by the child's own get_attr (fx: child_module.graph.eliminate_dead_code())", () => {
    const root = GraphModule.make()
    const child = GraphModule.make()
    const grandchild = childWithDeadNode()
    addSubmodule(root, "sub", child)
    addSubmodule(child, "inner", grandchild)
    rootUsing(root, "sub")
    build(
      [ph("y"), ["inner", "get_attr", "inner"], fn("call", INVOKE_SUBGRAPH, ["%inner", "inner", "%y"]), out("%call")],
      { graph: child.graph }
    )
    GraphModule.eliminateDeadCode(root)
    assert.deepStrictEqual(names(grandchild.graph), ["y", "output"])
  })

  it("the child's get_attr targets resolve in the child, never in the root", () => {
    // The root also has a child named `inner`, which no get_attr of the root reads: fx leaves it alone.
    const root = GraphModule.make()
    const child = GraphModule.make()
    const rootsInner = childWithDeadNode()
    addSubmodule(root, "sub", child)
    addSubmodule(root, "inner", rootsInner)
    addSubmodule(child, "inner", GraphModule.make())
    rootUsing(root, "sub")
    build(
      [ph("y"), ["inner", "get_attr", "inner"], fn("call", INVOKE_SUBGRAPH, ["%inner", "inner", "%y"]), out("%call")],
      { graph: child.graph }
    )
    GraphModule.eliminateDeadCode(root)
    assert.deepStrictEqual(names(rootsInner.graph), ["y", "child_dead", "output"])
  })
})
