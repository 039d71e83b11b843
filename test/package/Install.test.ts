/**
 * trtx as its users get it: `npm pack`, installed into a fresh project on a machine without a C++ compiler,
 * then a small Effect program there that composes the exporter with a pass of its own, provides the GPU layer
 * (or its no-GPU variant) and writes a `.pt2`, type-checked with `tsc` against the installed types and run
 * with Node. The install takes its packages from npm's cache where `npm ci` put them.
 */
import { assert, describe, it } from "@effect/vitest"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

const ROOT = path.join(import.meta.dirname, "../..")
// npm from PATH: under `npm test`, the pinned Node's folder comes first, so its scripts run on Node 24.
const npm = (args: ReadonlyArray<string>, cwd: string, env: NodeJS.ProcessEnv = process.env) => {
  const r = spawnSync("npm", args, { cwd, env, encoding: "utf8" })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

const node = (args: ReadonlyArray<string>, cwd: string) => {
  const r = spawnSync(process.execPath, args, { cwd, encoding: "utf8" })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

const APP = `import { Effect, Layer } from "effect"
import { Exporter, GraphState, Pass, Pipeline, Pt2, Tgm } from "trtx"
import { Cuda } from "trtx/engine"
import { Lint } from "trtx/graph"

// A pass of the user's own, between the exporter's transform and its program.
const tagEngines = Pass.make({
  name: "tagEngines",
  upstream: "(none: a user pass)",
  requires: GraphState.InlinedModule,
  ensures: GraphState.InlinedModule,
  changesInput: true,
  run: ({ module }) =>
    Effect.sync(() => {
      for (const node of module.graph.findNodes("call_function", "torch.ops.tensorrt.execute_engine.default")) {
        node.meta.custom = { tagged: true }
      }
      return module
    })
})

const pipeline = Exporter.transform().pipe(Pipeline.andThen(tagEngines), Pipeline.andThen(Exporter.toProgram))

const gpu: Layer.Layer<Cuda.Cuda> = process.env.APP_GPU === "1" ? Cuda.Cuda.layer : Cuda.Cuda.layerNoGpu

const main = Effect.gen(function*() {
  const [input = "", output = ""] = process.argv.slice(2)
  const module = yield* Tgm.readFile(input)
  const program = yield* Exporter.run(pipeline, module)
  Lint.lint(program.graphModule.graph)
  yield* Pt2.writeFile(output, program)
  const cuda = yield* Cuda.Cuda
  const devices = yield* Effect.result(cuda.devices)
  const back = yield* Pt2.readFile(output)
  const engines = back.program.graphModule.graph.findNodes("call_function", "torch.ops.tensorrt.execute_engine.default")
  const tagged = engines.filter((n) => JSON.stringify(n.meta.custom) === '{"tagged":true}').length
  return { tagged, gpu: devices._tag === "Success" ? "available" : cuda.status.reason }
})

Effect.runPromise(main.pipe(Effect.provide(gpu))).then((r) => console.log(JSON.stringify(r)))
`

describe("the package, installed", () => {
  it("packs what a user needs, installs without a compiler, and composes in a program of the user's own", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "trtx-package-"))
    try {
      // Packed from a copy of what the build reads, so that its build (npm's prepack) leaves this checkout's
      // dist/ to the other tests.
      const copy = path.join(dir, "trtx")
      for (const f of ["package.json", "package-lock.json", "tsconfig.json", "tsconfig.build.json", "binding.gyp", "README.md", "LICENSE", "src", "scripts", "native"]) {
        fs.cpSync(path.join(ROOT, f), path.join(copy, f), { recursive: true })
      }
      fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(copy, "node_modules"))
      const packed = npm(["pack", "--json", "--pack-destination", dir], copy)
      assert.strictEqual(packed.code, 0, packed.stderr)
      const [info] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf("["))) as Array<{ filename: string; files: Array<{ path: string }> }>
      const files = info!.files.map((f) => f.path)
      for (const f of ["LICENSE", "README.md", "package.json", "binding.gyp", "native/build.cjs", "dist/index.js", "dist/index.d.ts", "dist/engine/index.d.ts", "dist/cli/trtx.js", "dist/program/schemas/torch.json"]) {
        assert.include(files, f)
      }
      for (const f of files) assert.notMatch(f, /^(src|test|bench|scripts|python|examples|native\/tools)\/|\.map$/, `${f} is shipped`)

      const app = path.join(dir, "app")
      fs.mkdirSync(app)
      fs.writeFileSync(path.join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }))
      // No C++ compiler: the addon cannot be built, and the install goes on without it.
      const env = { ...process.env, CXX: "false", CC: "false", npm_config_nodedir: "/nonexistent" }
      const installed = npm(["install", "--no-audit", "--no-fund", "--prefer-offline", "--foreground-scripts", path.join(dir, info!.filename)], app, env)
      assert.strictEqual(installed.code, 0, installed.stderr)
      assert.match(installed.stdout + installed.stderr, /trtx: the native addon is not built/)

      fs.writeFileSync(path.join(app, "main.ts"), APP)
      fs.writeFileSync(path.join(app, "tsconfig.json"), JSON.stringify({
        compilerOptions: {
          target: "ES2024",
          module: "NodeNext",
          moduleResolution: "NodeNext",
          strict: true,
          noEmit: true,
          allowImportingTsExtensions: true,
          verbatimModuleSyntax: true,
          typeRoots: [path.join(ROOT, "node_modules/@types")],
          types: ["node"]
        },
        files: ["main.ts"]
      }))
      const typed = node([path.join(ROOT, "node_modules/typescript/bin/tsc"), "-p", app], app)
      assert.strictEqual(typed.code, 0, typed.stdout + typed.stderr)

      const out = path.join(app, "example.pt2")
      const run = node(["main.ts", path.join(ROOT, "examples/example.tgm"), out], app)
      assert.strictEqual(run.code, 0, run.stderr)
      assert.deepStrictEqual(JSON.parse(run.stdout), { tagged: 4, gpu: "disabled" })
      assert.isTrue(fs.existsSync(out))

      // The GPU layer itself, with the addon not built: its typed reason, and how to build it.
      const gpu = spawnSync(process.execPath, ["-e", `import("trtx/engine").then(async ({ Cuda }) => {
        const { Effect } = await import("effect")
        const cuda = await Effect.runPromise(Effect.provide(Effect.gen(function*() { return yield* Cuda.Cuda }), Cuda.Cuda.layer))
        console.log(cuda.status.reason + " " + cuda.status.detail)
      })`], { cwd: app, encoding: "utf8" })
      assert.match(gpu.stdout, /^addon-not-loaded .*the native addon is not built.*npm run build:addon/, gpu.stderr)

      // Internal modules are not exported.
      const deep = node(["-e", "import('trtx/dist/archive/Json.js').then(() => process.exit(0), (e) => { console.log(e.code); process.exit(0) })"], app)
      assert.strictEqual(deep.stdout.trim(), "ERR_PACKAGE_PATH_NOT_EXPORTED")

      // With a compiler, the addon is built (and nothing else), against the headers build.cjs finds whatever
      // npm's nodedir says.
      const built = path.join(dir, "built")
      fs.mkdirSync(built)
      fs.writeFileSync(path.join(built, "package.json"), JSON.stringify({ name: "built", private: true, type: "module" }))
      const withCompiler = npm(
        ["install", "--no-audit", "--no-fund", "--prefer-offline", "--foreground-scripts", path.join(dir, info!.filename)],
        built,
        { ...process.env, npm_config_nodedir: "/nonexistent" }
      )
      assert.strictEqual(withCompiler.code, 0, withCompiler.stderr)
      const release = fs.readdirSync(path.join(built, "node_modules/trtx/build/Release"))
      assert.include(release, "trtx_native.node")
      assert.notInclude(release, "memcpy_baseline")

      // The command, as npm links it.
      const cli = spawnSync(path.join(app, "node_modules/.bin/trtx"), ["--version"], { cwd: app, encoding: "utf8" })
      assert.strictEqual(cli.stdout.trim(), "trtx v0.1.0", cli.stderr)
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  }, 300_000)
})
