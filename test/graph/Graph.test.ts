/**
 * Graph and Node mutations against torch.fx 2.11 (spec §4.2-§4.6 and Appendix A.8): insertion points,
 * users order, replace_all_uses_with, erase_node, graph_copy / node_copy, Graph.__deepcopy__, find_nodes.
 */
import { assert, describe, it } from "@effect/vitest"
import { Schema } from "effect"
import * as Argument from "../../src/graph/Argument.ts"
import { Graph } from "../../src/graph/Graph.ts"
import type { Node } from "../../src/graph/Node.ts"
import { assertGraphError, build, fn, names, namesOf, out, ph, printGraph, userNames } from "../utils/GraphBuilder.ts"

const ADD = "torch.ops.aten.add.Tensor"
const MUL = "torch.ops.aten.mul.Tensor"
const NEG = "torch.ops.aten.neg.default"
const RELU = "torch.ops.aten.relu.default"

/** A.8's graph `x -> relu -> output`, relu named by its target. */
const xRelu = () => {
  const g = new Graph()
  const x = g.placeholder("x")
  const relu = g.callFunction(RELU, [x])
  g.output(relu)
  return { g, x, relu }
}

/** A.8's `u1 = x + y`, `u2 = y + x`, `u3 = y + y`. */
const threeUsers = () =>
  build([
    ph("x"),
    ph("y"),
    fn("u1", ADD, ["%x", "%y"]),
    fn("u2", ADD, ["%y", "%x"]),
    fn("u3", ADD, ["%y", "%y"]),
    out(Argument.tuple("%u1", "%u2", "%u3"))
  ])

describe("Graph: insertion points (§4.2, A.8)", () => {
  it("inserting_after / inserting_before give A.8's order, and inserting_before(None) goes to the front", () => {
    const { g, x, relu } = xRelu()
    assert.strictEqual(relu.name, "relu_default")
    g.insertingAfter(x, () => {
      g.callFunction(NEG, [x], {}, { name: "first" })
      g.callFunction(NEG, [x], {}, { name: "second" })
    })
    g.insertingBefore(relu, () => {
      g.callFunction(NEG, [x], {}, { name: "third" })
      g.callFunction(NEG, [x], {}, { name: "fourth" })
    })
    assert.deepStrictEqual(names(g), ["x", "second", "first", "third", "fourth", "relu_default", "output"])
    g.insertingBefore(undefined, () => {
      g.placeholder("pa")
      g.placeholder("pb")
    })
    assert.deepStrictEqual(names(g), ["pb", "pa", "x", "second", "first", "third", "fourth", "relu_default", "output"])
    // Users are in creation order, not graph order.
    assert.deepStrictEqual(userNames(x), ["relu_default", "first", "second", "third", "fourth"])
  })

  it("the default insertion point appends at the end", () => {
    const { g } = xRelu()
    g.placeholder("late")
    assert.deepStrictEqual(names(g), ["x", "relu_default", "output", "late"])
  })

  it("inserting_after(None) appends at the end, in creation order", () => {
    const { g, x } = xRelu()
    g.insertingAfter(x, () => {
      g.insertingAfter(undefined, () => {
        g.placeholder("t1")
        g.placeholder("t2")
      })
    })
    assert.deepStrictEqual(names(g), ["x", "relu_default", "output", "t1", "t2"])
  })

  it("the previous insertion point is restored, also for nested scopes", () => {
    const { g, x, relu } = xRelu()
    g.insertingBefore(relu, () => {
      g.placeholder("b1")
      g.insertingAfter(x, () => g.placeholder("a1"))
      g.placeholder("b2")
    })
    g.placeholder("end")
    assert.deepStrictEqual(names(g), ["x", "a1", "b1", "b2", "relu_default", "output", "end"])
  })

  it("the previous insertion point is restored when the callback throws", () => {
    const { g, x } = xRelu()
    assert.throws(() =>
      g.insertingBefore(x, () => {
        g.placeholder("front")
        throw new Error("boom")
      }), "boom")
    g.placeholder("end")
    assert.deepStrictEqual(names(g), ["front", "x", "relu_default", "output", "end"])
  })

  it("returns the callback's value", () => {
    const { g, x } = xRelu()
    const n = g.insertingAfter(x, () => g.placeholder("p"))
    assert.strictEqual(n.name, "p")
    assert.strictEqual(n.prev, x)
  })

  it("refuses a node of another graph and an erased node", () => {
    const { g } = xRelu()
    const other = new Graph().placeholder("o")
    assertGraphError(() => g.insertingBefore(other, () => g.placeholder("p")), { fault: "WrongGraph", node: "o" })
    assertGraphError(() => g.insertingAfter(other, () => g.placeholder("p")), { fault: "WrongGraph", node: "o" })
    const dead = g.placeholder("dead")
    g.eraseNode(dead)
    assertGraphError(() => g.insertingAfter(dead, () => g.placeholder("p")), { fault: "ErasedNode", node: "dead" })
    assert.isFalse(g.isNameUsed("p"))
    assert.deepStrictEqual(names(g), ["x", "relu_default", "output"])
  })
})

describe("Node: users and argument updates (§4.3)", () => {
  it("users are insertion ordered; an args update moves the user to the end of every input's users", () => {
    const { n } = build([ph("x"), ph("y"), fn("a", ADD, ["%x", "%y"]), fn("b", ADD, ["%x", "%y"]), fn("c", NEG, ["%x"])])
    assert.deepStrictEqual(userNames(n("x")), ["a", "b", "c"])
    n("a").args = n("a").args
    assert.deepStrictEqual(userNames(n("x")), ["b", "c", "a"])
    assert.deepStrictEqual(userNames(n("y")), ["b", "a"])
    n("b").updateArg(1, 2)
    assert.deepStrictEqual(userNames(n("x")), ["c", "a", "b"])
    assert.deepStrictEqual(userNames(n("y")), ["a"])
    n("c").updateKwarg("alpha", n("y"))
    assert.deepStrictEqual(userNames(n("x")), ["a", "b", "c"])
    assert.deepStrictEqual(userNames(n("y")), ["a", "c"])
    n("a").replaceInputWith(n("y"), n("x"))
    assert.deepStrictEqual(userNames(n("x")), ["b", "c", "a"])
    assert.deepStrictEqual(userNames(n("y")), ["c"])
    assert.deepStrictEqual(namesOf(n("a").args as ReadonlyArray<Node>), ["x", "x"])
  })

  it("allInputNodes lists distinct nodes, args before kwargs, in argument order", () => {
    const { n } = build([
      ph("x"), ph("y"), ph("z"),
      fn("u", "f", [[Argument.tuple("%z", "%x"), "%z"], Argument.dict([["k", "%y"]])], { w: "%x", v: Argument.slice(null, "%y", 1) })
    ])
    assert.deepStrictEqual(namesOf(n("u").allInputNodes), ["z", "x", "y"])
    assert.deepStrictEqual(userNames(n("z")), ["u"])
    n("u").kwargs = {}
    n("u").args = []
    assert.deepStrictEqual(n("u").allInputNodes, [])
    for (const p of ["x", "y", "z"]) assert.strictEqual(n(p).users.size, 0)
  })

  it("updateKwarg keeps an existing key in place and appends a new one", () => {
    const { n } = build([ph("x"), fn("u", "f", [], { a: 1, b: 2 })])
    n("u").updateKwarg("a", n("x"))
    n("u").updateKwarg("c", 3)
    assert.deepStrictEqual(Object.keys(n("u").kwargs), ["a", "b", "c"])
    assert.strictEqual(n("u").kwargs["a"], n("x"))
  })

  it("updateArg refuses an index out of range", () => {
    const { n } = build([ph("x"), fn("u", NEG, ["%x"])])
    assertGraphError(() => n("u").updateArg(1, 0), { fault: "InvalidArgument", node: "u" })
    assert.deepStrictEqual(namesOf(n("u").args as ReadonlyArray<Node>), ["x"])
  })

  it("a node of another graph as an argument is refused (WrongGraph) and changes nothing", () => {
    const { graph, n } = build([ph("x"), fn("u", NEG, ["%x"])])
    const other = new Graph().placeholder("o")
    assertGraphError(() => graph.callFunction(NEG, [other]), { fault: "WrongGraph", node: "o" })
    assertGraphError(() => graph.callFunction(NEG, [], { k: [Argument.tuple(other)] }), { fault: "WrongGraph", node: "o" })
    assert.isFalse(graph.isNameUsed("neg_default"), "a refused node takes no name")
    assertGraphError(() => (n("u").args = [other]), { fault: "WrongGraph", node: "u" })
    assertGraphError(() => n("u").updateArg(0, other), { fault: "WrongGraph", node: "u" })
    assertGraphError(() => n("u").replaceInputWith(n("x"), other), { fault: "WrongGraph", node: "u" })
    assertGraphError(() => n("x").replaceAllUsesWith(other), { fault: "WrongGraph", node: "u" })
    assertGraphError(() => n("x").prepend(other), { fault: "WrongGraph", node: "o" })
    assert.deepStrictEqual(userNames(n("x")), ["u"])
    assert.strictEqual(other.users.size, 0)
    assert.deepStrictEqual(names(graph), ["x", "u"])
  })

  it("an erased node as an argument is refused (ErasedNode)", () => {
    const { graph, n } = build([ph("x"), ph("dead"), fn("u", NEG, ["%x"])])
    graph.eraseNode(n("dead"))
    assertGraphError(() => graph.callFunction(NEG, [n("dead")]), { fault: "ErasedNode", node: "dead" })
    assertGraphError(() => (n("u").args = [n("dead")]), { fault: "ErasedNode", node: "u" })
    assert.deepStrictEqual(userNames(n("x")), ["u"])
  })
})

describe("Node.replaceAllUsesWith (§4.3, A.8)", () => {
  it("A.8: returns [u1, u2]; y.users becomes [u3, u1, u2]; x keeps no users", () => {
    const { n } = threeUsers()
    assert.deepStrictEqual(userNames(n("y")), ["u1", "u2", "u3"])
    assert.deepStrictEqual(userNames(n("x")), ["u1", "u2"])
    const changed = n("x").replaceAllUsesWith(n("y"))
    assert.deepStrictEqual(namesOf(changed), ["u1", "u2"])
    assert.strictEqual(changed[0], n("u1"))
    assert.deepStrictEqual(userNames(n("y")), ["u3", "u1", "u2"])
    assert.strictEqual(n("x").users.size, 0)
    assert.deepStrictEqual(n("u1").args, [n("y"), n("y")])
    assert.deepStrictEqual(n("u2").args, [n("y"), n("y")])
    assert.isFalse(n("x").erased, "replace_all_uses_with does not erase")
  })

  it("deleteUserCb leaves the users it rejects alone", () => {
    const { n } = threeUsers()
    const changed = n("x").replaceAllUsesWith(n("y"), { deleteUserCb: (u) => u.name === "u2" })
    assert.deepStrictEqual(namesOf(changed), ["u2"])
    assert.deepStrictEqual(userNames(n("x")), ["u1"])
    assert.deepStrictEqual(userNames(n("y")), ["u1", "u3", "u2"])
    assert.deepStrictEqual(n("u1").args, [n("x"), n("y")])
  })

  it("replaces inside containers and kwargs", () => {
    const { n } = build([ph("x"), ph("y"), fn("u", "f", [[Argument.tuple("%x", 1)]], { k: "%x", j: "%y" })])
    n("x").replaceAllUsesWith(n("y"))
    assert.deepStrictEqual(n("u").args, [[Argument.tuple(n("y"), 1)]])
    assert.deepStrictEqual(n("u").kwargs, { k: n("y"), j: n("y") })
    assert.deepStrictEqual(namesOf(n("u").allInputNodes), ["y"])
  })

  it("propagateMeta copies every meta item into an empty replacement", () => {
    const { n } = threeUsers()
    n("x").meta = { stack_trace: "File x", custom: { a: 1 } }
    n("x").replaceAllUsesWith(n("y"), { propagateMeta: true })
    assert.deepStrictEqual(n("y").meta, { stack_trace: "File x", custom: { a: 1 } })
    assert.notStrictEqual(n("y").meta, n("x").meta)
    assert.strictEqual(n("y").meta.custom, n("x").meta.custom)
  })

  it("propagateMeta with a non-empty replacement meta fails with fx's AssertionError message, changing nothing", () => {
    const { n } = threeUsers()
    n("x").meta = { stack_trace: "File x" }
    n("y").meta = { stack_trace: "File y" }
    assertGraphError(() => n("x").replaceAllUsesWith(n("y"), { propagateMeta: true }), {
      fault: "InvalidArgument",
      detail: "Called node.replace_all_uses_with(replace_with, propagate_meta=True), but replace_with already has .meta keys",
      node: "y"
    })
    assert.deepStrictEqual(userNames(n("x")), ["u1", "u2"])
    assert.deepStrictEqual(n("y").meta, { stack_trace: "File y" })
  })
})

describe("Graph.eraseNode (§4.3, A.8)", () => {
  it("refuses a node with users, with fx's exact message", () => {
    const { graph, n } = threeUsers()
    n("x").replaceAllUsesWith(n("y"))
    assertGraphError(() => graph.eraseNode(n("y")), {
      fault: "NodeHasUsers",
      detail: "Tried to erase Node y but it still had 3 users in the graph: {u3: None, u1: None, u2: None}!",
      node: "y"
    })
    assert.isFalse(n("y").erased)
    assert.strictEqual(graph.size, 6)
  })

  it("refuses a node of another graph: the users check comes first", () => {
    const g = new Graph()
    const other = threeUsers()
    assertGraphError(() => g.eraseNode(other.n("y")), {
      fault: "NodeHasUsers",
      detail: "Tried to erase Node y but it still had 3 users in the graph: {u1: None, u2: None, u3: None}!",
      node: "y"
    })
    const lone = other.graph.placeholder("z")
    assertGraphError(() => g.eraseNode(lone), {
      fault: "WrongGraph",
      detail: "Attempting to remove z from wrong graph!",
      node: "z"
    })
    assert.isFalse(lone.erased)
    assert.include(names(other.graph), "z")
  })

  it("unlinks the node, drops it from its inputs' users, keeps its name used", () => {
    const { graph, n } = build([ph("x"), fn("a", NEG, ["%x"]), fn("b", NEG, ["%x"]), out("%b")])
    graph.eraseNode(n("a"))
    assert.isTrue(n("a").erased)
    assert.deepStrictEqual(names(graph), ["x", "b", "output"])
    assert.deepStrictEqual(userNames(n("x")), ["b"])
    assert.strictEqual(graph.size, 3)
    assert.deepStrictEqual(graph.findNodes("call_function", NEG), [n("b")])
    assert.isTrue(graph.isNameUsed("a"))
  })

  it("erasing twice is a no-op", () => {
    const { graph, n } = build([ph("x"), fn("a", NEG, ["%x"]), out("%x")])
    graph.eraseNode(n("a"))
    graph.eraseNode(n("a"))
    assert.strictEqual(graph.size, 2)
    assert.deepStrictEqual(names(graph), ["x", "output"])
    assert.deepStrictEqual(userNames(n("x")), ["output"])
  })

  it("an erased node's node arguments become None, other arguments stay (fx maps its args with n -> None)", () => {
    // fx's erase_node: `to_erase._update_args_kwargs(map_arg(to_erase._args, lambda n: None), map_arg(..kwargs..))`.
    const { graph, n } = build([ph("x"), fn("a", ADD, ["%x", 1], { alpha: "%x", beta: 2 })])
    graph.eraseNode(n("a"))
    assert.deepStrictEqual(n("a").args, [null, 1])
    assert.deepStrictEqual(n("a").kwargs, { alpha: null, beta: 2 })
  })

  it("iterating while erasing is safe", () => {
    const { graph, n } = build([ph("x"), fn("a", NEG, ["%x"]), fn("b", NEG, ["%a"]), fn("c", NEG, ["%x"]), fn("d", NEG, ["%x"]), out("%d")])
    const visited: Array<string> = []
    for (const node of graph.nodes()) {
      visited.push(node.name)
      if (node.name === "b") {
        graph.eraseNode(node) // the current node
        graph.eraseNode(n("a")) // an earlier one
        graph.eraseNode(n("c")) // the next one
      }
    }
    assert.deepStrictEqual(visited, ["x", "a", "b", "d", "output"])
    assert.deepStrictEqual(names(graph), ["x", "d", "output"])
    const back: Array<string> = []
    for (const node of graph.reversed()) {
      back.push(node.name)
      if (node.name === "d") {
        node.replaceAllUsesWith(n("x"))
        graph.eraseNode(node)
      }
    }
    assert.deepStrictEqual(back, ["output", "d", "x"])
    assert.deepStrictEqual(names(graph), ["x", "output"])
    assert.deepStrictEqual(graph.outputNode?.args, [n("x")])
  })
})

describe("Graph.graphCopy / nodeCopy (§4.4, A.8)", () => {
  const source = () =>
    build([
      ph("a", { stack_trace: "a" }),
      ph("b"),
      fn("add", ADD, ["%a", "%b"], {}, { val: { int: 3 }, custom: { k: [1] } }),
      fn("mul", MUL, ["%add", "%a"]),
      out(Argument.tuple("%mul", "%add"))
    ])

  it("§4.4's example: [a, add, b, add_1, mul, output], returns (mul, add_1), val_map a→a, b→b, add→add_1, mul→mul", () => {
    const src = source()
    const dst = build([ph("a"), fn("add", ADD, ["%a", "%a"]), out("%add")])
    const valMap = new Map<Node, Argument.Argument>([[src.n("a"), dst.n("a")]])
    const rv = dst.graph.insertingBefore(dst.graph.outputNode!, () => dst.graph.graphCopy(src.graph, valMap))
    assert.deepStrictEqual(names(dst.graph), ["a", "add", "b", "add_1", "mul", "output"])
    const [, , b, add1, mul] = [...dst.graph.nodes()]
    assert.deepStrictEqual(rv, Argument.tuple(mul!, add1!))
    assert.deepStrictEqual(
      [...valMap].map(([k, v]) => [k.name, (v as Node).name]),
      [["a", "a"], ["b", "b"], ["add", "add_1"], ["mul", "mul"]]
    )
    assert.strictEqual(valMap.get(src.n("b")), b)
    // Copied nodes read copied nodes.
    assert.deepStrictEqual(add1!.args, [dst.n("a"), b!])
    assert.deepStrictEqual(mul!.args, [add1!, dst.n("a")])
    assert.deepStrictEqual(userNames(dst.n("a")), ["add", "add_1", "mul"])
    // Copied meta: a new record with equal contents (values shared).
    assert.notStrictEqual(add1!.meta, src.n("add").meta)
    assert.deepStrictEqual(add1!.meta, { val: { int: 3 }, custom: { k: [1] } })
    assert.strictEqual(add1!.meta.custom, src.n("add").meta.custom)
    // The source is untouched.
    assert.deepStrictEqual(names(src.graph), ["a", "b", "add", "mul", "output"])
    assert.deepStrictEqual(userNames(src.n("a")), ["add", "mul"])
  })

  it("returnOutputNode gives (value, the source's output node); the output is not copied", () => {
    const src = source()
    const dst = new Graph()
    const got = dst.graphCopy(src.graph, new Map(), { returnOutputNode: true })
    assert.isDefined(got)
    const [value, outputNode] = got!
    assert.strictEqual(outputNode, src.graph.outputNode)
    assert.deepStrictEqual(names(dst), ["a", "b", "add", "mul"])
    assert.strictEqual(formatTuple(value), "(mul, add)")
    assert.isUndefined(dst.outputNode)
  })

  it("returns undefined for a graph without output, having copied every node", () => {
    const src = build([ph("x"), fn("n", NEG, ["%x"])])
    const dst = new Graph()
    const valMap = new Map<Node, Argument.Argument>()
    assert.isUndefined(dst.graphCopy(src.graph, valMap))
    assert.deepStrictEqual(names(dst), ["x", "n"])
    assert.strictEqual(valMap.size, 2)
  })

  it("a node already in valMap is not copied, and may map to a non-node value", () => {
    const src = source()
    const dst = new Graph()
    const valMap = new Map<Node, Argument.Argument>([[src.n("a"), 5], [src.n("b"), Argument.float(2)]])
    const rv = dst.graphCopy(src.graph, valMap)
    assert.deepStrictEqual(names(dst), ["add", "mul"])
    assert.deepStrictEqual(dst.first!.args, [5, Argument.float(2)])
    assert.strictEqual(formatTuple(rv!), "(mul, add)")
  })

  it("an input that was never mapped is refused (fx: KeyError)", () => {
    const src = build([ph("na"), fn("nb", NEG, ["%na"]), out("%nb")])
    src.n("na").prepend(src.n("nb")) // nb now reads na before na is defined
    const dst = new Graph()
    assertGraphError(() => dst.graphCopy(src.graph, new Map()), { fault: "InvalidArgument", node: "na" })
  })

  it("nodeCopy maps args and kwargs, keeps op and target, re-uniquifies the name, copies meta", () => {
    const src = build([ph("x"), fn("add", ADD, ["%x", 1], { alpha: "%x" }, { stack_trace: "s" })])
    const dst = build([ph("y"), fn("add", ADD, ["%y", "%y"])])
    const copy = dst.graph.nodeCopy(src.n("add"), () => dst.n("y"))
    assert.strictEqual(copy.name, "add_1")
    assert.strictEqual(copy.op, "call_function")
    assert.strictEqual(copy.target, ADD)
    assert.strictEqual(copy.graph, dst.graph)
    assert.deepStrictEqual(copy.args, [dst.n("y"), 1])
    assert.deepStrictEqual(copy.kwargs, { alpha: dst.n("y") })
    assert.deepStrictEqual(copy.meta, { stack_trace: "s" })
    assert.notStrictEqual(copy.meta, src.n("add").meta)
    assert.deepStrictEqual(userNames(dst.n("y")), ["add", "add_1"])
    assert.strictEqual(src.n("x").users.size, 1)
  })

  it("nodeCopy refuses an argTransform that leaves a foreign node", () => {
    const src = build([ph("x"), fn("n", NEG, ["%x"])])
    const dst = new Graph()
    assertGraphError(() => dst.nodeCopy(src.n("n"), (m) => m), { fault: "WrongGraph", node: "x" })
    assert.strictEqual(dst.size, 0)
  })
})

const formatTuple = (a: Argument.Argument): string => {
  const t = a as Argument.Tuple
  return `(${t.items.map((x) => (x as Node).name).join(", ")})`
}

describe("Graph.copy (fx's Graph.__deepcopy__)", () => {
  const sample = () =>
    build([
      ph("x", { val: { tensor: { shape: [2], stride: [1], storage_offset: 0, dtype: "float32", device: "cpu", requires_grad: false } } }),
      ["w", "get_attr", "lin.weight"],
      fn("mm", "torch.ops.aten.mm.default", ["%x", "%w"], {}, { stack_trace: "mm" }),
      fn("g0", "_operator.getitem", ["%mm", 0]),
      ["m", "call_method", "relu", ["%g0"], { inplace: false }],
      out([Argument.tuple("%m", "%x"), null], "output")
    ])

  it("preserves names, ops, targets and argument structure, with new nodes", () => {
    const { graph } = sample()
    graph.outputNode!.meta = { custom: "out" }
    const valMap = new Map<Node, Argument.Argument>()
    const copy = graph.copy(valMap)
    assert.strictEqual(printGraph(copy), printGraph(graph))
    assert.strictEqual(copy.size, graph.size)
    assert.strictEqual(valMap.size, graph.size)
    for (const [old, fresh] of valMap) {
      const f = fresh as Node
      assert.notStrictEqual(f, old)
      assert.strictEqual(f.graph, copy)
      assert.strictEqual(f.name, old.name)
      assert.notStrictEqual(f.meta, old.meta)
      assert.deepStrictEqual(f.meta, old.meta)
      for (const input of f.allInputNodes) assert.strictEqual(input.graph, copy)
    }
    assert.deepStrictEqual(copy.outputNode!.meta, { custom: "out" })
    assert.strictEqual(valMap.get(graph.outputNode!), copy.outputNode)
    assert.isUndefined(copy.owner)
  })

  it("copies are independent of the original", () => {
    const { graph, n } = sample()
    const before = printGraph(graph)
    const copy = graph.copy()
    const [cx, , cmm, cg0, cm] = [...copy.nodes()]
    cmm!.meta.stack_trace = "changed"
    cx!.meta = {}
    cmm!.updateArg(1, cx!)
    cm!.replaceAllUsesWith(cg0!)
    copy.eraseNode(cm!)
    copy.insertingBefore(copy.outputNode!, () => copy.callFunction(NEG, [cx!], {}, { name: "extra" }))
    assert.strictEqual(printGraph(graph), before)
    assert.strictEqual(n("mm").meta.stack_trace, "mm")
    assert.deepStrictEqual(userNames(n("x")), ["mm", "output"])
  })

  it("the copy's namespace is fresh: names only erased in the original are free again", () => {
    const { graph } = build([ph("x"), fn("a", NEG, ["%x"]), out("%x")])
    graph.eraseNode(graph.findNodes("call_function")[0]!)
    const copy = graph.copy()
    assert.strictEqual(copy.callFunction(NEG, [], {}, { name: "a" }).name, "a")
    assert.strictEqual(graph.callFunction(NEG, [], {}, { name: "a" }).name, "a_1")
    // Names that exist are taken in the copy as in the original.
    assert.strictEqual(copy.placeholder("x").name, "x_1")
  })

  it("a graph without output copies without one", () => {
    const { graph } = build([ph("x"), fn("n", NEG, ["%x"])])
    const copy = graph.copy()
    assert.deepStrictEqual(names(copy), ["x", "n"])
    assert.isUndefined(copy.outputNode)
  })
})

describe("Graph.findNodes and iteration (§4.6)", () => {
  it("finds by op and target in graph order, also after moves and erasures", () => {
    const { graph, n } = build([
      ph("x"),
      fn("n1", NEG, ["%x"]),
      fn("r", RELU, ["%x"]),
      fn("n2", NEG, ["%x"]),
      fn("n3", NEG, ["%x"]),
      out("%x")
    ])
    assert.deepStrictEqual(namesOf(graph.findNodes("call_function", NEG)), ["n1", "n2", "n3"])
    n("n1").prepend(n("n3")) // n3 before n1
    assert.deepStrictEqual(namesOf(graph.findNodes("call_function", NEG)), ["n3", "n1", "n2"])
    n("n2").append(n("n1")) // n1 after n2
    assert.deepStrictEqual(names(graph), ["x", "n3", "r", "n2", "n1", "output"])
    assert.deepStrictEqual(namesOf(graph.findNodes("call_function", NEG)), ["n3", "n2", "n1"])
    assert.deepStrictEqual(namesOf(graph.findNodes("call_function")), ["n3", "r", "n2", "n1"])
    graph.eraseNode(n("n2"))
    assert.deepStrictEqual(namesOf(graph.findNodes("call_function", NEG)), ["n3", "n1"])
    assert.deepStrictEqual(namesOf(graph.findNodes("call_function", NEG, { sort: false })).sort(), ["n1", "n3"])
    assert.deepStrictEqual(graph.findNodes("get_attr"), [])
    assert.deepStrictEqual(graph.findNodes("call_function", "nope"), [])
    assert.deepStrictEqual(namesOf(graph.findNodes("output")), ["output"])
  })

  it("placeholders, get_attrs and the output are listed by op: a query by target filters them, in graph order or (unsorted) creation order", () => {
    const { graph, n } = build([ph("x"), fn("a", NEG, ["%x"]), out("%a")])
    const w2 = graph.insertingBefore(n("a"), () => graph.getAttr("w.b"))
    const w1 = graph.insertingBefore(w2, () => graph.getAttr("w.a"))
    const again = graph.insertingAfter(n("a"), () => graph.getAttr("w.a"))
    assert.deepStrictEqual(namesOf(graph.findNodes("get_attr")), [w1.name, w2.name, again.name])
    assert.deepStrictEqual(namesOf(graph.findNodes("get_attr", undefined, { sort: false })), [w2.name, w1.name, again.name])
    assert.deepStrictEqual(namesOf(graph.findNodes("get_attr", "w.a")), [w1.name, again.name])
    assert.deepStrictEqual(namesOf(graph.findNodes("placeholder", "x")), ["x"])
    assert.deepStrictEqual(graph.findNodes("placeholder", "y"), [])
    graph.eraseNode(w1)
    assert.deepStrictEqual(namesOf(graph.findNodes("get_attr", "w.a")), [again.name])
    assert.deepStrictEqual(namesOf(graph.findNodes("get_attr")), [w2.name, again.name])
    graph.eraseNode(w2)
    graph.eraseNode(again)
    assert.deepStrictEqual(graph.findNodes("get_attr"), [])
    const w3 = graph.insertingBefore(n("a"), () => graph.getAttr("w.c"))
    assert.deepStrictEqual(namesOf(graph.findNodes("get_attr")), [w3.name])
  })

  it("placeholders come in graph order, whether they lead the graph or not", () => {
    const { graph, n } = build([ph("x"), ph("y"), fn("a", NEG, ["%x"]), out("%a")])
    // Created last, inserted first: creation order is not graph order.
    const w = graph.insertingBefore(n("x"), () => graph.placeholder("w"))
    assert.deepStrictEqual(namesOf(graph.findNodes("placeholder")), ["w", "x", "y"])
    // A placeholder after other nodes: the leading run does not hold them all.
    const z = graph.insertingAfter(n("a"), () => graph.placeholder("z"))
    assert.deepStrictEqual(namesOf(graph.findNodes("placeholder")), ["w", "x", "y", "z"])
    n("a").prepend(z)
    assert.deepStrictEqual(namesOf(graph.findNodes("placeholder")), ["w", "x", "y", "z"])
    w.append(n("a"))
    assert.deepStrictEqual(namesOf(graph.findNodes("placeholder")), ["w", "x", "y", "z"])
    assert.deepStrictEqual(names(graph), ["w", "a", "x", "y", "z", "output"])
  })

  it("nodes(), reversed(), first/last/next/prev, size, outputNode and positionOf agree", () => {
    const { graph, n } = build([ph("x"), fn("a", NEG, ["%x"]), out("%a")])
    assert.deepStrictEqual(namesOf(graph.reversed()), ["output", "a", "x"])
    assert.strictEqual(graph.first, n("x"))
    assert.strictEqual(graph.last, n("output"))
    assert.strictEqual(n("x").next, n("a"))
    assert.isUndefined(n("x").prev)
    assert.isUndefined(n("output").next)
    assert.strictEqual(graph.size, 3)
    assert.strictEqual(graph.outputNode, n("output"))
    assert.deepStrictEqual([0, 1, 2], ["x", "a", "output"].map((s) => graph.positionOf(n(s))))
    n("x").prepend(n("output"))
    assert.isUndefined(graph.outputNode, "the output is not the last node any more")
    const empty = new Graph()
    assert.isUndefined(empty.first)
    assert.isUndefined(empty.last)
    assert.deepStrictEqual([...empty.nodes()], [])
  })

  it("prepend/append of a node to itself changes nothing; moving an erased node is refused", () => {
    const { graph, n } = build([ph("x"), fn("a", NEG, ["%x"]), out("%a")])
    n("a").prepend(n("a"))
    n("a").append(n("a"))
    assert.deepStrictEqual(names(graph), ["x", "a", "output"])
    const dead = graph.placeholder("dead")
    graph.eraseNode(dead)
    assertGraphError(() => n("x").append(dead), { fault: "ErasedNode", node: "dead" })
    assert.deepStrictEqual(names(graph), ["x", "a", "output"])
  })
})

// fx keeps users in a dict: an update removes the node from every old input's users and adds it at the end of
// every new input's. trtx stores them by count (none, one, a small array, a set); the order must not show it.
const UserStep = Schema.Struct({
  user: Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 11 })),
  action: Schema.Literals(["read x", "read y", "read both", "read none", "erase"])
})

describe("Node: users keep fx's order through every storage size", () => {
  it.prop("after random updates, x.users and y.users equal a dict model's order", { steps: Schema.Array(UserStep) }, ({ steps }) => {
    const graph = new Graph()
    const x = graph.placeholder("x")
    const y = graph.placeholder("y")
    const users: Array<Node | undefined> = Array.from({ length: 12 }, () => graph.callFunction(NEG, [x]))
    const model = new Map([[x, new Set<Node>()], [y, new Set<Node>()]])
    for (const u of users) model.get(x)!.add(u!)
    for (const { action, user } of steps) {
      const u = users[user]
      if (u === undefined) continue
      for (const set of model.values()) set.delete(u)
      if (action === "erase") {
        u.args = []
        graph.eraseNode(u)
        users[user] = undefined
        continue
      }
      const reads = action === "read x" ? [x] : action === "read y" ? [y] : action === "read both" ? [x, y] : []
      u.args = [Argument.tuple(...reads), ...reads]
      for (const r of reads) model.get(r)!.add(u)
    }
    for (const [input, expected] of model) {
      assert.deepStrictEqual(namesOf(input.users), namesOf(expected))
      assert.strictEqual(input.userCount, expected.size)
      for (const u of users) if (u !== undefined) assert.strictEqual(input.hasUser(u), expected.has(u))
    }
  })
})

describe("Graph.isClean: the graph as the last lint and dead-code elimination left it", () => {
  const chain = () => {
    const g = new Graph()
    const x = g.placeholder("x")
    const y = g.callFunction("torch.ops.aten.relu.default", [x])
    g.output(y)
    return { g, x, y }
  }

  it("only after both ran, and until the structure, an argument or a name changes", () => {
    const { g, x, y } = chain()
    assert.isFalse(g.isClean)
    g.lint()
    assert.isFalse(g.isClean, "linted, but never cleared of dead code")
    g.eliminateDeadCode()
    assert.isTrue(g.isClean)
    g.lint()
    assert.isTrue(g.isClean)

    const z = g.insertingAfter(y, () => g.callFunction("torch.ops.aten.neg.default", [y]))
    assert.isFalse(g.isClean, "a node created")
    g.eliminateDeadCode()
    g.lint()
    assert.isTrue(g.isClean)
    assert.isFalse([...g.nodes()].includes(z), "the dead neg is gone")

    const w = g.insertingBefore(g.outputNode!, () => g.callFunction("torch.ops.aten.neg.default", [y]))
    g.outputNode!.replaceInputWith(y, w)
    g.eliminateDeadCode()
    g.lint()
    assert.isTrue(g.isClean)
    w.args = [x]
    assert.isFalse(g.isClean, "an argument changed")
  })

  it("an elimination by a caller's impurity rules does not count: fx's rules might still erase more", () => {
    const { g } = chain()
    g.lint()
    g.eliminateDeadCode({ isImpureNode: () => true })
    assert.isFalse(g.isClean)
    g.eliminateDeadCode()
    g.lint()
    assert.isTrue(g.isClean)
  })

  it("placeholdersLead: every placeholder before every other node", () => {
    const { g, y } = chain()
    assert.isTrue(g.placeholdersLead)
    g.insertingAfter(y, () => g.placeholder("late"))
    assert.isFalse(g.placeholdersLead)
  })
})
