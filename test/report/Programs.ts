/**
 * The programs the report tests draw: the samples, the bundled example, and modules of any number of
 * engines from the exporter benchmark's generator (`bench/exporter.ts`: engines and fallback segments
 * alternating, one weight per segment).
 */
import { Effect } from "effect"
import * as path from "node:path"
import * as ExporterBench from "../../bench/exporter.ts"
import * as Tgm from "../../src/archive/tgm/Tgm.ts"
import * as Exporter from "../../src/passes/Exporter.ts"

export const ROOT = path.join(import.meta.dirname, "../..")
export const SAMPLES = path.join(ROOT, "test/fixtures/samples")
export const EXAMPLE = path.join(ROOT, "examples/example.tgm")

/** A sample's program, plain or cross-compiled. */
export const sample = (name: string, crossCompile = false) =>
  Effect.flatMap(Tgm.readFile(path.join(SAMPLES, name, "input.tgm")), (gm) => Exporter.exportModule(gm, { crossCompile }))

/** The bundled example's program. */
export const example = (crossCompile = false) => Effect.flatMap(Tgm.readFile(EXAMPLE), (gm) => Exporter.exportModule(gm, { crossCompile }))

/** The program of a generated module with `engines` engines, each followed by a fallback segment. */
export const generated = (engines: number, crossCompile = false) =>
  Effect.suspend(() => Exporter.exportModule(ExporterBench.build(15 * engines + 2), { crossCompile }))
