import { assert, it } from "@effect/vitest"
import { Effect } from "effect"
import { example } from "../examples/build-and-lint.ts"

it.effect("the README's graph example runs and gives fx's names", () =>
  Effect.gen(function*() {
    const result = yield* example
    assert.deepStrictEqual(result.names, ["x", "scale", "mul_tensor", "relu_default", "output"])
    assert.isTrue(result.removed)
    assert.strictEqual(result.readBack, 5)
  }))

it.effect("the README's exporter example runs a user pass between transform and toProgram", () =>
  Effect.gen(function*() {
    const { exportTagged } = yield* Effect.promise(() => import("../examples/custom-pass.ts"))
    const result = yield* exportTagged("test/fixtures/samples/mlp/input.tgm")
    assert.deepStrictEqual(result.tagged, ["execute_engine_default", "execute_engine_default_1"])
    assert.deepStrictEqual(result.passes, [
      "deepCopy", "inlineTrtModules", "inlineTorchModules", "cleanup", "tagEngines", "lift", "createExportedProgram"
    ])
  }))
