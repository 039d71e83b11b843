/**
 * The built-in operator schemas: torch 2.11's table parses in full and prints back as torch printed it, and
 * lookups resolve TensorRT's, torch's, and nothing else.
 */
import { assert, describe, it } from "@effect/vitest"
import { Result } from "effect"
import * as OpSchema from "../../src/graph/OpSchema.ts"
import * as KnownSchemas from "../../src/program/KnownSchemas.ts"

describe("KnownSchemas", () => {
  it("the torch table comes from torch 2.11 and every schema in it parses and prints back as torch printed it", () => {
    const table = KnownSchemas.torchTable()
    assert.match(table.torch, /^2\.11\./)
    assert.isAbove(table.schemas.length, 4000)
    const failures: Array<string> = []
    for (const text of table.schemas) {
      const parsed = OpSchema.parse(text)
      if (Result.isFailure(parsed)) failures.push(`${text}: ${parsed.failure.detail}`)
      else if (OpSchema.print(parsed.success) !== text) failures.push(`${text}: prints as ${OpSchema.print(parsed.success)}`)
    }
    assert.deepStrictEqual(failures.slice(0, 10), [])
  })

  it("resolves torch's operators by the target torch.export writes, and TensorRT's", () => {
    assert.strictEqual(
      OpSchema.print(KnownSchemas.get("torch.ops.aten.add.Tensor")!),
      "aten::add.Tensor(Tensor self, Tensor other, *, Scalar alpha=1) -> Tensor"
    )
    assert.strictEqual(OpSchema.print(KnownSchemas.get("torch.ops.aten.relu.default")!), "aten::relu(Tensor self) -> Tensor")
    assert.strictEqual(OpSchema.print(KnownSchemas.get("torch.ops.aten.sym_size.int")!), "aten::sym_size.int(Tensor self, int dim) -> SymInt")
    assert.strictEqual(KnownSchemas.get("torch.ops.tensorrt.execute_engine.default"), OpSchema.builtin.get("torch.ops.tensorrt.execute_engine.default"))
    // A schema is parsed once: the same object every time.
    assert.strictEqual(KnownSchemas.get("torch.ops.aten.add.Tensor"), KnownSchemas.get("torch.ops.aten.add.Tensor"))
  })

  it("finds every schema of the table by its target, the table being sorted as the lookup's binary search needs", () => {
    const schemas = KnownSchemas.torchTable().schemas
    const unsorted = schemas.findIndex((text, i) => i > 0 && !(schemas[i - 1]! < text))
    assert.strictEqual(unsorted, -1)
    const missed: Array<string> = []
    for (const text of schemas) {
      // `aten::add.Tensor(...)` is called as `torch.ops.aten.add.Tensor`, `aten::relu(...)` as `torch.ops.aten.relu.default`.
      const [ns, qualified] = text.slice(0, text.indexOf("(")).split("::") as [string, string]
      const target = `torch.ops.${ns}.${qualified.includes(".") ? qualified : `${qualified}.default`}`
      const found = KnownSchemas.get(target)
      if (found === undefined || OpSchema.print(found) !== text) missed.push(`${target}: ${found === undefined ? "not found" : OpSchema.print(found)}`)
    }
    assert.deepStrictEqual(missed.slice(0, 10), [])
    // Neighbours in the table whose heads share a prefix resolve to their own schemas, not the next one's.
    assert.isUndefined(KnownSchemas.get("torch.ops.aten.ad.default"))
    assert.isUndefined(KnownSchemas.get("torch.ops.aten.add.Tenso"))
    assert.isUndefined(KnownSchemas.get("torch.ops.aten.add.Tensor.default"))
    assert.isUndefined(KnownSchemas.get("torch.ops.zzzz.add.default"))
    assert.isUndefined(KnownSchemas.get("aten.add.Tensor"))
  })

  it("knows no custom operator", () => {
    assert.isUndefined(KnownSchemas.get("torch.ops.mylib.custom.default"))
    assert.isUndefined(KnownSchemas.get("torch.ops.aten.no_such_op.default"))
  })

  it("operators need a schema; higher-order operators and Python functions do not", () => {
    assert.isTrue(KnownSchemas.needsSchema("torch.ops.aten.add.Tensor"))
    assert.isTrue(KnownSchemas.needsSchema("torch.ops.mylib.custom.default"))
    assert.isFalse(KnownSchemas.needsSchema("torch.ops.higher_order.cond"))
    assert.isFalse(KnownSchemas.needsSchema("_operator.getitem"))
    assert.isFalse(KnownSchemas.needsSchema("_operator.mul"))
    assert.isFalse(KnownSchemas.needsSchema("torch.sym_max"))
    assert.isFalse(KnownSchemas.needsSchema("math.trunc"))
    // Exactly namespace, name and overload after `torch.ops.`.
    for (const target of ["torch.ops.aten.add", "torch.ops.aten.add.Tensor.x", "torch.ops.aten..", "torch.ops.", "torch.ops.aten.add.Tensor."]) {
      assert.strictEqual(KnownSchemas.needsSchema(target), target.split(".").length === 5, target)
    }
  })
})
