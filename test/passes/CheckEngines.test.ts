/**
 * `checkEngines`, the load side's GPU check, on the mlp sample's cross-compiled program (two engines built
 * on an NVIDIA H100, sm 9.0) against stand-in GPU lists: it passes on a matching GPU and the engines are
 * then put back; it names the engine and its no-op node where no GPU fits; it fails, saying why, where
 * CUDA is unavailable. Nothing is deserialized.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as Tgm from "../../src/archive/tgm/Tgm.ts"
import { checkEngines } from "../../src/passes/CheckEngines.ts"
import { Cuda, type DeviceProperties } from "../../src/engine/Cuda.ts"
import { IncompatibleEngine } from "../../src/engine/EngineError.ts"
import * as Exporter from "../../src/passes/Exporter.ts"
import { PassError } from "../../src/passes/PassError.ts"
import * as Summary from "../../src/program/Summary.ts"

const SAMPLE = "test/fixtures/samples/mlp/input.tgm"

const device = (name: string, major: number, minor: number): DeviceProperties => ({
  ordinal: 0, name, uuid: "", major, minor, multiProcessorCount: 0, l2CacheBytes: 0, memoryBusWidthBits: 0, pciBusId: "", totalMemory: 0
})

// The no-GPU service with the given devices visible: all the check reads.
const withDevices = (devices: ReadonlyArray<DeviceProperties>) =>
  Layer.effect(Cuda, Effect.gen(function*() {
    const base = yield* Effect.provide(Effect.gen(function*() { return yield* Cuda }), Cuda.layerNoGpu)
    return Cuda.of({ ...base, devices: Effect.succeed(devices) })
  }))

const crossCompiled = Effect.gen(function*() {
  return yield* Exporter.exportModule(yield* Tgm.readFile(SAMPLE), { crossCompile: true })
})

describe("checkEngines", () => {
  it.effect("passes on a GPU of the engines' compute capability; the engines are then put back", () =>
    Effect.gen(function*() {
      const loaded = yield* Exporter.load(yield* crossCompiled, { check: checkEngines })
      assert.strictEqual(Summary.ofProgram(loaded).engines.length, 2)
    }).pipe(Effect.provide(withDevices([device("NVIDIA H100 80GB HBM3", 9, 0)]))))

  it.effect("names the engine and its node where no GPU fits, before anything is replaced", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Exporter.load(yield* crossCompiled, { check: checkEngines }))
      assert.instanceOf(error, PassError)
      assert.strictEqual(error.pass, "checkEngines")
      assert.isDefined(error.node)
      assert.instanceOf(error.cause, IncompatibleEngine)
      assert.match(
        error.message,
        /^checkEngines \(node .+\): engine "_run_on_acc_\d_engine" cannot run here: it was built for NVIDIA H100 80GB HBM3 \(sm_90\); this machine has 0: NVIDIA A100-SXM4-80GB \(sm_80\)$/
      )
    }).pipe(Effect.provide(withDevices([device("NVIDIA A100-SXM4-80GB", 8, 0)]))))

  it.effect("checks engines already held as constants too (a program loaded before)", () =>
    Effect.gen(function*() {
      const plain = yield* Exporter.exportModule(yield* Tgm.readFile(SAMPLE))
      const error = yield* Effect.flip(Exporter.load(plain, { check: checkEngines }))
      assert.instanceOf(error.cause, IncompatibleEngine)
    }).pipe(Effect.provide(withDevices([]))))

  it.effect("where CUDA is unavailable the check fails and says why: a check not made is not a pass", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Exporter.load(yield* crossCompiled, { check: checkEngines }))
      assert.strictEqual(
        error.message,
        "checkEngines: cannot check the engines against this machine's GPU: CUDA is unavailable (disabled): the no-GPU layer (Cuda.layerNoGpu) is in use"
      )
    }).pipe(Effect.provide(Cuda.layerNoGpu)))
})
