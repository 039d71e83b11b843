/**
 * The module tree against torch's `nn.Module` and fx's `GraphModule` (spec §4.8, §4.9, Appendix A.9):
 * traversal orders and de-duplication, registration rules, add/delete of submodules, and
 * `delete_all_unused_submodules`.
 */
import { assert, describe, it } from "@effect/vitest"
import * as GraphModule from "../../src/graph/GraphModule.ts"
import {
  PlainModule,
  addSubmodule,
  deleteSubmodule,
  getSubmodule,
  hasAttribute,
  namedBuffers,
  namedChildren,
  namedModules,
  namedParameters,
  registerBuffer,
  registerParameter,
  resolve,
  setConstant,
  stateDict
} from "../../src/graph/Module.ts"
import { assertGraphError, build, out, ph, printModule, tensor, values } from "../utils/GraphBuilder.ts"

const keys = (pairs: Iterable<readonly [string, unknown]>): Array<string> => [...pairs].map(([k]) => k)

/**
 * A.9's first setup: root with parameter `top` and buffer `tb`; children `a` and `b`, each with `weight`,
 * persistent buffer `running` and non-persistent buffer `np_buf`; `b.weight` is the same tensor as
 * `a.weight`.
 */
const a9 = () => {
  const root = new PlainModule()
  const top = tensor([1], 1)
  const tb = tensor([1], 2)
  registerParameter(root, "top", top)
  registerBuffer(root, "tb", tb)
  const shared = tensor([2], 3)
  const child = (): PlainModule => {
    const m = new PlainModule("torch.nn.modules.module.Module")
    registerParameter(m, "weight", shared)
    registerBuffer(m, "running", tensor([2]))
    registerBuffer(m, "np_buf", tensor([2]), false)
    return m
  }
  const a = child()
  const b = child()
  addSubmodule(root, "a", a)
  addSubmodule(root, "b", b)
  return { root, a, b, top, tb, shared }
}

describe("Module traversals (§4.8, A.9)", () => {
  it("A.9: state_dict keys, and b.weight is a.weight's tensor object", () => {
    const { root, a, b, top, tb, shared } = a9()
    const sd = stateDict(root)
    assert.deepStrictEqual([...sd.keys()], ["top", "tb", "a.weight", "a.running", "b.weight", "b.running"])
    assert.strictEqual(sd.get("top"), top)
    assert.strictEqual(sd.get("tb"), tb)
    assert.strictEqual(sd.get("a.weight"), shared)
    assert.strictEqual(sd.get("b.weight"), sd.get("a.weight"))
    assert.strictEqual(sd.get("a.running"), a.buffers.get("running"))
    assert.strictEqual(sd.get("b.running"), b.buffers.get("running"))
    assert.notStrictEqual(sd.get("a.running"), sd.get("b.running"))
  })

  it("A.9: named_parameters de-duplicates tied tensors; named_buffers includes non-persistent buffers", () => {
    const { root, shared } = a9()
    const params = namedParameters(root)
    assert.deepStrictEqual(keys(params), ["top", "a.weight"])
    assert.strictEqual(params[1]![1], shared)
    assert.deepStrictEqual(keys(namedBuffers(root)), ["tb", "a.running", "a.np_buf", "b.running", "b.np_buf"])
  })

  it("A.9: a child registered under a second name appears once in named_children and named_modules", () => {
    const { root, a } = a9()
    root.children.set("a_alias", a)
    assert.deepStrictEqual(keys(namedChildren(root)), ["a", "b"])
    assert.deepStrictEqual(keys(namedModules(root)), ["", "a", "b"])
    assert.strictEqual(namedChildren(root)[0]![1], a)
    // named_parameters / named_buffers de-duplicate too.
    assert.deepStrictEqual(keys(namedParameters(root)), ["top", "a.weight"])
    assert.deepStrictEqual(keys(namedBuffers(root)), ["tb", "a.running", "a.np_buf", "b.running", "b.np_buf"])
  })

  it("an alias registered first keeps its first name", () => {
    const root = new PlainModule()
    const m = new PlainModule()
    root.children.set("first", m)
    root.children.set("other", new PlainModule())
    root.children.set("second", m)
    assert.deepStrictEqual(keys(namedChildren(root)), ["first", "other"])
    assert.strictEqual(getSubmodule(root, "second"), m)
  })

  it("state_dict lists an aliased child under every name (torch recurses over _modules without de-duplication)", () => {
    // torch: `for name, module in self._modules.items(): module.state_dict(prefix=prefix + name + ".")`.
    const { root, a } = a9()
    root.children.set("a_alias", a)
    assert.deepStrictEqual(
      [...stateDict(root).keys()],
      ["top", "tb", "a.weight", "a.running", "b.weight", "b.running", "a_alias.weight", "a_alias.running"]
    )
  })

  it("named_modules is a pre-order walk, children in registration order", () => {
    const root = new PlainModule()
    addSubmodule(root, "p.q", new PlainModule())
    addSubmodule(root, "r", new PlainModule())
    addSubmodule(root, "p.s", new PlainModule())
    addSubmodule(root, "p.q.t", new PlainModule())
    assert.deepStrictEqual(keys(namedModules(root)), ["", "p", "p.q", "p.q.t", "p.s", "r"])
  })

  it("state_dict: per module its parameters, then its persistent buffers; constants are not state", () => {
    const root = new PlainModule()
    registerBuffer(root, "b1", tensor())
    registerParameter(root, "p1", tensor())
    registerBuffer(root, "b2", tensor(), false)
    setConstant(root, "c", tensor())
    addSubmodule(root, "m", new PlainModule())
    registerParameter(getSubmodule(root, "m")!, "w", tensor())
    assert.deepStrictEqual([...stateDict(root).keys()], ["p1", "b1", "m.w"])
    assert.deepStrictEqual(keys(namedBuffers(root)), ["b1", "b2"])
  })
})

describe("Module registration (§4.8, §4.9 _assign_attr, A.9)", () => {
  it("A.9: conv.weight and conv.bias_buf, then re-assigning conv.weight with 7.0 replaces it in place", () => {
    const root = new PlainModule()
    assert.isTrue(addSubmodule(root, "conv", new PlainModule()))
    const conv = getSubmodule(root, "conv")!
    registerParameter(conv, "weight", tensor([1], 0))
    registerBuffer(conv, "bias_buf", tensor([1], 0))
    const seven = tensor([1], 7)
    registerParameter(conv, "weight", seven)
    const sd = stateDict(root)
    assert.deepStrictEqual([...sd.keys()], ["conv.weight", "conv.bias_buf"])
    assert.strictEqual(sd.get("conv.weight"), seven)
    assert.deepStrictEqual(values(sd.get("conv.weight")!), [7])
    assert.deepStrictEqual(values(sd.get("conv.bias_buf")!), [0])
  })

  it("registerParameter over a parameter keeps its place among the parameters", () => {
    const m = new PlainModule()
    registerParameter(m, "w1", tensor())
    registerParameter(m, "w2", tensor())
    const t = tensor([3])
    registerParameter(m, "w1", t)
    assert.deepStrictEqual([...m.parameters.keys()], ["w1", "w2"])
    assert.strictEqual(m.parameters.get("w1"), t)
  })

  it("A.9: registerParameter over another attribute throws KeyError \"attribute 't' already exists\"", () => {
    const m = new PlainModule()
    setConstant(m, "t", tensor())
    registerBuffer(m, "buf", tensor())
    addSubmodule(m, "sub", new PlainModule())
    const before = printModule(m)
    assertGraphError(() => registerParameter(m, "t", tensor()), { fault: "AttributeExists", detail: "attribute 't' already exists" })
    assertGraphError(() => registerParameter(m, "buf", tensor()), { fault: "AttributeExists", detail: "attribute 'buf' already exists" })
    assertGraphError(() => registerParameter(m, "sub", tensor()), { fault: "AttributeExists", detail: "attribute 'sub' already exists" })
    assert.strictEqual(printModule(m), before)
  })

  it("registerBuffer behaves the same way: replaces a buffer, refuses a parameter", () => {
    const m = new PlainModule()
    registerParameter(m, "p", tensor())
    registerBuffer(m, "b", tensor([1], 1))
    const t = tensor([1], 2)
    registerBuffer(m, "b", t, false)
    assert.strictEqual(m.buffers.get("b"), t)
    assert.isTrue(m.nonPersistent.has("b"), "re-registered as non-persistent")
    registerBuffer(m, "b", t)
    assert.isFalse(m.nonPersistent.has("b"), "and back to persistent")
    assertGraphError(() => registerBuffer(m, "p", tensor()), { fault: "AttributeExists", detail: "attribute 'p' already exists" })
  })

  it("names with a dot or empty names are refused", () => {
    const m = new PlainModule()
    assertGraphError(() => registerParameter(m, "a.b", tensor()), { fault: "InvalidArgument" })
    assertGraphError(() => registerBuffer(m, "", tensor()), { fault: "InvalidArgument" })
    assert.strictEqual(m.parameters.size + m.buffers.size, 0)
  })

  it("resolve follows a getattr chain", () => {
    const { root, a, shared } = a9()
    setConstant(a, "c", tensor())
    assert.deepStrictEqual(resolve(root, ""), { kind: "module", module: root })
    assert.deepStrictEqual(resolve(root, "a"), { kind: "module", module: a })
    const w = resolve(root, "a.weight")
    assert.strictEqual(w?.kind, "parameter")
    assert.strictEqual(w?.kind === "parameter" ? w.tensor : undefined, shared)
    assert.strictEqual(resolve(root, "a.running")?.kind, "buffer")
    assert.strictEqual(resolve(root, "a.np_buf")?.kind, "buffer")
    assert.strictEqual(resolve(root, "a.c")?.kind, "constant")
    assert.isUndefined(resolve(root, "a.missing"))
    assert.isUndefined(resolve(root, "top.x"))
    assert.isUndefined(resolve(root, "z.weight"))
    assert.isTrue(hasAttribute(root, "top") && hasAttribute(root, "a") && !hasAttribute(root, "weight"))
  })
})

describe("Module state collections", () => {
  it("are made on first write; reading a module's state makes none, and reads see what was written", () => {
    const mod = new PlainModule()
    const state = mod.state
    assert.strictEqual(state.children.size + state.parameters.size + state.buffers.size + state.constants.size, 0)
    // Every absent collection reads as the same shared empty one: nothing was made for this module.
    assert.strictEqual(state.parameters, state.buffers)
    assert.isFalse(hasAttribute(mod, "w"))
    const w = tensor([2])
    registerParameter(mod, "w", w)
    assert.strictEqual(mod.state.parameters.get("w"), w)
    assert.strictEqual(mod.state.parameters, mod.parameters)
    assert.notStrictEqual(mod.state.parameters, mod.state.buffers)
    assert.isTrue(hasAttribute(mod, "w"))
    assert.strictEqual(resolve(mod, "w")?.kind, "parameter")
  })
})

describe("addSubmodule / deleteSubmodule", () => {
  it("addSubmodule creates empty plain modules along the path", () => {
    const root = new PlainModule()
    const m = new PlainModule("torch.nn.modules.linear.Linear")
    assert.isTrue(addSubmodule(root, "x.y.z", m))
    assert.deepStrictEqual(keys(namedModules(root)), ["", "x", "x.y", "x.y.z"])
    assert.strictEqual(getSubmodule(root, "x.y.z"), m)
    const x = getSubmodule(root, "x")!
    assert.strictEqual(x.kind, "module")
    assert.strictEqual(x.kind === "module" ? x.type : "", "torch.nn.modules.module.Module")
    // An existing path is reused.
    assert.isTrue(addSubmodule(root, "x.w", new PlainModule()))
    assert.deepStrictEqual(keys(namedChildren(x)), ["y", "w"])
  })

  it("addSubmodule refuses a path through a non-module attribute and changes nothing", () => {
    const root = new PlainModule()
    registerParameter(root, "w", tensor())
    addSubmodule(root, "a", new PlainModule())
    setConstant(getSubmodule(root, "a")!, "t", tensor())
    const before = printModule(root)
    assert.isFalse(addSubmodule(root, "w.sub", new PlainModule()))
    assert.isFalse(addSubmodule(root, "a.t.sub", new PlainModule()))
    assert.isFalse(addSubmodule(root, "a.t.deep.sub", new PlainModule()))
    assert.strictEqual(printModule(root), before)
  })

  it("deleteSubmodule removes one name; false when there is none", () => {
    const root = new PlainModule()
    const m = new PlainModule()
    addSubmodule(root, "p.q", m)
    root.children.set("alias", m)
    assert.isTrue(deleteSubmodule(root, "p.q"))
    assert.isUndefined(getSubmodule(root, "p.q"))
    assert.strictEqual(getSubmodule(root, "alias"), m)
    assert.isFalse(deleteSubmodule(root, "p.q"))
    assert.isFalse(deleteSubmodule(root, "nope.q"))
    assert.isFalse(deleteSubmodule(root, "nope"))
    assert.deepStrictEqual(keys(namedModules(root)), ["", "p", "alias"])
  })
})

describe("GraphModule.deleteAllUnusedSubmodules (§4.9, A.9)", () => {
  it("A.9: a GraphModule with get_attr a.weight keeps ['', 'a']; an unused Linear is removed", () => {
    const { a } = a9()
    const gm = GraphModule.make()
    // fx's GraphModule(root, graph) copies only what the graph reads: `a` with its `weight`.
    const copied = new PlainModule()
    registerParameter(copied, "weight", a.parameters.get("weight")!)
    addSubmodule(gm, "a", copied)
    build([["w", "get_attr", "a.weight"], out("%w")], { graph: gm.graph })
    assert.deepStrictEqual(keys(namedModules(gm)), ["", "a"])
    const linear = new PlainModule("torch.nn.modules.linear.Linear")
    registerParameter(linear, "weight", tensor([1, 1]))
    registerParameter(linear, "bias", tensor([1]))
    assert.isTrue(addSubmodule(gm, "unused_mod", linear))
    assert.deepStrictEqual(keys(namedModules(gm)), ["", "a", "unused_mod"])
    GraphModule.deleteAllUnusedSubmodules(gm)
    assert.deepStrictEqual(keys(namedModules(gm)), ["", "a"])
    assert.deepStrictEqual([...stateDict(gm).keys()], ["a.weight"])
  })

  it("prefixes of targets are used, descendants of called modules are used, everything else goes", () => {
    const gm = GraphModule.make()
    for (const path of ["m.n", "m.other", "p.q.r.s", "p.sib", "lone", "deep.x.y"]) addSubmodule(gm, path, new PlainModule())
    registerParameter(getSubmodule(gm, "m.n")!, "w", tensor())
    build(
      [ph("x"), ["w", "get_attr", "m.n.w"], ["c", "call_module", "p.q", ["%x", "%w"]], out("%c")],
      { graph: gm.graph }
    )
    GraphModule.deleteAllUnusedSubmodules(gm)
    assert.deepStrictEqual(keys(namedModules(gm)), ["", "m", "m.n", "p", "p.q", "p.q.r", "p.q.r.s"])
  })

  it("non-module attributes are never deleted, on the root or on surviving modules", () => {
    const gm = GraphModule.make()
    registerParameter(gm, "root_p", tensor())
    setConstant(gm, "engine", { _tag: "ScriptObject", classFqn: "__torch__.torch.classes.tensorrt.Engine", state: [] })
    addSubmodule(gm, "kept", new PlainModule())
    const kept = getSubmodule(gm, "kept")!
    registerParameter(kept, "unused_p", tensor())
    registerBuffer(kept, "unused_b", tensor(), false)
    addSubmodule(gm, "gone", new PlainModule())
    build([ph("x"), ["k", "call_module", "kept", ["%x"]], out("%k")], { graph: gm.graph })
    GraphModule.deleteAllUnusedSubmodules(gm)
    assert.deepStrictEqual(keys(namedModules(gm)), ["", "kept"])
    assert.isTrue(gm.parameters.has("root_p") && gm.constants.has("engine"))
    assert.isTrue(kept.parameters.has("unused_p") && kept.buffers.has("unused_b"))
  })

  it("an alias of a used module is not deleted (named_modules lists the object once)", () => {
    const gm = GraphModule.make()
    const m = new PlainModule()
    addSubmodule(gm, "used", m)
    gm.children.set("alias", m)
    build([ph("x"), ["c", "call_module", "used", ["%x"]], out("%c")], { graph: gm.graph })
    GraphModule.deleteAllUnusedSubmodules(gm)
    assert.strictEqual(gm.children.get("alias"), m)
  })

  it("an empty graph deletes every submodule", () => {
    const gm = GraphModule.make()
    addSubmodule(gm, "a.b", new PlainModule())
    addSubmodule(gm, "c", GraphModule.make())
    GraphModule.deleteAllUnusedSubmodules(gm)
    assert.deepStrictEqual(keys(namedModules(gm)), [""])
  })
})

