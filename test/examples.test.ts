import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { spawnSync } from "node:child_process"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { example } from "../examples/build-and-lint.ts"
import * as Reader from "../src/archive/pt2/Reader.ts"
import * as Writer from "../src/archive/pt2/Writer.ts"
import * as Tgm from "../src/archive/tgm/Tgm.ts"
import * as Module from "../src/graph/Module.ts"
import * as Exporter from "../src/passes/Exporter.ts"
import * as OpSchema from "../src/graph/OpSchema.ts"
import * as Summary from "../src/program/Summary.ts"

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
    const result = yield* exportTagged("examples/example.tgm")
    assert.deepStrictEqual(result.tagged, ["execute_engine_default", "execute_engine_default_1", "execute_engine_default_2", "execute_engine_default_3"])
    assert.deepStrictEqual(result.passes, [
      "deepCopy", "inlineTrtModules", "inlineTorchModules", "cleanup", "tagEngines", "lift", "createExportedProgram"
    ])
  }))

describe("the README's pt2 example", () => {
  const run = (tgm: string) =>
    Effect.gen(function*() {
      const { exportToPt2 } = yield* Effect.promise(() => import("../examples/export-pt2.ts"))
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "trtx-example-"))
      try {
        return yield* exportToPt2(tgm, path.join(dir, "m.pt2"))
      } finally {
        fs.rmSync(dir, { recursive: true, force: true })
      }
    })

  it.effect("exports the bundled example (aten fallback ops, schemas in the archive) and reads it back", () =>
    Effect.gen(function*() {
      const result = yield* run("examples/example.tgm")
      assert.deepStrictEqual(result.inputs.filter((i) => i.startsWith("UserInput")), ["UserInput x"])
      assert.include(result.nodes, "execute_engine_default")
      assert.isAbove(result.bytes, 0)
    }))

  it.effect("exports a module whose archive carries no schemas: torch's are built in", () =>
    Effect.gen(function*() {
      const result = yield* run("test/fixtures/samples/mlp/input.tgm")
      assert.include(result.nodes, "gelu")
      assert.isAbove(result.bytes, 0)
    }))

  it.effect("exports a module without aten ops", () =>
    Effect.gen(function*() {
      const result = yield* run("test/fixtures/samples/single_engine/input.tgm")
      assert.deepStrictEqual(result.inputs, ["CustomObj _run_on_acc_0_engine_1", "UserInput x"])
      assert.deepStrictEqual(result.nodes, ["_run_on_acc_0_engine_1", "x", "execute_engine_default", "getitem", "output"])
    }))
})

it("npm start's job: the bundled example exports with the operator schemas it carries", () => {
  const pkg = JSON.parse(fs.readFileSync("package.json", "utf8")) as { scripts: Record<string, string> }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "trtx-start-"))
  try {
    // The start script's own arguments, with the output moved to a temporary folder.
    const args = pkg.scripts["start"]!.split(" ").slice(1).map((a) => (a === "out/example.pt2" ? path.join(dir, "example.pt2") : a))
    const r = spawnSync(process.execPath, args, { encoding: "utf8" })
    assert.strictEqual(r.status, 0, r.stderr)
    assert.match(r.stdout, /exported program: 21 nodes, 4 engines, 2 weights \(128 B\), 7 inputs, 1 output/)
    assert.isTrue(fs.existsSync(path.join(dir, "example.pt2")))
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}, 30_000)

// What python/examples/make_example.py recorded when it built and dumped the example.
interface Manifest {
  readonly segments: ReadonlyArray<string>
  readonly engines: ReadonlyArray<string>
  readonly fallback_segments: ReadonlyArray<string>
  readonly unowned_engines: ReadonlyArray<string>
  readonly fallback_parameters: ReadonlyArray<string>
  readonly op_schemas: ReadonlyArray<string>
  readonly sha256: Readonly<Record<string, string>>
}

describe("the bundled example (python/examples/make_example.py)", () => {
  const manifest = JSON.parse(fs.readFileSync("examples/example.manifest.json", "utf8")) as Manifest
  const sha256 = (file: string) => createHash("sha256").update(fs.readFileSync(file)).digest("hex")

  it("the manifest describes these very files", () => {
    assert.strictEqual(sha256("examples/example.tgm"), manifest.sha256["example.tgm"])
    assert.strictEqual(sha256("test/fixtures/example/ref.pt2"), manifest.sha256["example_ref.pt2"])
    assert.strictEqual(sha256("test/fixtures/example/ref_cross.pt2"), manifest.sha256["example_ref_cross.pt2"])
  })

  it.effect("has the engines and fallback segments the builder made, with their weights and schemas", () =>
    Effect.gen(function*() {
      const module = yield* Tgm.readFile("examples/example.tgm")
      const schemas = module.opSchemas ?? new Map()
      const calls = [...module.graph.nodes()].filter((n) => n.op === "call_module").map((n) => n.target)
      assert.deepStrictEqual(calls, manifest.segments)
      assert.isAtLeast(manifest.engines.length, 2)
      assert.isAtLeast(manifest.fallback_segments.length, 2)
      const kinds = new Map([...module.children].map(([name, child]) => [name, child.kind]))
      for (const name of manifest.engines) assert.strictEqual(kinds.get(name), "trt_module", name)
      for (const name of manifest.fallback_segments) assert.strictEqual(kinds.get(name), "graph_module", name)
      const summary = Summary.ofModule(module)
      assert.deepStrictEqual(summary.engines.map((e) => e.where), manifest.engines)
      assert.deepStrictEqual(summary.problems, [])
      assert.deepStrictEqual([...Module.stateDict(module).keys()].sort(), [...manifest.fallback_parameters].sort())
      assert.deepStrictEqual([...schemas.values()].map(OpSchema.print), manifest.op_schemas)
      // The engine that feeds the output was marked unowned: its packed record differs from the live one.
      for (const name of manifest.engines) {
        const trt = module.children.get(name) as Module.TrtModule
        assert.strictEqual(trt.engineState !== undefined, manifest.unowned_engines.includes(name), name)
      }
    }))

  for (const crossCompile of [false, true]) {
    it.effect(`trtx's ${crossCompile ? "cross-compiled" : "plain"} export has the reference exporter's program, up to the order of lifted inputs`, () =>
      Effect.gen(function*() {
        const module = yield* Tgm.readFile("examples/example.tgm")
        // Both programs as torch.export.load sees them: written, then read (the reader adds the getitems that
        // an archive records as a call's outputs).
        const bytes = yield* Writer.toBytes(yield* Exporter.exportModule(module, { crossCompile }))
        const ours = Summary.ofProgram((yield* Reader.readBytes(bytes, "ours.pt2")).program)
        const file = crossCompile ? "test/fixtures/example/ref_cross.pt2" : "test/fixtures/example/ref.pt2"
        const ref = Summary.ofProgram((yield* Reader.readFile(file)).program)
        assert.strictEqual(ours.nodes, ref.nodes)
        assert.deepStrictEqual(ours.byTarget, ref.byTarget)
        assert.strictEqual(ours.engines.length, manifest.engines.length)
        const byName = (xs: ReadonlyArray<Summary.SignatureEntry> | null) => [...(xs ?? [])].sort((a, b) => a.name.localeCompare(b.name))
        // trtx puts lifted inputs in canonical order (docs/divergences.md); as sets they are the reference's.
        assert.deepStrictEqual(byName(ours.inputs), byName(ref.inputs))
        assert.deepStrictEqual(ours.inputs?.filter((i) => i.kind === "UserInput"), ref.inputs?.filter((i) => i.kind === "UserInput"))
        assert.deepStrictEqual(ours.outputs, ref.outputs)
      }))
  }
})

