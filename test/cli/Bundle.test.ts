/**
 * The shipped CLI is one bundled file (`npm run build` → `dist/cli/trtx.js`, `package.json`'s `bin`). It must
 * do what the sources do: the same bytes for the same command, the operator table found beside it, the same
 * exit codes, and the GPU layer's typed error where there is no GPU.
 */
import { assert, describe, it } from "@effect/vitest"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

const ROOT = path.join(import.meta.dirname, "../..")
const BUNDLE = path.join(ROOT, "dist/cli/trtx.js")

const run = (entry: string, args: ReadonlyArray<string>) => {
  const r = spawnSync(process.execPath, [entry, ...args], { cwd: ROOT, encoding: "utf8" })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

describe("the bundled CLI", () => {
  it("npm run build writes it, and it runs as the sources do", () => {
    const build = spawnSync(process.execPath, ["scripts/build.ts"], { cwd: ROOT, encoding: "utf8" })
    assert.strictEqual(build.status, 0, build.stderr)
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"))
    assert.strictEqual(path.join(ROOT, pkg.bin.trtx), BUNDLE)

    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "trtx-bundle-"))
    try {
      assert.strictEqual(run(BUNDLE, ["--version"]).stdout.trim(), run("src/cli/bin.ts", ["--version"]).stdout.trim())
      for (const [i, entry] of [BUNDLE, "src/cli/bin.ts"].entries()) {
        fs.mkdirSync(path.join(dir, `${i}`))
        // kwargs_pytree calls aten operators whose schemas come from the built-in table beside the bundle.
        const r = run(entry, ["export", "test/fixtures/samples/kwargs_pytree/input.tgm", "-o", path.join(dir, `${i}`, "k.pt2"), "--cross-compile", "--quiet"])
        assert.strictEqual(r.code, 0, r.stderr)
      }
      assert.isTrue(fs.readFileSync(path.join(dir, "0/k.pt2")).equals(fs.readFileSync(path.join(dir, "1/k.pt2"))), "the bundle wrote other bytes")
      const bad = run(BUNDLE, ["verify", path.join(ROOT, "package.json")])
      assert.strictEqual(bad.code, run("src/cli/bin.ts", ["verify", path.join(ROOT, "package.json")]).code)
      const gpu = run(BUNDLE, ["load", path.join(dir, "0/k.pt2"), "-o", path.join(dir, "l.pt2"), "--check-gpu"])
      if (gpu.code !== 0) assert.match(gpu.stderr, /^error: \S+\.pt2: checkEngines: /m, "without a GPU, the GPU layer's located error")
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  }, 120_000)

  it("starts with the command line only: what the commands do, the report and the GPU layer are chunks imported when needed", () => {
    // Run after the build above (the files run in order).
    const cli = path.join(ROOT, "dist/cli")
    const text = (file: string) => fs.readFileSync(path.join(cli, file), "utf8")
    // The files a file imports statically, transitively, and those it imports with `import()`.
    const closure = (roots: ReadonlyArray<string>): Set<string> => {
      const seen = new Set<string>()
      const visit = (file: string) => {
        if (seen.has(file)) return
        seen.add(file)
        for (const m of text(file).matchAll(/(?:^|[;\n])\s*import\s[^;]*?from\s*"\.\/([^"]+)"/g)) visit(m[1]!)
      }
      roots.forEach(visit)
      return seen
    }
    const dynamic = (files: Iterable<string>) => [...files].flatMap((f) => [...text(f).matchAll(/import\("\.\/(chunk-[^"]+)"\)/g)].map((m) => m[1]!))
    const startup = closure(["trtx-main.js"])
    assert.isAbove(startup.size, 1, "the bundle imports its shared chunks statically")
    const loaded = [...startup].map(text).join("\n")
    // esbuild heads each bundled module with a comment naming its source.
    for (const folder of ["src/archive/tgm/", "src/archive/pt2/", "src/archive/zip/", "src/graph/", "src/passes/", "src/program/", "src/report/"]) {
      assert.notInclude(loaded, `// ${folder}`, `${folder} is in the start-up bundle`)
    }
    assert.notInclude(loaded, "<!doctype html>", "the report's page is in the start-up bundle")
    assert.notInclude(loaded, "var checkEngines", "the GPU check is in the start-up bundle")
    // Everything a command may import, step by step from the start-up graph.
    const all = new Set(startup)
    for (let next = dynamic(all); next.some((f) => !all.has(f)); next = dynamic(all)) for (const f of closure(next)) all.add(f)
    const lazyText = [...all].filter((f) => !startup.has(f)).map(text).join("\n")
    assert.include(lazyText, "// src/passes/Exporter.ts")
    assert.include(lazyText, "<!doctype html>")
    assert.include(lazyText, "checkEngines")
  })
})
