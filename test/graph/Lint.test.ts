/**
 * `lint` against torch.fx 2.11's `Graph.lint()` (spec §4.7, A.8's verified messages), plus the checks trtx
 * adds (nothing after the output node; the users sets are checked by Lint.checkUsers).
 */
import { assert, describe, it } from "@effect/vitest"
import { Graph } from "../../src/graph/Graph.ts"
import * as GraphModule from "../../src/graph/GraphModule.ts"
import { lint } from "../../src/graph/Lint.ts"
import { PlainModule, addSubmodule, registerParameter, setConstant } from "../../src/graph/Module.ts"
import { assertGraphError, build, fn, names, out, ph, tensor } from "../utils/GraphBuilder.ts"

const NEG = "torch.ops.aten.neg.default"

const USED_BEFORE_DEFINED =
  "Argument 'na' of Node 'nb' was used before it has been defined! Please check that Nodes in the graph are topologically ordered"

describe("lint: graphs that pass", () => {
  it("passes on a well-formed graph, also with containers, kwargs, and every op", () => {
    const { graph } = build([
      ph("x"),
      ["w", "get_attr", "w"],
      fn("a", NEG, [["%x", "%w"]], { k: "%x" }),
      ["m", "call_module", "sub", ["%a"]],
      ["r", "call_method", "relu", ["%m"]],
      out(["%r", "%a"])
    ])
    assert.isUndefined(lint(graph))
  })

  it("passes on an empty graph and on one without output (fx does not require an output)", () => {
    assert.isUndefined(lint(new Graph()))
    assert.isUndefined(lint(build([ph("x"), fn("n", NEG, ["%x"])]).graph))
  })

  it("passes after legal mutations: moves that keep topological order, erasures, renames", () => {
    const { graph, n } = build([ph("x"), fn("a", NEG, ["%x"]), fn("b", NEG, ["%x"]), fn("c", NEG, ["%a"]), out("%c")])
    n("a").append(n("b"))
    graph.eraseNode(n("b"))
    graph.renameNode(n("c"), "cc")
    assert.isUndefined(lint(graph))
  })
})

describe("lint: topological order (A.8 message)", () => {
  it("a node moved before its input by prepend: fx's use-before-define message", () => {
    const { graph, n } = build([ph("na"), fn("nb", NEG, ["%na"]), out("%nb")])
    n("na").prepend(n("nb"))
    assert.deepStrictEqual(names(graph), ["nb", "na", "output"])
    assertGraphError(() => lint(graph), { fault: "Lint", detail: USED_BEFORE_DEFINED, node: "nb" })
  })

  it("an input moved after its user by append: the same message", () => {
    const { graph, n } = build([ph("na"), fn("nb", NEG, [["%na"]]), fn("nc", NEG, ["%nb"]), out("%nc")])
    n("nb").append(n("na"))
    assert.deepStrictEqual(names(graph), ["nb", "na", "nc", "output"])
    assertGraphError(() => lint(graph), { fault: "Lint", detail: USED_BEFORE_DEFINED, node: "nb" })
  })

  it("a use in kwargs counts too", () => {
    const { graph, n } = build([ph("na"), fn("nb", NEG, [], { k: "%na" })])
    n("na").prepend(n("nb"))
    assertGraphError(() => lint(graph), { fault: "Lint", detail: USED_BEFORE_DEFINED, node: "nb" })
  })
})

describe("lint: unique names", () => {
  it("the API refuses to make a duplicate name: exactName on a used name, renameNode suffixes", () => {
    const { graph, n } = build([ph("na"), ph("nb")])
    assertGraphError(() => graph.createNode("placeholder", "nb", [], {}, { name: "nb", exactName: true }), {
      fault: "InvalidArgument",
      node: "nb"
    })
    assert.strictEqual(graph.renameNode(n("na"), "nb"), "nb_1")
    assert.isUndefined(lint(graph))
  })

  it("a duplicate made by direct assignment (fx's node.name = ...) fails with fx's message", () => {
    // Only the internal `_name` field, fx's direct `node.name` assignment, can produce a duplicate.
    const { graph, n } = build([ph("na"), ph("nb"), out(null)])
    n("na")._name = "nb"
    assertGraphError(() => lint(graph), { fault: "Lint", detail: "Node redefined name nb!", node: "nb" })
  })
})

describe("lint: targets with an owning GraphModule", () => {
  const owned = () => {
    const gm = GraphModule.make()
    const a = new PlainModule()
    registerParameter(a, "weight", tensor([2]))
    addSubmodule(gm, "a", a)
    registerParameter(gm, "top", tensor([1]))
    setConstant(gm, "t", tensor([1]))
    return gm
  }

  it("resolvable get_attr and call_module targets pass", () => {
    const gm = owned()
    build(
      [ph("x"), ["w", "get_attr", "a.weight"], ["t", "get_attr", "top"], ["c", "get_attr", "t"], ["m", "call_module", "a", ["%x"]], out("%m")],
      { graph: gm.graph }
    )
    assert.isUndefined(lint(gm.graph))
    assert.isUndefined(GraphModule.lint(gm))
  })

  it("an unresolved get_attr target fails (references nonexistent attribute)", () => {
    const gm = owned()
    build([["w", "get_attr", "a.missing"]], { graph: gm.graph })
    const e = assertGraphError(() => lint(gm.graph), { fault: "Lint", node: "w" })
    assert.strictEqual(e.detail, "Node w target a.missing references nonexistent attribute missing of a")
  })

  it("of several unresolved targets, the first in graph order is reported, whatever the creation order", () => {
    const gm = owned()
    const g = gm.graph
    const late = g.getAttr("late.missing", { name: "late" })
    g.insertingBefore(late, () => g.getAttr("early.missing", { name: "early" }))
    const e = assertGraphError(() => lint(g), { fault: "Lint", node: "early" })
    assert.strictEqual(e.detail, "Node early target early.missing references nonexistent attribute early of ")
  })

  it("a get_attr through a non-module attribute fails", () => {
    const gm = owned()
    build([["w", "get_attr", "top.x"]], { graph: gm.graph })
    const e = assertGraphError(() => lint(gm.graph), { fault: "Lint", node: "w" })
    assert.strictEqual(e.detail, "Node w target top.x references nonexistent attribute x of top")
  })

  it("an unresolved call_module target fails", () => {
    const gm = owned()
    build([["m", "call_module", "nope"]], { graph: gm.graph })
    const e = assertGraphError(() => lint(gm.graph), { fault: "Lint", node: "m" })
    assert.strictEqual(e.detail, "Node m target nope references nonexistent attribute nope of ")
  })

  it("a call_module of a parameter or constant fails (does not reference an nn.Module)", () => {
    for (const target of ["top", "a.weight", "t"]) {
      const gm = owned()
      build([["m", "call_module", target]], { graph: gm.graph })
      const e = assertGraphError(() => lint(gm.graph), { fault: "Lint", node: "m" })
      const atoms = target.split(".")
      assert.strictEqual(
        e.detail,
        `Node m target ${target} ${atoms[atoms.length - 1]} of ${atoms.slice(0, -1).join(".")} does not reference an nn.Module`
      )
    }
  })

  it("without an owning module, targets are not checked", () => {
    const { graph } = build([["w", "get_attr", "a.missing"], ["m", "call_module", "nope"]])
    assert.isUndefined(lint(graph))
  })

  it("GraphModule.lint checks the graph of every descendant graph module", () => {
    const root = GraphModule.make()
    const child = GraphModule.make()
    addSubmodule(root, "sub", child)
    build([ph("x"), ["m", "call_module", "sub", ["%x"]], out("%m")], { graph: root.graph })
    build([ph("y"), ["w", "get_attr", "nothing"], out("%y")], { graph: child.graph })
    assert.isUndefined(lint(root.graph))
    const e = assertGraphError(() => GraphModule.lint(root), { fault: "Lint", node: "w" })
    assert.include(e.detail, "references nonexistent attribute")
  })
})

describe("lint: the output node (trtx's own check; fx does not make it)", () => {
  it("a node after the output fails", () => {
    const { graph, n } = build([ph("x"), out("%x")])
    graph.insertingAfter(n("output"), () => graph.callFunction(NEG, [n("x")], {}, { name: "late" }))
    assert.deepStrictEqual(names(graph), ["x", "output", "late"])
    const e = assertGraphError(() => lint(graph), { fault: "Lint", node: "late" })
    assert.include(e.detail, "output")
  })

  it("a second output after the first fails", () => {
    const { graph } = build([ph("x"), out("%x"), out("%x", "output2")])
    assertGraphError(() => lint(graph), { fault: "Lint", node: "output2" })
  })
})
