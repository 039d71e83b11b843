/**
 * The sizes the `--max-*` options take.
 */
import { assert, describe, it } from "@effect/vitest"
import { parseSize } from "../../src/cli/LimitFlags.ts"

describe("LimitFlags.parseSize", () => {
  it("reads bytes and binary units", () => {
    assert.strictEqual(parseSize("123"), 123)
    assert.strictEqual(parseSize("1B"), 1)
    assert.strictEqual(parseSize("4KiB"), 4096)
    assert.strictEqual(parseSize("512MiB"), 512 * 2 ** 20)
    assert.strictEqual(parseSize(" 2 GiB "), 2 * 2 ** 30)
    assert.strictEqual(parseSize("1TiB"), 2 ** 40)
  })

  it("refuses what is not a positive whole size", () => {
    for (const text of ["", "0", "-1", "1.5GiB", "2GB", "2gib", "GiB", "1e9", "9007199254740993", "8388608TiB"]) {
      assert.isUndefined(parseSize(text), text)
    }
  })
})
