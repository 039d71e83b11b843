import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { pathToFileURL } from "node:url"
import * as TempFile from "../../../src/archive/zip/TempFile.ts"
import * as Zip from "../../../src/archive/zip/Zip.ts"
import * as ZipWriter from "../../../src/archive/zip/ZipWriter.ts"

const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "trtx-temp-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

const small: ReadonlyArray<ZipWriter.ZipWriteEntry> = [{ name: "a.txt", data: new TextEncoder().encode("hello"), compress: true }]

const readAll = (file: string) =>
  Effect.scoped(Effect.gen(function*() {
    const zip = yield* Zip.open({ _tag: "File", path: file })
    return new TextDecoder().decode(yield* zip.read("a.txt"))
  }))

// Above Linux's largest pid_max (2^22), so no process can have it.
const DEAD = 4194305

describe("temporary names", () => {
  it("are short whatever the output is called, and recognisably ours", () => {
    const name = path.basename(TempFile.make("/some/dir"))
    assert.isAtMost(Buffer.byteLength(name), 31)
    assert.strictEqual(TempFile.ownerOf(name), process.pid)
    assert.notStrictEqual(path.basename(TempFile.make("/some/dir")), name)
  })

  it.effect("an output name of 255 bytes (the file system's most) is written and read back", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      for (const base of ["a".repeat(251) + ".pt2", "é".repeat(125) + "x.pt2"]) {
        assert.strictEqual(Buffer.byteLength(base), 255)
        const target = path.join(dir, base)
        yield* ZipWriter.writeFile(target, small)
        assert.strictEqual(yield* readAll(target), "hello")
        assert.deepStrictEqual(fs.readdirSync(dir), [base])
        fs.rmSync(target)
      }
    }))
})

describe("temporary files of killed writes", () => {
  it.effect("are removed by a later write into the directory only when ours and their pid is gone", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const stale = `.trtx-${DEAD}-0123456789ab.tmp`
      const kept = [
        `.trtx-1-0123456789ab.tmp`, // pid 1 is alive (EPERM or not, it is there)
        `.trtx-${process.pid}-0123456789ab.tmp`, // this process: maybe a write in flight
        `.trtx-${DEAD}-0123456789AB.tmp`, // not our hex
        `.trtx-${DEAD}-0123456789a.tmp`, // too short
        `.trtx-${DEAD}-0123456789ab.tmp.bak`,
        `trtx-${DEAD}-0123456789ab.tmp`,
        `.trtx-0${DEAD}-0123456789ab.tmp`,
        `.trtx-${DEAD}0-0123456789ab.tmp`, // eight digits: no pid of ours
        `.out.zip.${DEAD}.0123456789ab.tmp`, // the old naming: not recognised, not touched
        "unrelated.pt2"
      ]
      for (const name of [stale, ...kept]) fs.writeFileSync(path.join(dir, name), "x")
      // A directory and a link of a matching name and a dead pid are not files of ours either.
      const asDirectory = `.trtx-${DEAD + 1}-0123456789ab.tmp`
      const asLink = `.trtx-${DEAD + 2}-0123456789ab.tmp`
      fs.mkdirSync(path.join(dir, asDirectory))
      fs.symlinkSync(path.join(dir, "unrelated.pt2"), path.join(dir, asLink))
      yield* ZipWriter.writeFile(path.join(dir, "out.pt2"), small)
      assert.deepStrictEqual(fs.readdirSync(dir).sort(), [...kept, asDirectory, asLink, "out.pt2"].sort())
      assert.strictEqual(fs.readFileSync(path.join(dir, "unrelated.pt2"), "utf8"), "x")
    }))

  it.live("a write killed with SIGKILL leaves its file, and the next write into the directory removes it", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const target = path.join(dir, "big.pt2")
      fs.writeFileSync(target, "the old archive")
      const zipModule = pathToFileURL(path.resolve("src/archive/zip/ZipWriter.ts")).href
      // The child's chunk list gives one MiB and then never gives the next (its iterator spins), so the write is
      // surely mid-way when killed: the writer consumes a chunk list as it writes it.
      const script = `
        import { Effect } from "effect"
        import * as ZipWriter from ${JSON.stringify(zipModule)}
        const chunk = new Uint8Array(1 << 20)
        const chunks = [chunk, chunk]
        chunks[Symbol.iterator] = function*() { yield chunk; for (;;) {} }
        Effect.runPromise(ZipWriter.writeFile(${JSON.stringify(target)}, [{ name: "big", data: chunks, compress: false }]))
      `
      const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "ignore", "pipe"] })
      let stderr = ""
      child.stderr.on("data", (c: Buffer) => void (stderr += c.toString()))
      const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on("exit", (_code, signal) => resolve(signal)))
      const temp = `.trtx-${child.pid}-`
      const started = Date.now()
      const tempOf = () => fs.readdirSync(dir).find((n) => n.startsWith(temp))
      while (tempOf() === undefined || fs.statSync(path.join(dir, tempOf()!)).size < 2 ** 20) {
        assert.isBelow(Date.now() - started, 20_000, `the child never started writing: ${stderr}`)
        yield* Effect.sleep("20 millis")
      }
      child.kill("SIGKILL")
      assert.strictEqual(yield* Effect.promise(() => exited), "SIGKILL")
      const left = tempOf()!
      assert.strictEqual(TempFile.ownerOf(left), child.pid)
      assert.deepStrictEqual(fs.readdirSync(dir).sort(), [left, "big.pt2"].sort(), "the killed write left its file")
      assert.strictEqual(fs.readFileSync(target, "utf8"), "the old archive")
      yield* ZipWriter.writeFile(path.join(dir, "next.pt2"), small)
      assert.deepStrictEqual(fs.readdirSync(dir).sort(), ["big.pt2", "next.pt2"])
    }), 30_000)
})
