/**
 * Summaries of compiled modules and programs: the same engines are found in the three places an engine can
 * be held (a TensorRT module, an engine constant, a no-op node's packed record), and the counts add up.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as path from "node:path"
import * as Tgm from "../../src/archive/tgm/Tgm.ts"
import * as Module from "../../src/graph/Module.ts"
import * as Exporter from "../../src/passes/Exporter.ts"
import * as Summary from "../../src/program/Summary.ts"

const SAMPLES = path.join(import.meta.dirname, "../fixtures/samples")
const CASES = ["cnn_bn", "first_gpu", "kwargs_pytree", "mlp", "multi_out", "single_engine", "synth_1k"]
const sortedNames = (s: Summary.Summary) => s.engines.map((e) => `${e.name}/${e.bytes}`).sort()

describe("Summary", () => {
  for (const name of CASES) {
    it.effect(`${name}: one engine list in the module, the plain, cross and loaded programs`, () =>
      Effect.gen(function*() {
        const gm = yield* Tgm.readFile(path.join(SAMPLES, name, "input.tgm"))
        const module = Summary.ofModule(gm)
        const trtModules = Module.namedModules(gm).filter(([, m]) => m instanceof Module.TrtModule)
        assert.strictEqual(module.engines.length, trtModules.length)
        assert.strictEqual(module.nodes, Object.values(module.byOp).reduce((a, b) => a + b, 0))
        assert.isNull(module.inputs)
        const plain = Summary.ofProgram(yield* Exporter.exportModule(gm))
        const cross = yield* Exporter.exportModule(gm, { crossCompile: true })
        const crossSummary = Summary.ofProgram(cross)
        const loaded = Summary.ofProgram(yield* Exporter.load(cross))
        // A module called twice has one engine constant but two no-op nodes: compare distinct records.
        const distinct = (s: Summary.Summary) => [...new Set(sortedNames(s))]
        assert.deepStrictEqual(distinct(plain), distinct(module))
        assert.deepStrictEqual(distinct(crossSummary), distinct(module))
        assert.deepStrictEqual(distinct(loaded), distinct(module))
        for (const s of [module, plain, crossSummary, loaded]) assert.deepStrictEqual(s.problems, [])
        assert.strictEqual(plain.weightBytes, module.weightBytes)
        const placeholders = plain.byOp["placeholder"] ?? 0
        assert.strictEqual(plain.inputs!.length, placeholders)
      }))
  }
})
