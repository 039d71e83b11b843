/**
 * The in-process benchmarks of `npm run bench` still run against the code as it is: each is run once at a
 * small size and gives a row per size and mode. Timings are the benchmark's business, not asserted here
 * (docs/benchmarks.md); the whole-process and archive benchmarks need the bundle and a gigabyte, and run only
 * in `npm run bench`.
 */
import { assert, describe, it } from "@effect/vitest"
import * as ExporterBench from "../bench/exporter.ts"
import * as GraphBench from "../bench/graph.ts"

describe("bench: the in-process benchmarks run", () => {
  it("the exporter's: every pass of both modes, at each size", () => {
    const rows = ExporterBench.run([500, 1_000])
    assert.deepStrictEqual(rows.map((r) => r.mode), ["plain", "cross", "plain", "cross"])
    for (const r of rows) {
      assert.isAbove(r.exported, 0)
      assert.isAbove(r.passes.length, 4)
      assert.isTrue(r.passes.every(([, ms]) => Number.isFinite(ms) && ms >= 0))
    }
  }, 60_000)

  it("the graph IR's: every operation at each size", () => {
    const rows = GraphBench.run([500, 1_000])
    assert.deepStrictEqual([...new Set(rows.map((r) => r.operation))], ["build", "deepCopy", "eliminateDeadCode", "lint"])
    assert.isTrue(rows.every((r) => Number.isFinite(r.ms) && r.ms >= 0))
  }, 60_000)
})
