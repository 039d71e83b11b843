/**
 * `GraphModule.deepCopy`: a new module tree and new graphs (fx's `Graph.__deepcopy__` for each graph), with
 * tensors, storages, script objects and engine bytes shared, aliasing kept, and the original never changed
 * by mutations of the copy.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Argument from "../../src/graph/Argument.ts"
import * as GraphModule from "../../src/graph/GraphModule.ts"
import {
  PlainModule,
  TrtModule,
  addSubmodule,
  deleteSubmodule,
  getSubmodule,
  isModuleAt,
  namedModules,
  registerBuffer,
  registerParameter,
  setConstant,
  stateDict
} from "../../src/graph/Module.ts"
import type { Node } from "../../src/graph/Node.ts"
import type { ScriptObject } from "../../src/graph/Tensor.ts"
import { build, fn, names, out, ph, printGraph, printModule, tensor } from "../utils/GraphBuilder.ts"

const NEG = "torch.ops.aten.neg.default"
const EXECUTE_ENGINE = "torch.ops.tensorrt.execute_engine.default"

const VAL = { tensor: { shape: [2], stride: [1], storage_offset: 0, dtype: "float32", device: "cuda:0", requires_grad: false } }

/**
 * A compiled-module-like tree: a root graph calling a TRT engine (by get_attr of its script object) and a
 * fallback graph module; a linear with a weight tied to another module; a module aliased under two names;
 * non-persistent buffers, specs and symbols.
 */
const sample = () => {
  const engineBytes = new Uint8Array([1, 2, 3, 4])
  const engineObj: ScriptObject = { _tag: "ScriptObject", classFqn: "__torch__.torch.classes.tensorrt.Engine", state: ["abi", engineBytes] }
  const root = GraphModule.make()
  root.inSpec = "in-spec"
  root.outSpec = "out-spec"
  root.symbols = new Map([["s0", { hint: 4, min: 2, max: null }]])

  const trt = new TrtModule({
    name: "_run_on_acc_0",
    packedEngineInfo: ["abi", engineBytes, "in0"],
    engineState: ["abi", engineBytes],
    inputBindingNames: ["in0"],
    outputBindingNames: ["out0"]
  })
  addSubmodule(root, "_run_on_acc_0", trt)
  setConstant(root, "_run_on_acc_0_engine", engineObj)

  const gpu = GraphModule.make()
  gpu.impure = true
  addSubmodule(root, "_run_on_gpu_0", gpu)
  const conv = new PlainModule("torch.nn.modules.conv.Conv2d")
  const weight = tensor([2, 2], 1)
  registerParameter(conv, "weight", weight)
  registerBuffer(conv, "scratch", tensor([2]), false)
  addSubmodule(gpu, "conv", conv)
  build([ph("y", { val: VAL }), ["w", "get_attr", "conv.weight"], fn("mm", "torch.ops.aten.mm.default", ["%y", "%w"]), out("%mm")], {
    graph: gpu.graph
  })

  const lin = new PlainModule("torch.nn.modules.linear.Linear")
  registerParameter(lin, "weight", weight) // tied to conv.weight
  registerBuffer(lin, "scale", tensor([1], 2))
  addSubmodule(root, "lin", lin)
  root.children.set("lin_alias", lin) // the same module under a second name

  const built = build(
    [
      ph("x", { val: VAL, stack_trace: "File model.py" }),
      ["engine", "get_attr", "_run_on_acc_0_engine"],
      fn("execute_engine_default", EXECUTE_ENGINE, [["%x"], "%engine"], {}, { val: [VAL] }),
      fn("getitem", "_operator.getitem", ["%execute_engine_default", 0], {}, { val: VAL }),
      ["gpu", "call_module", "_run_on_gpu_0", ["%getitem"], {}, { nn_module_stack: { a: ["b", "c"] } }],
      ["w", "get_attr", "lin.weight"],
      fn("add", "torch.ops.aten.add.Tensor", ["%gpu", "%w"], { alpha: Argument.float(1) }),
      fn("dead", NEG, ["%x"]),
      out(Argument.tuple("%add"))
    ],
    { graph: root.graph }
  )
  return { root, gpu, trt, lin, conv, weight, engineBytes, engineObj, n: built.n }
}

describe("GraphModule.deepCopy: structure", () => {
  it("copies the module tree and graphs with identical names, printouts and lint", () => {
    const { root } = sample()
    const copy = GraphModule.deepCopy(root)
    assert.notStrictEqual(copy, root)
    assert.strictEqual(copy.kind, "graph_module")
    assert.notStrictEqual(copy.graph, root.graph)
    assert.strictEqual(printModule(copy), printModule(root))
    assert.deepStrictEqual(names(copy.graph), names(root.graph))
    assert.deepStrictEqual(
      names(copy.graph),
      ["x", "engine", "execute_engine_default", "getitem", "gpu", "w", "add", "dead", "output"]
    )
    assert.deepStrictEqual(keys(namedModules(copy)), ["", "_run_on_acc_0", "_run_on_gpu_0", "_run_on_gpu_0.conv", "lin"])
    assert.deepStrictEqual([...copy.children.keys()], [...root.children.keys()])
    assert.isUndefined(GraphModule.lint(copy))
  })

  it("every module and node is new; copied nodes read copied nodes; graphs are owned by their copies", () => {
    const { root } = sample()
    const copy = GraphModule.deepCopy(root)
    const pairs = namedModules(root).map(([name, m]) => [m, getSubmodule(copy, name)!] as const)
    for (const [orig, c] of pairs) {
      assert.notStrictEqual(c, orig)
      assert.strictEqual(c.kind, orig.kind)
      assert.strictEqual(c.impure, orig.impure)
    }
    const gpuCopy = getSubmodule(copy, "_run_on_gpu_0")!
    assert.strictEqual(gpuCopy.kind, "graph_module")
    for (const [orig, c] of [[root, copy], [getSubmodule(root, "_run_on_gpu_0")!, gpuCopy]] as const) {
      if (orig.kind !== "graph_module" || c.kind !== "graph_module") return assert.fail("graph modules expected")
      const origNodes = new Set<Node>(orig.graph.nodes())
      for (const node of c.graph.nodes()) {
        assert.isFalse(origNodes.has(node))
        assert.strictEqual(node.graph, c.graph)
        for (const input of node.allInputNodes) assert.strictEqual(input.graph, c.graph)
        for (const user of node.users) assert.strictEqual(user.graph, c.graph)
      }
      // The copy's graph resolves targets in the copied tree.
      const probe = c.graph.getAttr("conv")
      assert.strictEqual(c.graph.owner?.checkTarget(probe) === undefined, orig !== root)
      c.graph.eraseNode(probe)
      assert.strictEqual(c.graph.owner?.isImpureModule("_run_on_gpu_0"), orig === root)
    }
  })

  it("meta records are new records with equal contents; their values are shared", () => {
    const { root, n } = sample()
    const copy = GraphModule.deepCopy(root)
    const byName = new Map([...copy.graph.nodes()].map((node) => [node.name, node]))
    for (const orig of root.graph.nodes()) {
      const c = byName.get(orig.name)!
      assert.notStrictEqual(c.meta, orig.meta)
      assert.deepStrictEqual(c.meta, orig.meta)
    }
    assert.strictEqual(byName.get("x")!.meta.val, n("x").meta.val)
  })

  it("specs and symbols are copied; the symbols map is a new map", () => {
    const { root } = sample()
    const copy = GraphModule.deepCopy(root)
    assert.strictEqual(copy.inSpec, "in-spec")
    assert.strictEqual(copy.outSpec, "out-spec")
    assert.notStrictEqual(copy.symbols, root.symbols)
    assert.deepStrictEqual([...copy.symbols!], [["s0", { hint: 4, min: 2, max: null }]])
  })
})

describe("GraphModule.deepCopy: sharing and aliasing", () => {
  it("tensors, storages and script objects are the same objects", () => {
    const { root, weight, engineObj } = sample()
    const copy = GraphModule.deepCopy(root)
    const sdOrig = stateDict(root)
    const sdCopy = stateDict(copy)
    assert.deepStrictEqual([...sdCopy.keys()], [...sdOrig.keys()])
    for (const [k, t] of sdOrig) {
      assert.strictEqual(sdCopy.get(k), t, k)
      assert.strictEqual(sdCopy.get(k)!.storage.bytes, t.storage.bytes, k)
    }
    assert.strictEqual(getSubmodule(copy, "lin")!.parameters.get("weight"), weight)
    assert.strictEqual(getSubmodule(copy, "_run_on_gpu_0.conv")!.buffers.get("scratch"), getSubmodule(root, "_run_on_gpu_0.conv")!.buffers.get("scratch"))
    assert.isTrue(getSubmodule(copy, "_run_on_gpu_0.conv")!.nonPersistent.has("scratch"))
    assert.strictEqual(copy.constants.get("_run_on_acc_0_engine"), engineObj)
  })

  it("a TrtModule is a new module sharing its engine bytes", () => {
    const { root, trt, engineBytes } = sample()
    const copy = GraphModule.deepCopy(root)
    const c = getSubmodule(copy, "_run_on_acc_0")!
    if (c.kind !== "trt_module") return assert.fail("a TrtModule expected")
    assert.notStrictEqual(c, trt)
    assert.strictEqual(c.name, "_run_on_acc_0")
    assert.strictEqual(c.packedEngineInfo[1], engineBytes)
    assert.strictEqual(c.engineState![1], engineBytes)
    assert.deepStrictEqual(c.inputBindingNames, ["in0"])
    assert.deepStrictEqual(c.outputBindingNames, ["out0"])
  })

  it("a tensor under two names stays one object, and so does a module under two names", () => {
    const { root, lin } = sample()
    const copy = GraphModule.deepCopy(root)
    assert.strictEqual(
      getSubmodule(copy, "lin")!.parameters.get("weight"),
      getSubmodule(copy, "_run_on_gpu_0.conv")!.parameters.get("weight")
    )
    const linCopy = copy.children.get("lin")!
    assert.notStrictEqual(linCopy, lin)
    assert.strictEqual(copy.children.get("lin_alias"), linCopy)
  })

  it("a module reachable from two parents is copied once", () => {
    const root = GraphModule.make()
    const shared = new PlainModule()
    addSubmodule(root, "p.m", shared)
    addSubmodule(root, "q.m", shared)
    const copy = GraphModule.deepCopy(root)
    assert.strictEqual(getSubmodule(copy, "p.m"), getSubmodule(copy, "q.m"))
    assert.notStrictEqual(getSubmodule(copy, "p.m"), shared)
  })
})

describe("GraphModule.deepCopy: lazy", () => {
  it("below the root, a module's state is the original's until first asked for, then its own copy", () => {
    const { root, conv, weight } = sample()
    const copy = GraphModule.deepCopy(root, { lazy: true })
    const gpu = copy.children.get("_run_on_gpu_0")!
    // Not yet made: read through to the original (tensors and values are shared either way).
    assert.strictEqual(gpu.stateForReading.children.get("conv"), conv)
    assert.isTrue(isModuleAt(copy, "_run_on_gpu_0.conv"))
    assert.isFalse(isModuleAt(copy, "_run_on_gpu_0.conv.weight"))
    assert.strictEqual(gpu.stateForReading.children.get("conv"), conv)
    // Asked for: the copy's own submodules, each a copy, with the same tensors.
    const convCopy = gpu.children.get("conv")!
    assert.notStrictEqual(convCopy, conv)
    assert.strictEqual(gpu.stateForReading.children.get("conv"), convCopy)
    assert.strictEqual(convCopy.parameters.get("weight"), weight)
    assert.strictEqual(printModule(copy), printModule(root))
  })

  it("aliasing holds across lazily made states: one copy per module, one tensor per tensor", () => {
    const root = GraphModule.make()
    const shared = new PlainModule()
    registerParameter(shared, "w", tensor([2]))
    addSubmodule(root, "p.m", shared)
    addSubmodule(root, "q.m", shared)
    const copy = GraphModule.deepCopy(root, { lazy: true })
    const viaQ = getSubmodule(copy, "q.m")
    const viaP = getSubmodule(copy, "p.m")
    assert.strictEqual(viaP, viaQ)
    assert.notStrictEqual(viaP, shared)
    assert.strictEqual(viaP!.parameters.get("w"), shared.parameters.get("w"))
  })

  it("no mutation of a lazy copy changes the original, and the original's state is never made by reads", () => {
    const { root } = sample()
    const before = printModule(root)
    const copy = GraphModule.deepCopy(root, { lazy: true })
    registerParameter(getSubmodule(copy, "lin")!, "weight", tensor([2, 2], 9))
    registerBuffer(getSubmodule(copy, "_run_on_gpu_0.conv")!, "scratch", tensor([2]), true)
    deleteSubmodule(copy, "lin_alias")
    addSubmodule(copy, "_run_on_gpu_0.added", new PlainModule())
    assert.notStrictEqual(printModule(copy), before)
    assert.strictEqual(printModule(root), before)
  })
})

describe("GraphModule.deepCopy: independence", () => {
  it("no mutation of the copy changes the original", () => {
    const { root } = sample()
    const before = printModule(root)
    const copy = GraphModule.deepCopy(root)
    const node = (name: string): Node => [...copy.graph.nodes()].find((x) => x.name === name)!

    // Graph mutations.
    copy.graph.eraseNode(node("dead"))
    copy.graph.insertingBefore(copy.graph.outputNode!, () => copy.graph.callFunction(NEG, [node("add")], {}, { name: "extra" }))
    node("add").updateArg(1, node("x"))
    node("add").updateKwarg("alpha", Argument.float(2))
    node("x").meta.val = { int: 1 }
    node("getitem").meta = {}
    copy.graph.renameNode(node("gpu"), "renamed")
    copy.graph.outputNode!.args = [Argument.tuple(node("extra"))]
    const gpuCopy = getSubmodule(copy, "_run_on_gpu_0")!
    if (gpuCopy.kind !== "graph_module") return assert.fail("a graph module expected")
    gpuCopy.graph.placeholder("new_input")
    gpuCopy.impure = false
    // Module mutations.
    registerParameter(copy, "new_param", tensor())
    registerParameter(getSubmodule(copy, "lin")!, "weight", tensor([2, 2], 9))
    registerBuffer(getSubmodule(copy, "_run_on_gpu_0.conv")!, "scratch", tensor([2]), true)
    setConstant(copy, "_run_on_acc_0_engine", { _tag: "ScriptObject", classFqn: "x", state: [] })
    deleteSubmodule(copy, "lin_alias")
    addSubmodule(copy, "added.sub", new PlainModule())
    copy.inSpec = "changed"
    copy.symbols!.set("s1", { hint: 1, min: 0, max: 3 })

    assert.notStrictEqual(printModule(copy), before)
    assert.strictEqual(printModule(root), before)
    assert.isUndefined(GraphModule.lint(root))
  })

  it("mutating the original leaves the copy alone too", () => {
    const { root, n } = sample()
    const copy = GraphModule.deepCopy(root)
    const before = printGraph(copy.graph)
    root.graph.eraseNode(n("dead"))
    n("add").updateArg(0, n("x"))
    assert.strictEqual(printGraph(copy.graph), before)
  })

  it("each copied graph has a fresh namespace: names erased before copying are free in the copy", () => {
    const { root, n } = sample()
    root.graph.eraseNode(n("dead"))
    const copy = GraphModule.deepCopy(root)
    assert.strictEqual(copy.graph.callFunction(NEG, [], {}, { name: "dead" }).name, "dead")
    assert.strictEqual(root.graph.callFunction(NEG, [], {}, { name: "dead" }).name, "dead_1")
    assert.strictEqual(copy.graph.callFunction(NEG, [], {}, { name: "add" }).name, "add_1")
  })

  it("dead-code elimination on the copy keeps the original's nodes", () => {
    const { root } = sample()
    const copy = GraphModule.deepCopy(root)
    assert.isTrue(GraphModule.eliminateDeadCode(copy))
    assert.notInclude(names(copy.graph), "dead")
    assert.include(names(root.graph), "dead")
  })
})

const keys = (pairs: Iterable<readonly [string, unknown]>): Array<string> => [...pairs].map(([k]) => k)
