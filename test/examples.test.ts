import { assert, it } from "@effect/vitest"
import { Effect } from "effect"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { example } from "../examples/build-and-lint.ts"

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
    const result = yield* exportTagged("test/fixtures/samples/mlp/input.tgm")
    assert.deepStrictEqual(result.tagged, ["execute_engine_default", "execute_engine_default_1"])
    assert.deepStrictEqual(result.passes, [
      "deepCopy", "inlineTrtModules", "inlineTorchModules", "cleanup", "tagEngines", "lift", "createExportedProgram"
    ])
  }))

it.effect("the README's pt2 example writes an archive and reads the same program back", () =>
  Effect.gen(function*() {
    const { exportToPt2 } = yield* Effect.promise(() => import("../examples/export-pt2.ts"))
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "trtx-example-"))
    try {
      const result = yield* exportToPt2("test/fixtures/samples/single_engine/input.tgm", path.join(dir, "m.pt2"))
      assert.deepStrictEqual(result.inputs, ["CustomObj _run_on_acc_0_engine_1", "UserInput x"])
      assert.deepStrictEqual(result.nodes, ["_run_on_acc_0_engine_1", "x", "execute_engine_default", "getitem", "output"])
      assert.isAbove(result.bytes, 0)
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  }))

it("npm start's job: the bundled example exports with its schemas", () => {
  const pkg = JSON.parse(fs.readFileSync("package.json", "utf8")) as { scripts: Record<string, string> }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "trtx-start-"))
  try {
    // The start script's own arguments, with the output moved to a temporary folder.
    const args = pkg.scripts["start"]!.split(" ").slice(1).map((a) => (a === "out/example.pt2" ? path.join(dir, "example.pt2") : a))
    const r = spawnSync(process.execPath, args, { encoding: "utf8" })
    assert.strictEqual(r.status, 0, r.stderr)
    assert.match(r.stdout, /exported program: 14 nodes, 2 engines, 4 weights/)
    assert.isTrue(fs.existsSync(path.join(dir, "example.pt2")))
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}, 30_000)
