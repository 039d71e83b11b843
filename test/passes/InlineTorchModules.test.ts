/**
 * `inlineTorchModules` (upstream `inline_torch_modules` and `copy_submodule_attributes`,
 * exporter-semantics §2.5, §2.6): one test per numbered rule of the pass's header, one per rejection of its
 * input state (`CompiledModule`), one for the state it ensures, and the bugs found.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Argument from "../../src/graph/Argument.ts"
import * as Lint from "../../src/graph/Lint.ts"
import * as Module from "../../src/graph/Module.ts"
import { inlineTorchModules } from "../../src/passes/InlineTorchModules.ts"
import * as Pass from "../../src/passes/Pass.ts"
import {
  addPlainCall,
  asCompiled,
  assertPassError,
  breaking,
  callModule,
  compiledRejections,
  convFallback,
  fn,
  getAttr,
  getitem,
  graphModule,
  lines,
  inputOf,
  meta,
  ops,
  out,
  passError,
  ph,
  tensorOf,
  trtModule,
  tval,
  unorderedModule
} from "../utils/PassFixtures.ts"

const NAME = "inlineTorchModules"

/** `x → _run_on_gpu_0(x) → output`, calling `fallback`. */
const fallbackRoot = (fallback: Module.GraphModule) =>
  graphModule([ph("x", meta(tval([1, 3, 8, 8]))), callModule("_run_on_gpu_0", "_run_on_gpu_0", ["%x"]), out("%_run_on_gpu_0")], (gm) =>
    gm.children.set("_run_on_gpu_0", fallback))
const convFallbackRoot = () => fallbackRoot(convFallback().gm).gm
const run = (gm: Module.GraphModule) => Effect.flatMap(asCompiled(gm), (m) => Pass.apply(inlineTorchModules, m))

/** A fallback module computing `relu(p)`. */
const reluSub = () => graphModule([ph("p"), fn("relu", ops.RELU, ["%p"]), out("%relu")]).gm

describe("inlineTorchModules: rules", () => {
  it.effect("1. fallback calls are the call_modules of graph modules, found by target; dead code is eliminated and the graph linted first", () =>
    Effect.gen(function*() {
      const dead = graphModule([ph("p"), getAttr("dead_w", "dead.w"), fn("mul", ops.MUL, ["%p", "%dead_w"]), out("%mul")], (sub) => {
        const holder = new Module.PlainModule()
        Module.registerParameter(holder, "w", tensorOf([1], 9))
        sub.children.set("dead", holder)
      }).gm
      // Neither the node names nor the module names contain "_run_on_gpu".
      const { gm } = graphModule([
        ph("x"),
        callModule("my_call", "fallback", ["%x"]),
        callModule("unused_call", "unused", ["%x"]),
        fn("unused_neg", "torch.ops.aten.neg.default", ["%x"]),
        out("%my_call")
      ], (gm) => {
        gm.children.set("fallback", reluSub())
        gm.children.set("unused", dead)
      })
      yield* run(gm)
      assert.deepStrictEqual(lines(gm), [
        "x = placeholder[x]()",
        `relu = call_function[${ops.RELU}](%x)`,
        "output = output[output](%relu)"
      ])
      // The dead call was eliminated before inlining: nothing of `unused` was copied to the root.
      assert.isFalse(gm.children.has("dead"))
      Lint.lint(gm.graph)
      // The lint first: a graph out of order fails the pass's own run, naming the node.
      const e = yield* passError(run(unorderedModule()))
      assertPassError(e, { pass: NAME, phase: "run", node: "neg" })
    }))

  it.effect("2. placeholders are wired by position to the positional args, then by name to the keyword args, then to their defaults", () =>
    Effect.gen(function*() {
      const sub = () =>
        graphModule([
          ph("p"),
          ph("q"),
          ["r", "placeholder", "r", [2]],
          fn("add", ops.ADD, ["%p", "%q"]),
          fn("mul", ops.MUL, ["%add", "%r"]),
          out("%mul")
        ]).gm
      const { gm } = graphModule([
        ph("x"),
        ph("y"),
        callModule("fb", "fb", ["%x"], { q: "%y" }),
        out("%fb")
      ], (gm) => gm.children.set("fb", sub()))
      yield* run(gm)
      assert.deepStrictEqual(lines(gm), [
        "x = placeholder[x]()",
        "y = placeholder[y]()",
        `add = call_function[${ops.ADD}](%x, %y)`,
        `mul = call_function[${ops.MUL}](%add, 2)`,
        "output = output[output](%mul)"
      ])

      // Too many positional arguments, and an input given by nobody, name the call.
      const tooMany = graphModule([ph("x"), callModule("fb", "fb", ["%x", "%x", "%x", "%x"]), out("%fb")], (gm) => gm.children.set("fb", sub()))
      assertPassError(yield* passError(run(tooMany.gm)), { pass: NAME, phase: "run", node: "fb" })
      const missing = graphModule([ph("x"), callModule("fb", "fb", ["%x"]), out("%fb")], (gm) => gm.children.set("fb", sub()))
      const e = yield* passError(run(missing.gm))
      assertPassError(e, { pass: NAME, phase: "run", node: "fb" })
      assert.include(e.detail, "q")
    }))

  it.effect("3. users read the copied result: a single value directly; for a tuple or list, each getitem reads its element and is erased, other users read the tuple or list", () =>
    Effect.gen(function*() {
      const sub = (list: boolean) =>
        graphModule([
          ph("p"),
          fn("relu", ops.RELU, ["%p"]),
          fn("neg", "torch.ops.aten.neg.default", ["%p"]),
          out(list ? ["%relu", "%neg"] : Argument.tuple("%relu", "%neg"))
        ]).gm
      const parent = (list: boolean) =>
        graphModule([
          ph("x"),
          callModule("fb", "fb", ["%x"]),
          getitem("first", "fb", 0),
          getitem("last", "fb", -1),
          fn("add", ops.ADD, ["%first", "%last"]),
          out(Argument.tuple("%add", "%fb"))
        ], (gm) => gm.children.set("fb", sub(list)))
      const tuple = parent(false)
      yield* run(tuple.gm)
      assert.deepStrictEqual(lines(tuple.gm), [
        "x = placeholder[x]()",
        `relu = call_function[${ops.RELU}](%x)`,
        "neg = call_function[torch.ops.aten.neg.default](%x)",
        `add = call_function[${ops.ADD}](%relu, %neg)`,
        "output = output[output]((%add, (%relu, %neg)))"
      ])
      assert.isTrue(tuple.n("first").erased)
      assert.isTrue(tuple.n("last").erased)
      const list = parent(true)
      yield* run(list.gm)
      assert.strictEqual(lines(list.gm).at(-1), "output = output[output]((%add, [%relu, %neg]))")
      Lint.lint(list.gm.graph)
    }))

  it.effect("4. parameters, buffers (with their persistent flag) and constants, nested modules' included, land on the root at their FQNs under new plain modules; a different value at an FQN is refused", () =>
    Effect.gen(function*() {
      const { gm: fallback, weight, bias, scale } = convFallback()
      const constant = tensorOf([2], 7)
      Module.setConstant(fallback, "_tensor_constant0", constant)
      // A nested graph module with state of its own, never called: its state still comes along, by path.
      const nestedWeight = tensorOf([3], 8)
      const nested = graphModule([ph("q"), out("%q")], (m) => Module.registerParameter(m, "w", nestedWeight)).gm
      fallback.children.set("blk", nested)
      fallback.graph.insertingBefore(fallback.graph.outputNode, () => fallback.graph.getAttr("_tensor_constant0"))
      const { gm } = fallbackRoot(fallback)
      yield* run(gm)
      const conv = gm.children.get("conv")
      assert.strictEqual(conv?.kind, "module")
      assert.notStrictEqual(conv, fallback.children.get("conv"))
      assert.strictEqual(conv?.parameters.get("weight"), weight)
      assert.strictEqual(conv?.parameters.get("bias"), bias)
      assert.strictEqual(conv?.buffers.get("scale"), scale)
      assert.isTrue(conv?.nonPersistent.has("scale"))
      assert.strictEqual(gm.constants.get("_tensor_constant0"), constant)
      assert.strictEqual(gm.children.get("blk")?.parameters.get("w"), nestedWeight)
      assert.deepStrictEqual(
        gm.graph.findNodes("get_attr").map((n) => n.target),
        ["conv.weight", "conv.bias", "conv.scale", "_tensor_constant0"]
      )
      Lint.lint(gm.graph)

      // The root already holds conv.weight with another tensor: refused, naming the call.
      const clash = fallbackRoot(convFallback().gm)
      const other = new Module.PlainModule()
      Module.registerParameter(other, "weight", tensorOf([16, 3, 3, 3], 5))
      clash.gm.children.set("conv", other)
      const e = yield* passError(run(clash.gm))
      assertPassError(e, { pass: NAME, phase: "run", node: "_run_on_gpu_0" })
      assert.include(e.detail, "conv.weight")
    }))

  it.effect("5. a nested graph module's call is inlined in turn with its targets prefixed by its path; a get_attr'd subgraph moves to the root at its path; a nested call of a TensorRT or plain module is refused, naming the node", () =>
    Effect.gen(function*() {
      const w = tensorOf([2], 3)
      const blk = () => graphModule([ph("q"), getAttr("w", "w"), fn("mul", ops.MUL, ["%q", "%w"]), out("%mul")], (m) => Module.registerParameter(m, "w", w)).gm
      const outer = (inner: Module.Module) =>
        graphModule([ph("p"), callModule("inner_call", "blk", ["%p"]), fn("neg", "torch.ops.aten.neg.default", ["%inner_call"]), out("%neg")], (sub) => {
          sub.children.set("blk", inner)
        }).gm
      const { gm } = fallbackRoot(outer(blk()))
      yield* run(gm)
      assert.deepStrictEqual(lines(gm), [
        "x = placeholder[x]()",
        "w = get_attr[blk.w]()",
        `mul = call_function[${ops.MUL}](%x, %w)`,
        "neg = call_function[torch.ops.aten.neg.default](%mul)",
        "output = output[output](%neg)"
      ])
      assert.deepStrictEqual(gm.graph.findNodes("call_module"), [])
      assert.strictEqual(gm.children.get("blk")?.parameters.get("w"), w)
      Lint.lint(gm.graph)

      // A higher-order-op subgraph read by get_attr: the same module object, at the root, at its path.
      const branch = graphModule([ph("a"), fn("relu", ops.RELU, ["%a"]), out(Argument.tuple("%relu"))]).gm
      const hop = graphModule([
        ph("p"),
        getAttr("true_graph_0", "true_graph_0"),
        fn("cond", "torch.ops.higher_order.cond", [true, "%true_graph_0", "%true_graph_0", Argument.tuple("%p")]),
        out("%cond")
      ], (sub) => sub.children.set("true_graph_0", branch)).gm
      const withHop = fallbackRoot(hop)
      yield* run(withHop.gm)
      assert.strictEqual(withHop.gm.children.get("true_graph_0"), branch)
      assert.deepStrictEqual(withHop.gm.graph.findNodes("get_attr").map((n) => n.target), ["true_graph_0"])
      Lint.lint(withHop.gm.graph)

      for (const inner of [trtModule("blk"), new Module.PlainModule("torch.nn.modules.linear.Linear")]) {
        const bad = fallbackRoot(outer(inner))
        const e = yield* passError(run(bad.gm))
        assertPassError(e, { pass: NAME, phase: "run", node: "inner_call" })
      }
    }))

  it.effect("6. a module that returns one of its inputs (or a default) returns the value wired to that input", () =>
    Effect.gen(function*() {
      // In a tuple, through getitems.
      const sub = graphModule([ph("p"), ["r", "placeholder", "r", [7]], fn("relu", ops.RELU, ["%p"]), out(Argument.tuple("%relu", "%p", "%r"))]).gm
      const { gm } = graphModule([
        ph("x"),
        callModule("fb", "fb", ["%x"]),
        getitem("g0", "fb", 0),
        getitem("g1", "fb", 1),
        getitem("g2", "fb", 2),
        fn("add", ops.ADD, ["%g0", "%g1"]),
        out(Argument.tuple("%add", "%g2"))
      ], (gm) => gm.children.set("fb", sub))
      yield* run(gm)
      assert.deepStrictEqual(lines(gm), [
        "x = placeholder[x]()",
        `relu = call_function[${ops.RELU}](%x)`,
        `add = call_function[${ops.ADD}](%relu, %x)`,
        "output = output[output]((%add, 7))"
      ])
      // The identity module, read directly.
      const identity = graphModule([ph("p"), out("%p")]).gm
      const direct = graphModule([ph("x"), callModule("fb", "fb", ["%x"]), fn("neg", "torch.ops.aten.neg.default", ["%fb"]), out("%neg")], (gm) =>
        gm.children.set("fb", identity))
      yield* run(direct.gm)
      assert.deepStrictEqual(lines(direct.gm), [
        "x = placeholder[x]()",
        "neg = call_function[torch.ops.aten.neg.default](%x)",
        "output = output[output](%neg)"
      ])
      Lint.lint(direct.gm.graph)
    }))
})

describe("inlineTorchModules: bugs", () => {
  // Regression (was a bug): a keyword argument that names no input of the fallback module is dropped silently
  // (Python raises TypeError; inlineTrtModules refuses an unknown keyword, rule 3 there).
  it.effect("rule 2: a keyword argument that names no placeholder of the fallback module is refused, naming the call", () =>
    Effect.gen(function*() {
      const { gm } = graphModule([ph("x"), ph("y"), callModule("fb", "fb", ["%x"], { w: "%y" }), out("%fb")], (gm) => gm.children.set("fb", reluSub()))
      const e = yield* passError(run(gm))
      assertPassError(e, { pass: NAME, phase: "run", node: "fb" })
    }))
})

describe("inlineTorchModules: bugs (keyword lookup through Object.prototype)", () => {
  // Regression (was a bug): `ph.target in kwargs` also finds inherited properties, so a placeholder named like an
  // Object.prototype member ("constructor", "toString", "valueOf"...) is wired to a JavaScript function
  // instead of its default value (kwargs decoded from a .tgm are plain objects made by Object.fromEntries).
  it.effect("rule 2: a placeholder named \"constructor\" with a default, called without keywords, takes its default", () =>
    Effect.gen(function*() {
      const sub = graphModule([["constructor", "placeholder", "constructor", [2]], fn("relu", ops.RELU, ["%constructor"]), out("%relu")]).gm
      const { gm } = graphModule([ph("x"), callModule("fb", "fb", []), out("%fb")], (gm) => gm.children.set("fb", sub))
      yield* run(gm)
      assert.deepStrictEqual(lines(gm), [
        "x = placeholder[x]()",
        `relu = call_function[${ops.RELU}](2)`,
        "output = output[output](%relu)"
      ])
    }))
})

describe("inlineTorchModules: input state (CompiledModule)", () => {
  for (const rejection of compiledRejections) {
    it.effect(`rejects ${rejection.label}`, () =>
      Effect.gen(function*() {
        const e = yield* passError(inputOf(inlineTorchModules, rejection.make() as never))
        assertPassError(e, { pass: NAME, phase: "requires" })
        assert.include(e.detail, rejection.mentions)
      }))
  }
})

describe("inlineTorchModules: output state (CompiledModule)", () => {
  it.effect("a pass that leaves a call of a plain module fails its ensures check", () =>
    Effect.gen(function*() {
      const broken = breaking(inlineTorchModules, (gm) => {
        addPlainCall(gm)
        return gm
      })
      const e = yield* passError(Pass.apply(broken, yield* asCompiled(convFallbackRoot())))
      assertPassError(e, { pass: "inlineTorchModulesBroken", phase: "ensures" })
      assert.include(e.detail, "plain")

    }))
})



