/**
 * `Compatibility.select`: one test per numbered rule of its header.
 */
import { assert, describe, it } from "@effect/vitest"
import { Result } from "effect"
import * as Compatibility from "../../src/engine/Compatibility.ts"
import { IncompatibleEngine } from "../../src/engine/EngineError.ts"
import type * as EngineRecord from "../../src/program/EngineRecord.ts"

const record = (over: Partial<EngineRecord.Abi7Record> = {}, device: Partial<EngineRecord.Device> = {}): EngineRecord.Abi7Record => ({
  abi: "7",
  name: "m_engine",
  device: { gpuId: 0, major: 9, minor: 0, deviceType: 0, deviceName: "NVIDIA H100 80GB HBM3", ...device },
  engine: new Uint8Array(4),
  inputBindingNames: ["x"],
  outputBindingNames: ["output0"],
  hardwareCompatible: false,
  serializedMetadata: "",
  targetPlatform: "linux_x86_64",
  requiresOutputAllocator: false,
  ...over
})

const h100 = (ordinal: number) => ({ ordinal, name: "NVIDIA H100 80GB HBM3", major: 9, minor: 0 })
const a100 = (ordinal: number) => ({ ordinal, name: "NVIDIA A100-SXM4-80GB", major: 8, minor: 0 })
const t4 = (ordinal: number) => ({ ordinal, name: "Tesla T4", major: 7, minor: 5 })

const failure = (r: Result.Result<Compatibility.LocalDevice, IncompatibleEngine>) => {
  if (Result.isSuccess(r)) return assert.fail(`expected a failure, got device ${r.success.ordinal}`)
  assert.instanceOf(r.failure, IncompatibleEngine)
  return r.failure
}

describe("Compatibility", () => {
  it("the platform of this process is named as the C++ runtime names it", () => {
    assert.strictEqual(Compatibility.currentPlatform("linux", "x64"), "linux_x86_64")
    assert.strictEqual(Compatibility.currentPlatform("linux", "arm64"), "linux_aarch64")
    assert.strictEqual(Compatibility.currentPlatform("win32", "x64"), "windows_x86_64")
    assert.strictEqual(Compatibility.currentPlatform("darwin", "arm64"), "unknown")
  })

  it("rule 1: an engine of another platform, or of `unknown`, is refused", () => {
    const e = failure(Compatibility.select(record({ targetPlatform: "linux_aarch64" }), [h100(0)], "linux_x86_64"))
    assert.strictEqual(e.reason, "Platform")
    assert.strictEqual(e.engine, "m_engine")
    assert.match(e.message, /built for linux_aarch64, this machine is linux_x86_64/)
    assert.strictEqual(failure(Compatibility.select(record({ targetPlatform: "unknown" }), [h100(0)], "unknown")).reason, "Platform")
  })

  it("rule 2: a DLA engine is refused", () => {
    assert.strictEqual(failure(Compatibility.select(record({}, { deviceType: 1 }), [h100(0)], "linux_x86_64")).reason, "DeviceType")
  })

  it("rule 3: the compute capability must match, or be >= 8.0 for a hardware-compatible engine", () => {
    const e = failure(Compatibility.select(record(), [a100(0), t4(1)], "linux_x86_64"))
    assert.strictEqual(e.reason, "ComputeCapability")
    assert.match(e.message, /built for NVIDIA H100 80GB HBM3 \(sm_90\); this machine has 0: NVIDIA A100-SXM4-80GB \(sm_80\), 1: Tesla T4 \(sm_75\)/)
    assert.match(failure(Compatibility.select(record(), [], "linux_x86_64")).message, /this machine has no GPU/)
    const hw = Compatibility.select(record({ hardwareCompatible: true }), [t4(0), a100(1)], "linux_x86_64")
    assert.strictEqual(Result.getOrThrow(hw).ordinal, 1)
    assert.strictEqual(failure(Compatibility.select(record({ hardwareCompatible: true }), [t4(0)], "linux_x86_64")).reason, "ComputeCapability")
  })

  it("rule 4: the record's own GPU id with its name first, then its name, then the first compatible", () => {
    const other = { ordinal: 0, name: "NVIDIA H100 PCIe", major: 9, minor: 0 }
    assert.strictEqual(Result.getOrThrow(Compatibility.select(record({}, { gpuId: 2 }), [h100(0), h100(1), h100(2)], "linux_x86_64")).ordinal, 2)
    assert.strictEqual(Result.getOrThrow(Compatibility.select(record({}, { gpuId: 0 }), [other, h100(1)], "linux_x86_64")).ordinal, 1)
    assert.strictEqual(Result.getOrThrow(Compatibility.select(record(), [other], "linux_x86_64")).ordinal, 0)
  })
})
