/**
 * Page-locked host <-> device bandwidth through the addon (a `HostBuffer` and a `DeviceBuffer`), against
 * the `cudaMemcpy` baseline of `build/Release/memcpy_baseline` (native/tools/memcpy_baseline.cc: host memory
 * from `cudaMallocHost`) measured in the same run on the same device. Target: the addon's median at least
 * 90% of the baseline's, both directions. Without a GPU it returns the reason and measures nothing.
 */
import { Effect, Result } from "effect"
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { Cuda } from "../src/engine/Cuda.ts"
import * as Native from "../src/engine/Native.ts"

const BYTES = 256 * 2 ** 20
const REPS = 20

export interface Row {
  readonly direction: "H2D" | "D2H"
  readonly path: string
  readonly medianGBps: number
  readonly bestGBps: number
}

export type Outcome =
  | { readonly _tag: "Skipped"; readonly reason: string }
  | { readonly _tag: "Measured"; readonly device: string; readonly bytes: number; readonly reps: number; readonly rows: ReadonlyArray<Row> }

const gbps = (seconds: ReadonlyArray<number>) => {
  const sorted = [...seconds].sort((a, b) => a - b)
  return { medianGBps: BYTES / sorted[Math.floor(sorted.length / 2)]! / 1e9, bestGBps: BYTES / sorted[0]! / 1e9 }
}

// Two warm-up copies, then REPS timed ones, as the baseline does.
const timed = (copy: () => Effect.Effect<void, unknown>) =>
  Effect.gen(function*() {
    const seconds: Array<number> = []
    for (let i = 0; i < REPS + 2; i++) {
      const start = process.hrtime.bigint()
      yield* copy()
      if (i >= 2) seconds.push(Number(process.hrtime.bigint() - start) / 1e9)
    }
    return seconds
  })

export const run = (): Promise<Outcome> => {
  const loaded = Native.load()
  if (Result.isFailure(loaded)) return Promise.resolve({ _tag: "Skipped", reason: `the addon did not load: ${loaded.failure}` })
  const status = loaded.success.status()
  if (!status.available) return Promise.resolve({ _tag: "Skipped", reason: `CUDA is unavailable (${status.reason}): ${status.detail}` })
  return Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const cuda = yield* Cuda
    const [device] = yield* cuda.devices
    const tool = path.join(path.dirname(Native.defaultPath), "memcpy_baseline")
    if (!fs.existsSync(tool)) return { _tag: "Skipped", reason: `${tool} is not built: run TRTX_BENCH=1 npm run build:addon` } as const
    const baseline = JSON.parse(
      execFileSync(tool, [String(BYTES), String(REPS)], { encoding: "utf8" })
    ) as { readonly h2d: ReadonlyArray<number>; readonly d2h: ReadonlyArray<number> }
    const stream = yield* cuda.stream()
    const host = yield* cuda.hostBuffer(BYTES)
    const buffer = yield* cuda.deviceBuffer(BYTES)
    host.bytes.fill(0x5a)
    const rows: Array<Row> = [
      { direction: "H2D", path: "cudaMemcpy baseline (cudaMallocHost)", ...gbps(baseline.h2d) },
      { direction: "H2D", path: "addon uploadSync (HostBuffer)", ...gbps(yield* timed(() => buffer.uploadSync(host))) },
      { direction: "H2D", path: "addon upload (libuv pool, stream)", ...gbps(yield* timed(() => buffer.upload(host, { stream }))) },
      { direction: "D2H", path: "cudaMemcpy baseline (cudaMallocHost)", ...gbps(baseline.d2h) },
      { direction: "D2H", path: "addon downloadSync (HostBuffer)", ...gbps(yield* timed(() => buffer.downloadSync(host))) },
      { direction: "D2H", path: "addon download (libuv pool, stream)", ...gbps(yield* timed(() => buffer.download(host, { stream }))) }
    ]
    return { _tag: "Measured", device: `${device!.name} (sm_${device!.major}${device!.minor})`, bytes: BYTES, reps: REPS, rows } as const
  })).pipe(Effect.provide(Cuda.layer)))
}
