/**
 * Folding (`Fold.ts`): a long run of engines and fallback segments becomes its first box, one fold and its
 * last box, whatever its length; short runs and branchy stretches stay as they are; every box of the flow is
 * shown once, as itself or inside a fold, and every edge of the flow is an edge of the folded picture between
 * the items that show its ends.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import type { ExportedProgram } from "../../src/program/ExportedProgram.ts"
import * as Flow from "../../src/report/Flow.ts"
import * as Fold from "../../src/report/Fold.ts"
import * as Programs from "./Programs.ts"
import * as Summary from "../../src/program/Summary.ts"

// The folded picture keeps the flow: each box shown once, each edge kept (between the items of its ends).
const checkKept = (flow: Flow.Flow, folded: Fold.Folded, label: string) => {
  const shown = folded.items.flatMap((i) => (i._tag === "Box" ? [i.id] : i.members))
  assert.deepStrictEqual([...shown].sort((a, b) => a - b), flow.boxes.map((b) => b.id).sort((a, b) => a - b), label)
  const edges = new Set(folded.edges.map(([a, b]) => `${a}>${b}`))
  for (const [a, b] of flow.edges) {
    const from = folded.itemOf.get(a)!
    const to = folded.itemOf.get(b)!
    if (from !== to) assert.isTrue(edges.has(`${from}>${to}`), `${label}: edge ${a}>${b}`)
  }
  assert.strictEqual(edges.size, folded.edges.length, `${label}: each edge once`)
}

// A flow from kinds and edges, layers by longest path (as Flow.ofProgram gives them).
const flowOf = (kinds: ReadonlyArray<Flow.Box["kind"]>, edges: ReadonlyArray<readonly [number, number]>): Flow.Flow => {
  const layer = kinds.map(() => 0)
  for (let round = 0; round < kinds.length; round++) for (const [a, b] of edges) layer[b] = Math.max(layer[b]!, layer[a]! + 1)
  return {
    boxes: kinds.map((kind, id) => ({
      id,
      kind,
      title: `${kind} ${id}`,
      lines: [],
      layer: layer[id]!,
      record: {
        size: "",
        engine: null,
        inputs: { items: [], total: 0 },
        outputs: { items: [], total: 0 },
        ops: [],
        nodes: { items: [], total: 0 },
        note: ""
      }
    })),
    edges
  }
}

describe("Fold", () => {
  it.effect("the example and the samples: nothing folded (no run is longer than FOLD_ABOVE)", () =>
    Effect.gen(function*() {
      const programs: Array<readonly [string, ExportedProgram]> = [["example", yield* Programs.example()]]
      for (const name of ["cnn_bn", "first_gpu", "kwargs_pytree", "mlp", "multi_out", "single_engine"]) {
        programs.push([name, yield* Programs.sample(name)])
      }
      for (const [name, ep] of programs) {
        const flow = Flow.ofProgram(ep)
        const folded = Fold.fold(flow)
        assert.strictEqual(folded.items.length, flow.boxes.length, name)
        assert.deepStrictEqual(folded.edges, flow.edges, name)
        checkKept(flow, folded, name)
      }
    }))

  it.effect("the example's run: its first engine and the engine after the residual stretch are cuts", () =>
    Effect.gen(function*() {
      const flow = Flow.ofProgram(yield* Programs.example())
      const runs = Fold.runs(flow)
      assert.strictEqual(runs.length, 1)
      const titles = runs[0]!.map((id) => flow.boxes[id]!.title)
      assert.deepStrictEqual(titles.filter((t) => t.endsWith("_engine")), [
        "_run_on_acc_0_engine",
        "_run_on_acc_2_engine",
        "_run_on_acc_4_engine",
        "_run_on_acc_6_engine"
      ])
      assert.strictEqual(runs[0]!.length, 7)
      // Folding every run longer than 2 keeps the first and last engine and folds the five between.
      const folded = Fold.fold(flow, 2)
      const fold = folded.items.find((i) => i._tag === "Fold")
      assert.isDefined(fold)
      assert.strictEqual(fold._tag === "Fold" ? fold.members.length : 0, 5)
      checkKept(flow, folded, "example folded at 2")
    }))

  it.effect("synth_1k (engines with a skip connection past each fallback segment): one fold of 109 between the first and last engine", () =>
    Effect.gen(function*() {
      for (const cross of [false, true]) {
        const flow = Flow.ofProgram(yield* Programs.sample("synth_1k", cross))
        const folded = Fold.fold(flow)
        const folds = folded.items.filter((i) => i._tag === "Fold")
        assert.strictEqual(folds.length, 1)
        const fold = folds[0]!
        assert.strictEqual(fold._tag === "Fold" && fold.members.length, 109)
        assert.strictEqual(fold.title, "×109 engine/fallback segments")
        assert.deepStrictEqual(folded.items.filter((i) => i._tag === "Box").map((i) => i._tag === "Box" && i.box.kind), [
          "weights",
          "input",
          "engine",
          "engine",
          "output"
        ])
        checkKept(flow, folded, "synth_1k")
      }
    }))

  it.effect("1,000 and 5,000 generated engines: the same six items, the fold holding all but the ends", () =>
    Effect.gen(function*() {
      for (const engines of [1_000, 5_000]) {
        const flow = Flow.ofProgram(yield* Programs.generated(engines))
        assert.strictEqual(flow.boxes.filter((b) => b.kind === "engine").length, engines)
        const folded = Fold.fold(flow)
        assert.strictEqual(folded.items.length, 6, String(engines))
        const fold = folded.items.find((i) => i._tag === "Fold")
        assert.strictEqual(fold?._tag === "Fold" && fold.members.length, 2 * engines - 2)
        assert.strictEqual(fold?._tag === "Fold" && fold.lines[0], `${engines - 1} engines · ${Summary.bytes(50 * (engines - 1))}`)
        checkKept(flow, folded, String(engines))
      }
    }), 60_000)

  it("a run of 10 alternating boxes folds to first, ×8, last; 8 boxes do not fold", () => {
    for (const n of [10, 8]) {
      const kinds: Array<Flow.Box["kind"]> = ["input", ...Array.from({ length: n }, (_, i): Flow.Box["kind"] => (i % 2 === 0 ? "engine" : "fallback")), "output"]
      const edges = kinds.slice(1).map((_, i) => [i, i + 1] as const)
      const flow = flowOf(kinds, edges)
      const folded = Fold.fold(flow)
      checkKept(flow, folded, String(n))
      if (n === 8) assert.strictEqual(folded.items.length, kinds.length)
      else {
        assert.strictEqual(folded.items.length, 5)
        const fold = folded.items.find((i) => i._tag === "Fold")
        assert.deepStrictEqual(fold?._tag === "Fold" && fold.members, [2, 3, 4, 5, 6, 7, 8, 9])
        assert.deepStrictEqual(folded.edges, [[0, 1], [1, 12], [12, 10], [10, 11]])
      }
    }
  })

  it("a branch out of the middle of a run, or a stretch of more than BLOCK boxes, ends the run", () => {
    // 0 input, 1..12 a chain, with 6 also feeding the output (13): 6's successor is not alone, and the edge
    // 6 → 13 passes over 7..12, which are no cuts; 1..6 is a run of 6, not folded.
    const kinds: Array<Flow.Box["kind"]> = ["input", ...Array.from({ length: 12 }, (_, i): Flow.Box["kind"] => (i % 2 === 0 ? "engine" : "fallback")), "output"]
    const edges = [...kinds.slice(1).map((_, i) => [i, i + 1] as const), [6, 13] as const]
    const folded = Fold.fold(flowOf(kinds, edges))
    assert.strictEqual(folded.items.length, kinds.length)
    // Four parallel segments between two engines: a stretch wider than BLOCK; the chains either side are
    // runs of their own.
    const wide: Array<Flow.Box["kind"]> = ["input", "engine", "fallback", "fallback", "fallback", "fallback", "engine", "output"]
    const wideEdges = [[0, 1], [1, 2], [1, 3], [1, 4], [1, 5], [2, 6], [3, 6], [4, 6], [5, 6], [6, 7]] as const
    assert.deepStrictEqual(Fold.runs(flowOf(wide, wideEdges)), [])
    // Three are a stretch a run may hold.
    const three = [[0, 1], [1, 2], [1, 3], [1, 4], [2, 5], [3, 5], [4, 5], [5, 6]] as const
    assert.deepStrictEqual(Fold.runs(flowOf(["input", "engine", "fallback", "fallback", "fallback", "engine", "output"], three)), [[1, 2, 3, 4, 5]])
  })
})
