/**
 * The `Cuda` service without a GPU (CI): the no-GPU layer, the real layer on a machine whose CUDA is
 * unusable, and an addon that does not load all say why, and every entry point fails with that typed
 * error; arguments are checked first, the same way with or without a GPU.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { Cuda } from "../../src/engine/Cuda.ts"
import { CudaError, CudaUnavailable, TensorRTUnavailable } from "../../src/engine/EngineError.ts"
import * as Native from "../../src/engine/Native.ts"
import * as TrtEngine from "../../src/engine/TrtEngine.ts"
import * as EngineRecord from "../../src/program/EngineRecord.ts"
import { EngineRecordError } from "../../src/program/EngineRecordError.ts"

const gpu = (() => {
  const loaded = Native.load()
  return loaded._tag === "Success" && loaded.success.status().available
})()

const record: EngineRecord.Abi7Record = {
  abi: "7",
  name: "e_engine",
  device: { gpuId: 0, major: 9, minor: 0, deviceType: 0, deviceName: "NVIDIA H100 80GB HBM3" },
  engine: new Uint8Array([1, 2, 3]),
  inputBindingNames: ["x"],
  outputBindingNames: ["output0"],
  hardwareCompatible: false,
  serializedMetadata: "",
  targetPlatform: "linux_x86_64",
  requiresOutputAllocator: false
}

// Every entry point of the service, each as an Effect to run in a Scope.
const entryPoints = (cuda: Cuda["Service"]) => ({
  devices: cuda.devices,
  memInfo: cuda.memInfo(),
  deviceBuffer: cuda.deviceBuffer(1024),
  hostBuffer: cuda.hostBuffer(1024),
  stream: cuda.stream()
})

const unusable = [
  ["Cuda.layerNoGpu", Cuda.layerNoGpu, "disabled"],
  ["an addon that does not load", Cuda.layerFrom("/nonexistent/trtx_native.node"), "addon-not-loaded"],
  ...(gpu ? [] : [["Cuda.layer on this machine", Cuda.layer, undefined] as const])
] as const

describe("Cuda without a GPU", () => {
  for (const [label, layer, reason] of unusable) {
    it.effect(`${label}: status says why; every entry point fails with CudaUnavailable and that reason`, () =>
      Effect.gen(function*() {
        const cuda = yield* Cuda
        assert.isFalse(cuda.status.available)
        if (reason !== undefined) assert.strictEqual(cuda.status.reason, reason)
        assert.notStrictEqual(cuda.status.reason, "ok")
        assert.isAbove(cuda.status.detail.length, 0)
        assert.isFalse(cuda.tensorrt.available)
        for (const [name, effect] of Object.entries(entryPoints(cuda))) {
          const error = yield* Effect.flip(effect as Effect.Effect<unknown, unknown>)
          assert.instanceOf(error, CudaUnavailable, name)
          assert.strictEqual((error as CudaUnavailable).reason, cuda.status.reason, name)
        }
        const engine = yield* Effect.flip(TrtEngine.make(record))
        assert.instanceOf(engine, CudaUnavailable)
      }).pipe(Effect.provide(layer)))
  }

  it.effect("arguments are checked before anything else: ERR_INVALID_ARG_VALUE, GPU or not", () =>
    Effect.gen(function*() {
      for (const layer of [Cuda.layerNoGpu, Cuda.layer]) {
        const cuda = yield* Effect.provide(Effect.gen(function*() { return yield* Cuda }), layer)
        const bad = [
          cuda.deviceBuffer(0),
          cuda.deviceBuffer(-1),
          cuda.deviceBuffer(1.5),
          cuda.deviceBuffer(Number.NaN),
          cuda.deviceBuffer(2 ** 53),
          cuda.deviceBuffer(16, -1),
          cuda.deviceBuffer(16, 0.5),
          cuda.hostBuffer(0),
          cuda.stream(-2),
          cuda.memInfo(1.25)
        ]
        for (const effect of bad) {
          const error = yield* Effect.flip(effect as Effect.Effect<unknown, unknown>)
          assert.instanceOf(error, CudaError)
          assert.strictEqual((error as CudaError).code, "ERR_INVALID_ARG_VALUE")
        }
      }
    }))

  it.effect("a record that breaks the record's rules fails as EngineRecordError, located by field", () =>
    Effect.gen(function*() {
      const broken = { ...record, device: { ...record.device, deviceName: "H%100" } }
      const error = yield* Effect.flip(TrtEngine.make(broken))
      assert.instanceOf(error, EngineRecordError)
      assert.strictEqual((error as EngineRecordError).field, "DEVICE")
    }).pipe(Effect.provide(Cuda.layerNoGpu)))

  it.effect("with CUDA but no TensorRT, an engine fails as TensorRTUnavailable with the reason, never a result", () =>
    Effect.gen(function*() {
      // A stand-in service for a GPU host whose addon lacks the backend: what decides is the status.
      const h100 = { ordinal: 0, name: "NVIDIA H100 80GB HBM3", uuid: "", major: 9, minor: 0, multiProcessorCount: 132, l2CacheBytes: 0, memoryBusWidthBits: 0, pciBusId: "", totalMemory: 0 }
      const base = yield* Effect.provide(Effect.gen(function*() { return yield* Cuda }), Cuda.layerNoGpu)
      const layer = Layer.succeed(Cuda, Cuda.of({
        ...base,
        status: { ...base.status, available: true, reason: "ok", deviceCount: 1 },
        tensorrt: { available: false, reason: "not-compiled", detail: "built without TENSORRT_ROOT", version: null },
        devices: Effect.succeed([h100]),
        addon: {} as Native.NativeAddon
      }))
      const error = yield* Effect.flip(Effect.provide(TrtEngine.make(record), layer))
      assert.instanceOf(error, TensorRTUnavailable)
      assert.strictEqual((error as TensorRTUnavailable).reason, "not-compiled")
    }))
})
