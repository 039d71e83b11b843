/**
 * `deepCopy` (the `copy.deepcopy(gm)` that starts upstream `transform`, exporter-semantics §2.2 step 1).
 * The pass's header has no numbered rules; one test per statement of its header (the caller's module is
 * never changed; tensors, storages and engine bytes are shared; the module tree, graphs, nodes and metas
 * are new), one per rejection of its input state (`CompiledModule`), and one for the state it ensures.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Module from "../../src/graph/Module.ts"
import { deepCopy } from "../../src/passes/DeepCopy.ts"
import * as Pass from "../../src/passes/Pass.ts"
import { printModule } from "../utils/GraphBuilder.ts"
import {
  addPlainCall,
  asCompiled,
  assertPassError,
  breaking,
  compiledRejections,
  hybrid,
  lines,
  passError,
  weightedHybrid,
  inputOf
} from "../utils/PassFixtures.ts"

const NAME = "deepCopy"

describe("deepCopy: header", () => {
  it.effect("the caller's module is never changed: the copy is another module, and changing it leaves the original as it was", () =>
    Effect.gen(function*() {
      const { gm } = weightedHybrid()
      const before = printModule(gm)
      const copy = (yield* Pass.apply(deepCopy, yield* asCompiled(gm))).module
      assert.notStrictEqual(copy, gm)
      assert.strictEqual(printModule(copy), before)
      // Mutate the copy every way a later pass does.
      const call = [...copy.graph.nodes()].find((n) => n.name === "_run_on_acc_1")!
      copy.graph.insertingBefore(call, () => copy.graph.getAttr("_run_on_gpu_0"))
      copy.children.delete("_run_on_gpu_0")
      Module.setConstant(copy, "extra", { _tag: "ScriptObject", classFqn: "x", state: [] })
      copy.graph.nodes().next().value!.meta.val = null
      assert.strictEqual(printModule(gm), before)
    }))

  it.effect("tensors, storages and engine bytes are shared; modules, graphs, nodes and meta records are new; aliasing is kept", () =>
    Effect.gen(function*() {
      const { gm, fallback, weight } = weightedHybrid()
      // `_run_on_gpu_0` also under a second name: one object in the copy too.
      gm.children.set("alias", fallback)
      gm.symbols = new Map([["s0", { hint: 4, min: 1, max: 8 }]])
      const copy = (yield* Pass.apply(deepCopy, yield* asCompiled(gm))).module
      const fb = copy.children.get("_run_on_gpu_0") as Module.GraphModule
      assert.notStrictEqual(fb, fallback)
      assert.strictEqual(copy.children.get("alias"), fb)
      assert.notStrictEqual(fb.children.get("conv"), fallback.children.get("conv"))
      assert.strictEqual(fb.children.get("conv")?.parameters.get("weight"), weight)
      assert.strictEqual(fb.children.get("conv")?.parameters.get("weight")?.storage, weight.storage)
      assert.isTrue(fb.children.get("conv")?.nonPersistent.has("scale"))
      const trt = gm.children.get("_run_on_acc_1") as Module.TrtModule
      const trtCopy = copy.children.get("_run_on_acc_1") as Module.TrtModule
      assert.notStrictEqual(trtCopy, trt)
      assert.strictEqual(trtCopy.packedEngineInfo, trt.packedEngineInfo)
      assert.strictEqual(trtCopy.packedEngineInfo[3], trt.packedEngineInfo[3])
      assert.notStrictEqual(copy.graph, gm.graph)
      const originals = [...gm.graph.nodes()]
      const copies = [...copy.graph.nodes()]
      assert.deepStrictEqual(lines(copy), lines(gm))
      copies.forEach((node, i) => {
        assert.notStrictEqual(node, originals[i])
        assert.notStrictEqual(node.meta, originals[i]!.meta)
        assert.strictEqual(node.meta.val, originals[i]!.meta.val)
      })
      assert.strictEqual(copy.inSpec, gm.inSpec)
      assert.strictEqual(copy.outSpec, gm.outSpec)
      assert.notStrictEqual(copy.symbols, gm.symbols)
      assert.deepStrictEqual([...copy.symbols!], [["s0", { hint: 4, min: 1, max: 8 }]])
    }))
})

describe("deepCopy: input state (CompiledModule)", () => {
  for (const rejection of compiledRejections) {
    it.effect(`rejects ${rejection.label}`, () =>
      Effect.gen(function*() {
        const e = yield* passError(inputOf(deepCopy, rejection.make() as never))
        assertPassError(e, { pass: NAME, phase: "requires" })
        assert.include(e.detail, rejection.mentions)
      }))
  }
})

describe("deepCopy: output state (CompiledModule)", () => {
  it.effect("a copy that calls a plain module fails the ensures check", () =>
    Effect.gen(function*() {
      const broken = breaking(deepCopy, (gm) => {
        addPlainCall(gm)
        return gm
      })
      const { gm } = hybrid()
      const e = yield* passError(Pass.apply(broken, yield* asCompiled(gm)))
      assertPassError(e, { pass: "deepCopyBroken", phase: "ensures" })
      assert.include(e.detail, "plain")
      // The caller's module is still untouched: the broken state was the copy's.
      assert.isFalse(lines(gm).some((l) => l.includes("plain")))
      assert.isFalse(gm.children.has("plain"))
    }))
})
