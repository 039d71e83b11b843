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
