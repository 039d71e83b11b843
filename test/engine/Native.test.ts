/**
 * The native addon as built by `npm ci` (native/build.cjs), on any machine: it loads, links no CUDA or
 * TensorRT library, says why CUDA or TensorRT cannot be used, and then refuses every entry point with that
 * reason. The runtime's absence is simulated in child processes (the loader decides once per process).
 */
import { assert, describe, it } from "@effect/vitest"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as Native from "../../src/engine/Native.ts"

const REASONS = ["ok", "no-runtime", "missing-symbol", "no-driver", "driver-too-old", "no-device", "error"]

const loadAddon = () => {
  const loaded = Native.load(Native.defaultPath)
  if (loaded._tag === "Failure") assert.fail(`the addon did not load: ${loaded.failure}`)
  return loaded.success
}

// Runs a script in a fresh Node with the addon's path as argv[1]; its stdout is JSON.
const child = (script: string, env: Record<string, string>) => {
  const r = spawnSync(process.execPath, ["-e", script, Native.defaultPath], {
    env: { ...process.env, ...env },
    encoding: "utf8"
  })
  assert.strictEqual(r.status, 0, r.stderr)
  return JSON.parse(r.stdout) as Record<string, unknown>
}

const STATUS_AND_THROWS = `
const a = require(process.argv[1])
const codes = []
for (const f of [() => new a.DeviceBuffer(16), () => new a.Stream(), () => new a.HostPin(Buffer.alloc(16)), () => a.memInfo(), () => a.deviceProperties(0)]) {
  try { f(); codes.push("no error") } catch (e) { codes.push(e.code + ":" + e.reason) }
}
console.log(JSON.stringify({ status: a.status(), tensorrt: a.tensorrt(), codes }))`

describe("native addon", () => {
  it("is built, loads, and exports the CUDA classes", () => {
    assert.isTrue(fs.existsSync(Native.defaultPath), `${Native.defaultPath} missing: npm ci builds it`)
    const addon = loadAddon()
    for (const name of ["status", "tensorrt", "deviceProperties", "memInfo", "stats", "DeviceBuffer", "Stream", "HostPin"]) {
      assert.property(addon, name)
    }
  })

  it("links no CUDA or TensorRT library: both are opened with dlopen at run time", () => {
    const r = spawnSync("nm", ["-D", "--undefined-only", Native.defaultPath], { encoding: "utf8" })
    assert.strictEqual(r.status, 0, r.stderr)
    assert.notMatch(r.stdout, /cuda|nvinfer/i)
    const ldd = spawnSync("ldd", [Native.defaultPath], { encoding: "utf8" })
    assert.notMatch(ldd.stdout, /cudart|nvinfer|libcuda/)
  })

  it("status() says whether CUDA is usable and, when not, why; tensorrt() likewise", () => {
    const addon = loadAddon()
    const status = addon.status()
    assert.include(REASONS, status.reason)
    assert.strictEqual(status.available, status.reason === "ok")
    if (!status.available) assert.isAbove(status.detail.length, 0)
    const trt = addon.tensorrt()
    assert.include(["ok", "not-compiled", "no-library", "missing-symbol", "version-mismatch"], trt.reason)
    assert.strictEqual(trt.available, trt.reason === "ok")
    // Built without TENSORRT_ROOT there is no backend class, and the reason says so.
    assert.strictEqual(addon.TrtEngine === undefined, trt.compiledMajor === 0)
    if (trt.compiledMajor === 0) assert.strictEqual(trt.reason, "not-compiled")
  })

  it("without a CUDA runtime: no-runtime, and every entry point throws ERR_CUDA_UNAVAILABLE with that reason", () => {
    const r = child(STATUS_AND_THROWS, { CUDART_LIBRARY: "/nonexistent/libcudart.so.13" })
    const status = r.status as Native.NativeStatus
    assert.strictEqual(status.available, false)
    assert.strictEqual(status.reason, "no-runtime")
    assert.match(status.detail, /nonexistent/)
    assert.deepStrictEqual(r.codes, Array(5).fill("ERR_CUDA_UNAVAILABLE:no-runtime"))
  })

  it("on this machine, where CUDA is unusable, every entry point throws with the status's reason", () => {
    const r = child(STATUS_AND_THROWS, {})
    const status = r.status as Native.NativeStatus
    if (status.available) return // a GPU host: tests/engine/Gpu.test.ts covers it
    assert.deepStrictEqual(r.codes, Array(5).fill(`ERR_CUDA_UNAVAILABLE:${status.reason}`))
  })

  it("checks its arguments even when called directly", () => {
    const r = child(
      `
const a = require(process.argv[1])
const out = []
try { a.DeviceBuffer.prototype.free.call({}) } catch (e) { out.push(e.constructor.name) }
try { new a.DeviceBuffer() } catch (e) { out.push(e.code) }
console.log(JSON.stringify({ out, stats: a.stats() }))`,
      { CUDART_LIBRARY: "/nonexistent" }
    )
    // A method on a foreign object is refused; a constructor first says CUDA is unavailable.
    assert.strictEqual((r.out as Array<string>).length, 2)
    assert.strictEqual((r.out as Array<string>)[1], "ERR_CUDA_UNAVAILABLE")
    assert.deepInclude(r.stats as object, { liveBuffers: 0, liveBytes: 0, liveStreams: 0, livePins: 0 })
  })
})
