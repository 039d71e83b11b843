/**
 * The `--max-*` options: the sizes they take, and that each reading command runs under the limits they give.
 */
import { assert, describe, it } from "@effect/vitest"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { parseSize } from "../../src/cli/LimitFlags.ts"

const ROOT = path.join(import.meta.dirname, "../..")
const SAMPLE = "test/fixtures/samples/mlp/input.tgm"

const trtx = (...args: Array<string>) => {
  const r = spawnSync(process.execPath, ["src/cli/bin.ts", ...args], { cwd: ROOT, encoding: "utf8" })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

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

describe("the --max-* options", () => {
  it("a limit set below what an archive needs stops every reading command with the limit's name; above, it reads", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "trtx-limits-"))
    try {
      const pt2 = path.join(dir, "mlp.pt2")
      assert.strictEqual(trtx("export", SAMPLE, "-o", pt2, "--max-json-bytes", "64MiB").code, 0)
      const cases: ReadonlyArray<readonly [ReadonlyArray<string>, RegExp]> = [
        [["inspect", SAMPLE, "--max-json-bytes", "100"], /format\.json: EntryTooLarge: .*Limits\.jsonBytes.*--max-json-bytes/],
        [["verify", pt2, "--max-json-bytes", "100"], /model\.json: EntryTooLarge: .*--max-json-bytes/],
        [["export", SAMPLE, "-o", path.join(dir, "x.pt2"), "--max-entries", "2"], /EntryTooLarge: .*--max-entries/],
        [["load", pt2, "-o", path.join(dir, "y.pt2"), "--max-total-bytes", "1KiB"], /EntryTooLarge: .*--max-total-bytes/],
        [["report", pt2, "-o", path.join(dir, "r.html"), "--max-entry-bytes", "16"], /EntryTooLarge: .*--max-entry-bytes/]
      ]
      for (const [args, message] of cases) {
        const r = trtx(...args)
        assert.strictEqual(r.code, 1, `${args.join(" ")}: ${r.stderr}`)
        assert.match(r.stderr, message, args.join(" "))
      }
      // Nothing was written by the commands that failed.
      assert.deepStrictEqual(fs.readdirSync(dir), ["mlp.pt2"])
      const ok = trtx("inspect", pt2, "--max-json-bytes", "1MiB", "--max-entries", "100")
      assert.strictEqual(ok.code, 0, ok.stderr)
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  }, 60_000)

  it("a size that is not one is a usage error", () => {
    const r = trtx("inspect", SAMPLE, "--max-json-bytes", "lots")
    assert.notStrictEqual(r.code, 0)
    assert.match(r.stdout + r.stderr, /--max-json-bytes: "lots" is not a size/)
  }, 30_000)

  it("report writes through a short temporary name, so a 255-byte output name works", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "trtx-limits-"))
    try {
      const out = path.join(dir, "r".repeat(250) + ".html")
      const r = trtx("report", SAMPLE, "-o", out)
      assert.strictEqual(r.code, 0, r.stderr)
      assert.deepStrictEqual(fs.readdirSync(dir), [path.basename(out)])
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  }, 30_000)
})
