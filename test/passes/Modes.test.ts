/**
 * Every pass says whether it changes its input (`Pass.changesInput`, ir-py's `changes_input`) and keeps its
 * word. Over random partitioned modules, plain and cross-compiled, each pass of the export and load
 * pipelines runs on its own input: one that says it does not change its input leaves a deep snapshot of it
 * (graphs, names, arguments, metadata, module tree, tensor bytes, specs) equal, whether it succeeds or fails;
 * one that does returns the module it was given. `Pass.apply` refuses a pass that breaks the second promise.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { Cuda } from "../../src/engine/Cuda.ts"
import * as GraphModule from "../../src/graph/GraphModule.ts"
import * as Module from "../../src/graph/Module.ts"
import { checkEngines } from "../../src/passes/CheckEngines.ts"
import { cleanup } from "../../src/passes/Cleanup.ts"
import { deepCopy } from "../../src/passes/DeepCopy.ts"
import { createExportedProgram } from "../../src/passes/ExportSignature.ts"
import * as GraphState from "../../src/passes/GraphState.ts"
import { inlineTorchModules } from "../../src/passes/InlineTorchModules.ts"
import { inlineTrtModules } from "../../src/passes/InlineTrtModules.ts"
import { lift } from "../../src/passes/Lift.ts"
import * as Pass from "../../src/passes/Pass.ts"
import { PassError } from "../../src/passes/PassError.ts"
import { replaceNoOpPlaceholders } from "../../src/passes/ReplaceNoOpPlaceholders.ts"
import { build, PartitionedRecipe } from "../utils/PartitionedRecipe.ts"
import { singleEngine } from "../utils/PassFixtures.ts"
import { describeModule, describeProgram } from "../utils/RandomProgram.ts"

// A deep snapshot of the user's module or of any state a pass takes: a module, a lifted module (with its
// specs and state), a program.
const snapshot = (state: GraphState.GraphState | Module.GraphModule): string => {
  if (state instanceof Module.GraphModule) return JSON.stringify([describeModule(state), null], replacer)
  switch (state._tag) {
    case "ExportedProgram":
      return JSON.stringify([describeProgram(state), describeModule(state.graphModule)], replacer)
    case "LiftedModule": {
      const { inputSpecs, stateDict, constants } = state
      return JSON.stringify([describeModule(state.module), { inputSpecs, stateDict, constants }], replacer)
    }
    case "CompiledModule":
    case "InlinedModule":
      return JSON.stringify([describeModule(state.module), null], replacer)
  }
}
const replacer = (_: string, v: unknown) =>
  typeof v === "bigint" ? `${v}n` : v instanceof Map ? [...v] : v instanceof Uint8Array ? Buffer.from(v).toString("base64") : v

// Runs `pass` on `input` and checks its word; gives the output where it succeeded.
const keepsItsWord = <I extends GraphState.GraphState, O extends GraphState.GraphState, R>(
  pass: Pass.Pass<I, O, R>,
  input: I
): Effect.Effect<O | undefined, never, R> =>
  Effect.gen(function*() {
    const before = pass.changesInput ? undefined : snapshot(input)
    const exit = yield* Effect.exit(Pass.apply(pass, input))
    if (pass.changesInput) {
      if (Exit.isSuccess(exit)) assert.strictEqual(GraphState.moduleOf(exit.value), GraphState.moduleOf(input), `${pass.name} returns its input's module`)
    } else {
      assert.strictEqual(snapshot(input), before, `${pass.name} says it does not change its input`)
    }
    return Exit.isSuccess(exit) ? exit.value : undefined
  })

// How many modules went through the whole export, by mode: the property must reach the later passes.
const reached = { plain: 0, cross: 0 }

const pipelineKeepsItsWord = (gm: Module.GraphModule, crossCompile: boolean) =>
  Effect.gen(function*() {
    const compiled = yield* Effect.exit(GraphState.CompiledModule.make(gm))
    if (Exit.isFailure(compiled)) return
    const copied = yield* keepsItsWord(deepCopy, compiled.value)
    if (copied === undefined) return
    const trt = yield* keepsItsWord(inlineTrtModules({ crossCompile }), copied)
    const torch = trt === undefined ? undefined : yield* keepsItsWord(inlineTorchModules, trt)
    const clean = torch === undefined ? undefined : yield* keepsItsWord(cleanup, torch)
    const lifted = clean === undefined ? undefined : yield* keepsItsWord(lift, clean)
    const program = lifted === undefined ? undefined : yield* keepsItsWord(createExportedProgram, lifted)
    if (program === undefined) return
    reached[crossCompile ? "cross" : "plain"]++
    // The load side: the GPU check (here without a GPU: it fails, and must still leave its input alone),
    // then the placeholders back to engine calls.
    yield* keepsItsWord(checkEngines, program).pipe(Effect.provide(Cuda.layerNoGpu))
    yield* keepsItsWord(replaceNoOpPlaceholders, program)
  })

describe("every pass keeps its word on changing its input", () => {
  it("each of trtx's passes declares it", () => {
    const declared = [deepCopy, inlineTrtModules(), inlineTorchModules, cleanup, lift, createExportedProgram, replaceNoOpPlaceholders, checkEngines]
      .map((p) => [p.name, p.changesInput])
    assert.deepStrictEqual(declared, [
      ["deepCopy", false],
      ["inlineTrtModules", true],
      ["inlineTorchModules", true],
      ["cleanup", true],
      ["lift", true],
      ["createExportedProgram", true],
      ["replaceNoOpPlaceholders", false],
      ["checkEngines", false]
    ])
  })

  it.effect.prop(
    "random partitioned modules, plain and cross-compiled: a snapshot of what a pass says it keeps stays equal",
    { recipe: PartitionedRecipe },
    ({ recipe }) =>
      Effect.gen(function*() {
        const gm = build(recipe)
        const original = snapshot(gm)
        yield* pipelineKeepsItsWord(gm, false)
        yield* pipelineKeepsItsWord(gm, true)
        // The user's module: the pipelines start by copying it.
        assert.strictEqual(snapshot(gm), original)
      }),
    { timeout: 60_000, arbitrary: { runs: 60 } }
  )

  it("the property reached every pass: most modules went through the whole export, plain and cross-compiled", () => {
    assert.isAbove(reached.plain, 30)
    assert.isAbove(reached.cross, 30)
  })

  it.effect("a pass that says it changes its input but returns another module is refused", () =>
    Effect.gen(function*() {
      const liar = Pass.make({
        name: "liar",
        upstream: "(none: a test pass)",
        requires: GraphState.CompiledModule,
        ensures: GraphState.CompiledModule,
        changesInput: true,
        run: ({ module }) => Effect.sync(() => GraphModule.deepCopy(module))
      })
      const { gm } = singleEngine()
      const e = yield* Effect.flip(Pass.apply(liar, yield* GraphState.CompiledModule.make(gm)))
      assert.instanceOf(e, PassError)
      assert.strictEqual(e.phase, "ensures")
      assert.match(e.detail, /says it changes its input, but returned another module/)
    }))
})
