import { assert, describe, it } from "@effect/vitest"
import { Result } from "effect"
import * as Render from "../../src/cli/Render.ts"
import * as OpSchema from "../../src/graph/OpSchema.ts"
import * as SymExprParser from "../../src/graph/SymExprParser.ts"

const failure = <A, E>(r: Result.Result<A, E>): E => {
  if (Result.isSuccess(r)) return assert.fail("expected a failure")
  return r.failure
}

describe("Render.error", () => {
  it("prints a message as one line, every control character escaped", () => {
    const lines = Render.error(new Error("archive/x\nerror: all good\r\t\u001b[2K"))
    assert.deepStrictEqual(lines, ["error: archive/x\\x0aerror: all good\\x0d\\x09\\x1b[2K"])
  })

  it("draws a caret under a schema's fault, on lines of its own", () => {
    const e = failure(OpSchema.parse("aten::add(Tensr self) -> Tensor"))
    assert.deepStrictEqual(Render.error(e), [
      "error: Syntax at 10: unknown type 'Tensr' in aten::add(Tensr self) -> Tensor",
      "  aten::add(Tensr self) -> Tensor",
      "            ^"
    ])
  })

  it("draws a caret under an expression's fault", () => {
    const e = failure(SymExprParser.parse("2*s0 +"))
    assert.strictEqual(Render.error(e).length, 3)
    assert.strictEqual(Render.error(e)[2], `  ${" ".repeat(e.offset)}^`)
  })

  it("draws no caret under a text that would not show as it is", () => {
    const e = failure(OpSchema.parse("aten::add(Tensr\nself) -> Tensor"))
    const lines = Render.error(e)
    assert.strictEqual(lines.length, 1)
    assert.include(lines[0]!, "\\x0a")
  })
})
