/**
 * Memory benchmark: how many bytes a graph node takes, and how much an exported program keeps. Measured as
 * the growth of V8's used heap across a full collection (`--expose-gc`, which `npm run bench` passes).
 * Printed, never asserted: docs/benchmarks.md records the figures.
 */
import { Effect } from "effect"
import * as v8 from "node:v8"
import * as Exporter from "../src/passes/Exporter.ts"
import * as ExporterBench from "./exporter.ts"
import * as GraphBench from "./graph.ts"

export interface Result {
  /** Bytes per node of a copy of a 100k-node graph (the copy's nodes, arguments, metas, names and users). */
  readonly bytesPerCopiedNode: number
  /** Bytes the exported program of a 50k-node synthetic module keeps, in all and per exported node. */
  readonly exportedProgramBytes: number
  readonly bytesPerExportedNode: number
}

const collect: () => void = (globalThis as { gc?: () => void }).gc ?? (() => {})

// The heap kept by what `make` returns: measured around it, each side after a full collection.
const kept = <A>(make: () => A): { readonly value: A; readonly bytes: number } => {
  collect()
  const before = v8.getHeapStatistics().used_heap_size
  const value = make()
  collect()
  return { value, bytes: v8.getHeapStatistics().used_heap_size - before }
}

export const run = (): Result => {
  const graph = GraphBench.build(100_000).graph
  const copy = kept(() => graph.copy())
  const root = ExporterBench.build(50_000)
  Effect.runSync(Exporter.exportModule(root)) // warm-up: compiled code is not counted
  const program = kept(() => Effect.runSync(Exporter.exportModule(root)))
  return {
    bytesPerCopiedNode: copy.bytes / copy.value.size,
    exportedProgramBytes: program.bytes,
    bytesPerExportedNode: program.bytes / program.value.graphModule.graph.size
  }
}
