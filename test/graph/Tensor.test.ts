/**
 * The tensor rules (`Tensor.check`, `Tensor.checkInBounds`, `Tensor.bytesSpanned`) and the range rules
 * (`ValueRange.check`), one case per rule: every layout torch's `as_strided` accepts is accepted (views that
 * end at the storage's end, 0-d views at the last element, stride-0 views, empty views anywhere), and each
 * refusal names its field and quotes torch where torch has the rule.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Tensor from "../../src/graph/Tensor.ts"
import * as ValueRange from "../../src/graph/ValueRange.ts"

const layout = (l: Partial<Tensor.Layout> & Pick<Tensor.Layout, "shape">): Tensor.Layout => ({
  dtype: "float32",
  stride: Tensor.contiguousStride(l.shape.map(Number)),
  storageOffset: 0,
  requiresGrad: false,
  ...l
})
const concrete = (l: Partial<Tensor.Layout> & Pick<Tensor.Layout, "shape">) =>
  layout(l) as Tensor.Layout & { readonly shape: ReadonlyArray<number>; readonly stride: ReadonlyArray<number>; readonly storageOffset: number }

describe("Tensor.checkInBounds: the layouts torch accepts", () => {
  it("a view with an offset that ends exactly at the storage's end", () => {
    // 24 bytes = 6 float32; [2] at offset 4 reaches elements 4 and 5.
    const t = concrete({ shape: [2], storageOffset: 4 })
    assert.strictEqual(Tensor.bytesSpanned(t), 24n)
    assert.isUndefined(Tensor.checkInBounds(t, 24))
    // One element further is out: torch's message, with the bytes it needs.
    const past = Tensor.checkInBounds(concrete({ shape: [2], storageOffset: 5 }), 24)
    assert.strictEqual(past?.field, "storage")
    assert.include(past!.detail, "setStorage: sizes [2], strides [1], storage offset 5, and itemsize 4 requiring a storage size of 28")
    assert.include(past!.detail, "are out of bounds for storage of size 24")
  })

  it("a 0-d view at the last element, and one past it", () => {
    assert.isUndefined(Tensor.checkInBounds(concrete({ shape: [], storageOffset: 5 }), 24))
    assert.isDefined(Tensor.checkInBounds(concrete({ shape: [], storageOffset: 6 }), 24))
  })

  it("stride-0 (overlapping) views reach no further than their first element along that dimension", () => {
    const t = concrete({ shape: [1000, 3], stride: [0, 1], storageOffset: 3 })
    assert.strictEqual(Tensor.bytesSpanned(t), 24n)
    assert.isUndefined(Tensor.checkInBounds(t, 24))
    assert.isUndefined(Tensor.checkInBounds(concrete({ shape: [4, 4], stride: [0, 0], storageOffset: 5 }), 24))
  })

  it("non-contiguous and transposed views", () => {
    // A [3, 2] view of a 2×3 storage, transposed (A.5 of the spec): strides [1, 3].
    assert.isUndefined(Tensor.checkInBounds(concrete({ dtype: "float32", shape: [3, 2], stride: [1, 3] }), 24))
    assert.isDefined(Tensor.checkInBounds(concrete({ dtype: "float32", shape: [3, 2], stride: [1, 4] }), 24))
  })

  it("an empty view needs no storage, wherever its offset points", () => {
    assert.isUndefined(Tensor.checkInBounds(concrete({ shape: [0, 3] }), 0))
    assert.isUndefined(Tensor.checkInBounds(concrete({ shape: [5, 0], storageOffset: 10 ** 15 }), 0))
    assert.strictEqual(Tensor.bytesSpanned(concrete({ shape: [0], storageOffset: 7 })), 0n)
  })

  it("counts in bytes of the dtype", () => {
    assert.strictEqual(Tensor.bytesSpanned(concrete({ dtype: "complex128", shape: [2] })), 32n)
    assert.strictEqual(Tensor.bytesSpanned(concrete({ dtype: "bool", shape: [3], storageOffset: 1 })), 4n)
  })
})

describe("Tensor.check: what torch refuses", () => {
  const refused = (l: Tensor.Layout, field: Tensor.Violation["field"], quote: string, index?: number) => {
    const v = Tensor.check(l)
    assert.isDefined(v, JSON.stringify(l))
    assert.strictEqual(v!.field, field)
    assert.strictEqual(v!.index, index)
    assert.include(v!.detail, quote)
  }

  it("accepts what torch builds, symbolic entries included", () => {
    assert.isUndefined(Tensor.check(layout({ shape: [2, 3] })))
    assert.isUndefined(Tensor.check(layout({ shape: [] })))
    assert.isUndefined(Tensor.check(layout({ shape: ["s0", 3], stride: [3, 1] })))
    assert.isUndefined(Tensor.check(layout({ shape: [2], stride: [0] })))
    assert.isUndefined(Tensor.check(layout({ shape: [2], dtype: "bfloat16", requiresGrad: true })))
    assert.isUndefined(Tensor.check(layout({ shape: [2], dtype: "complex64", requiresGrad: true })))
  })

  it("negative sizes, strides and offsets, with torch's messages", () => {
    refused(layout({ shape: [2, -1], stride: [1, 1] }), "shape", "Trying to create tensor with negative dimension -1: [2, -1]", 1)
    refused(layout({ shape: [2, 3], stride: [3, -1] }), "stride", "as_strided: Negative strides are not supported at the moment, got strides: [3, -1]", 1)
    refused(layout({ shape: [2], storageOffset: -4 }), "storageOffset", "Tensor: invalid storage offset -4")
  })

  it("requires_grad only on floating point and complex dtypes", () => {
    for (const dtype of ["int64", "int8", "uint8", "bool", "uint16"]) {
      refused(layout({ shape: [2], dtype, requiresGrad: true }), "requiresGrad", "Only Tensors of floating point and complex dtype can require gradients")
    }
  })

  it("byte spans beyond int64, counted exactly (2^78 elements; and one byte over 2^63 - 1)", () => {
    refused(layout({ shape: [2 ** 39, 2 ** 39] }), "shape", "Storage size calculation overflowed with sizes=[549755813888, 549755813888]")
    // 2^61 int64 elements are 2^64 bytes; 2^60 - 1 elements of 8 bytes fit, 2^60 do not (2^63 bytes).
    refused(layout({ shape: [2 ** 30, 2 ** 30], stride: [2 ** 30, 1], dtype: "int64" }), "shape", "Storage size calculation overflowed")
    assert.isUndefined(Tensor.check(layout({ shape: [2 ** 30, 2 ** 29], stride: [2 ** 29, 1], dtype: "int64" })))
    // The element count must fit an int64 whatever the strides (stride 0 spans one element).
    refused(layout({ shape: [2 ** 31, 2 ** 31, 3], stride: [0, 0, 0] }), "shape", "numel: integer multiplication overflow")
    assert.isUndefined(Tensor.check(layout({ shape: [2 ** 31, 2 ** 31, 1], stride: [0, 0, 0] })))
    // An empty view spans nothing, however large its other sizes.
    assert.isUndefined(Tensor.check(layout({ shape: [0, 2 ** 52, 2 ** 52], stride: [1, 1, 1] })))
  })

  it("one stride per size, a known dtype, and ints held exactly", () => {
    refused(layout({ shape: [2, 3], stride: [1] }), "stride", "mismatch in length of strides and shape")
    refused(layout({ shape: [2], dtype: "float128" }), "dtype", "float128")
    refused(layout({ shape: [2 ** 60], stride: [1] }), "shape", "not an integer trtx holds exactly", 0)
    refused(layout({ shape: [1.5], stride: [1] }), "shape", "not an integer", 0)
  })
})

describe("ValueRange.check", () => {
  it("accepts ranges that hold their hint, unbounded ends included", () => {
    assert.isUndefined(ValueRange.check({ min: 2, max: 64 }, 8))
    assert.isUndefined(ValueRange.check({ min: 2, max: 2 }, 2))
    assert.isUndefined(ValueRange.check({ min: 0, max: null }, 10 ** 9))
    assert.isUndefined(ValueRange.check({ min: null, max: null }, null))
  })

  it("refuses min > max with torch's message, and a hint outside the range", () => {
    const inverted = ValueRange.check({ min: 5, max: 3 })
    assert.strictEqual(inverted?.field, "min")
    assert.include(inverted!.detail, "Invalid ranges [5:3]")
    const outside = ValueRange.check({ min: 2, max: 8 }, 9)
    assert.strictEqual(outside?.field, "hint")
    assert.include(outside!.detail, "[2, 8]")
    assert.strictEqual(ValueRange.check({ min: 2, max: null }, 1)?.field, "hint")
  })

  it("refuses bounds trtx cannot hold exactly, printed as they were parsed", () => {
    const big = ValueRange.check({ min: 0, max: 9223372036854775806n })
    assert.strictEqual(big?.field, "max")
    assert.include(big!.detail, "9223372036854775806")
    assert.isUndefined(ValueRange.check({ min: 0n, max: 64n }))
  })
})

describe("Tensor.check: quick acceptance agrees with the exact rules", () => {
  // The rules of `check`, counted with bigints: whether a layout breaks none.
  const STORAGE_MAX = 2n ** 63n - 1n
  const accepts = (t: Tensor.Layout): boolean => {
    const size = Tensor.itemSize(t.dtype)
    if (size === undefined || t.stride.length !== t.shape.length) return false
    const entries = [...t.shape, ...t.stride, t.storageOffset]
    if (entries.some((x) => typeof x === "number" && (!Number.isSafeInteger(x) || x < 0))) return false
    if (t.requiresGrad && !Tensor.isDifferentiable(t.dtype)) return false
    if (entries.every((x) => typeof x === "number")) {
      const shape = t.shape as ReadonlyArray<number>
      const stride = t.stride as ReadonlyArray<number>
      let last = BigInt(t.storageOffset as number)
      const empty = shape.some((x) => x === 0)
      shape.forEach((x, i) => void (last += BigInt(Math.max(x - 1, 0)) * BigInt(stride[i]!)))
      if (!empty && (last + 1n) * BigInt(size) > STORAGE_MAX) return false
    }
    if (t.shape.every((x) => typeof x === "number")) {
      if ((t.shape as ReadonlyArray<number>).reduce((a, x) => a * BigInt(x), 1n) > STORAGE_MAX) return false
    }
    return true
  }

  it("on random layouts around 2^53 and 2^63, negative, symbolic and unknown entries included", () => {
    let seed = 3
    const r = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32)
    const pick = <A>(xs: ReadonlyArray<A>): A => xs[Math.floor(r() * xs.length)]!
    const entry = () =>
      pick<number | string>([0, 1, 2, 3, 7, 64, 1000, 2 ** 20, 2 ** 26, 2 ** 31, 2 ** 40, 2 ** 52, 2 ** 53 - 1, 2 ** 53, 2 ** 62, -1, 1.5, -0, "s0", "2*s0"])
    for (let i = 0; i < 20000; i++) {
      const n = Math.floor(r() * 4)
      const t: Tensor.Layout = {
        dtype: pick(["float32", "float64", "int64", "bool", "float8_e4m3fn", "nope"]),
        shape: Array.from({ length: n }, entry),
        stride: Array.from({ length: r() < 0.95 ? n : n + 1 }, entry),
        storageOffset: entry(),
        requiresGrad: r() < 0.2
      }
      assert.strictEqual(Tensor.check(t) === undefined, accepts(t), JSON.stringify(t))
    }
  })
})
