/**
 * `cleanup` (the last steps of upstream `transform`, exporter-semantics §2.2 steps 4-6:
 * `delete_all_unused_submodules`, `eliminate_dead_code`, `lint`, in that order). The pass's header has no
 * numbered rules; one test per step it names, one for the order's consequence, one per rejection of its
 * input state (`CompiledModule`), and for the state it ensures (`InlinedModule`).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Argument from "../../src/graph/Argument.ts"
import * as Module from "../../src/graph/Module.ts"
import { cleanup } from "../../src/passes/Cleanup.ts"
import { inlineTorchModules } from "../../src/passes/InlineTorchModules.ts"
import { inlineTrtModules } from "../../src/passes/InlineTrtModules.ts"
import * as Pass from "../../src/passes/Pass.ts"
import {
  asCompiled,
  assertPassError,
  breaking,
  callModule,
  compiledRejections,
  fn,
  getAttr,
  graphModule,
  hybrid,
  lines,
  meta,
  ops,
  out,
  passError,
  ph,
  trtModule,
  tval,
  unorderedModule,
  weightedHybrid,
  inputOf
} from "../utils/PassFixtures.ts"

const NAME = "cleanup"

/** Runs the two inlining passes, as `transform` does before cleanup. */
const inlined = (gm: Module.GraphModule) =>
  Effect.flatMap(asCompiled(gm), (m) => Pass.apply(inlineTrtModules(), m)).pipe(Effect.flatMap((m) => Pass.apply(inlineTorchModules, m)))

describe("cleanup: header", () => {
  it.effect("delete_all_unused_submodules: the inlined TensorRT and fallback modules go; state the graph reads stays", () =>
    Effect.gen(function*() {
      const { gm } = weightedHybrid()
      const m = yield* inlined(gm)
      assert.deepStrictEqual([...m.module.children.keys()], ["_run_on_gpu_0", "_run_on_acc_1", "conv"])
      const result = (yield* Pass.apply(cleanup, m)).module
      assert.deepStrictEqual([...result.children.keys()], ["conv"])
      assert.deepStrictEqual([...result.children.get("conv")!.parameters.keys()], ["weight", "bias"])
      assert.deepStrictEqual([...result.constants.keys()], ["_run_on_acc_1_engine"])
    }))

  it.effect("eliminate_dead_code: an engine whose outputs are all unused is removed (execute_engine is not impure)", () =>
    Effect.gen(function*() {
      const { gm } = graphModule([
        ph("x", meta(tval())),
        callModule("_run_on_acc_0", "_run_on_acc_0", ["%x"], {}, [tval()]),
        callModule("_run_on_acc_1", "_run_on_acc_1", ["%x"], {}, [tval()]),
        fn("unused", ops.RELU, ["%_run_on_acc_1"]),
        out(Argument.tuple("%_run_on_acc_0"))
      ], (gm) => {
        gm.children.set("_run_on_acc_0", trtModule("_run_on_acc_0"))
        gm.children.set("_run_on_acc_1", trtModule("_run_on_acc_1"))
      })
      const m = yield* Pass.apply(inlineTrtModules(), yield* asCompiled(gm))
      const result = (yield* Pass.apply(cleanup, m)).module
      assert.deepStrictEqual(lines(result), [
        "x = placeholder[x]()",
        "_run_on_acc_0_engine = get_attr[_run_on_acc_0_engine]()",
        "execute_engine_default = call_function[torch.ops.tensorrt.execute_engine.default]((%x,), %_run_on_acc_0_engine)",
        "getitem = call_function[_operator.getitem](%execute_engine_default, 0)",
        "output = output[output]((%getitem,))"
      ])
      assert.deepStrictEqual([...result.children.keys()], [])
    }))

  it.effect("the order: a submodule read only by a dead node survives (unused submodules are deleted before dead code)", () =>
    Effect.gen(function*() {
      const branch = graphModule([ph("a"), fn("relu", ops.RELU, ["%a"]), out(Argument.tuple("%relu"))]).gm
      const { gm } = graphModule([ph("x"), getAttr("dead_branch", "branch"), fn("relu", ops.RELU, ["%x"]), out("%relu")], (gm) =>
        gm.children.set("branch", branch))
      const result = (yield* Pass.apply(cleanup, yield* asCompiled(gm))).module
      assert.deepStrictEqual(lines(result), ["x = placeholder[x]()", `relu = call_function[${ops.RELU}](%x)`, "output = output[output](%relu)"])
      assert.strictEqual(result.children.get("branch"), branch)
    }))

  it.effect("lint: the result is an inlined module; a call_module left behind fails the ensured state (InlinedModule)", () =>
    Effect.gen(function*() {
      // cleanup given a module whose TensorRT call was never inlined.
      const e = yield* passError(Pass.apply(cleanup, yield* asCompiled(hybrid().gm)))
      assertPassError(e, { pass: NAME, phase: "ensures" })
      assert.include(e.detail, "_run_on_acc_0")
      // The closing lint: a graph out of order fails the pass's own run, naming the node.
      const e2 = yield* passError(Pass.apply(cleanup, yield* asCompiled(unorderedModule())))
      assertPassError(e2, { pass: NAME, phase: "run", node: "neg" })
    }))
})

describe("cleanup: input state (CompiledModule)", () => {
  for (const rejection of compiledRejections) {
    it.effect(`rejects ${rejection.label}`, () =>
      Effect.gen(function*() {
        const e = yield* passError(inputOf(cleanup, rejection.make() as never))
        assertPassError(e, { pass: NAME, phase: "requires" })
        assert.include(e.detail, rejection.mentions)
      }))
  }
})

describe("cleanup: output state (InlinedModule)", () => {
  it.effect("a cleanup that leaves a TensorRT module in the tree fails its ensures check", () =>
    Effect.gen(function*() {
      const broken = breaking(cleanup, (gm) => {
        gm.children.set("_run_on_acc_9", trtModule("_run_on_acc_9"))
        return gm
      })
      const m = yield* inlined(hybrid().gm)
      const e = yield* passError(Pass.apply(broken, m))
      assertPassError(e, { pass: "cleanupBroken", phase: "ensures" })
      assert.include(e.detail, "_run_on_acc_9")
    }))
})
