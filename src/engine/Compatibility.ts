/**
 * Whether an engine record can run on this machine, before anything is deserialized: Torch-TensorRT's
 * checks, re-implemented on the record's fields and the local devices' properties.
 *
 * Rules (one test each):
 * 1. The record's TARGET_PLATFORM must be this machine's (the C++ runtime refuses an engine of another
 *    platform; `unknown` never matches).
 * 2. Only GPU engines run: a DLA record (device type 1) is refused.
 * 3. A device is compatible when its compute capability equals the record's `major.minor`, or, for a
 *    hardware-compatible engine (HW_COMPATIBLE), when it is at least 8.0 (Ampere and later), as upstream
 *    `find_compatible_devices` (`core/runtime/runtime.cpp`) decides.
 * 4. Among compatible devices the record's own GPU id is preferred when its name matches the record's,
 *    then any device with that name, then the first compatible one (upstream `get_most_compatible_device`
 *    also takes a single compatible device whatever its name).
 *
 * @since 0.1.0
 */
import { Result } from "effect"
import type * as EngineRecord from "../program/EngineRecord.ts"
import { IncompatibleEngine } from "./EngineError.ts"

/**
 * The parts of a device the check reads.
 *
 * @since 0.1.0
 * @category models
 */
export interface LocalDevice {
  readonly ordinal: number
  readonly name: string
  readonly major: number
  readonly minor: number
}

/**
 * This process's platform as the C++ runtime names it (`Platform::to_string`).
 *
 * @since 0.1.0
 * @category getters
 */
export const currentPlatform = (
  platform: string = process.platform,
  arch: string = process.arch
): EngineRecord.TargetPlatform => {
  if (platform === "linux" && arch === "x64") return "linux_x86_64"
  if (platform === "linux" && arch === "arm64") return "linux_aarch64"
  if (platform === "win32" && arch === "x64") return "windows_x86_64"
  if (platform === "win32" && arch === "arm64") return "windows_arm64"
  return "unknown"
}

const describeDevice = (d: LocalDevice) => `${d.ordinal}: ${d.name} (sm_${d.major}${d.minor})`

/**
 * The local device the record's engine should run on, or why none can.
 *
 * @since 0.1.0
 * @category checks
 */
export const select = (
  record: EngineRecord.EngineRecord,
  devices: ReadonlyArray<LocalDevice>,
  platform: EngineRecord.TargetPlatform = currentPlatform()
): Result.Result<LocalDevice, IncompatibleEngine> => {
  const fail = (reason: IncompatibleEngine["reason"], detail: string) =>
    Result.fail(new IncompatibleEngine({ engine: record.name, reason, detail }))
  if (record.targetPlatform !== platform || platform === "unknown") {
    return fail("Platform", `it was built for ${record.targetPlatform}, this machine is ${platform}`)
  }
  const target = record.device
  if (target.deviceType !== 0) {
    return fail("DeviceType", `it was built for a DLA core (device type ${target.deviceType}); only GPU engines run`)
  }
  const compatible = devices.filter((d) =>
    (d.major === target.major && d.minor === target.minor) || (record.hardwareCompatible && d.major >= 8)
  )
  const wanted = `${target.deviceName} (sm_${target.major}${target.minor}${record.hardwareCompatible ? ", hardware-compatible: sm_80 or later" : ""})`
  const chosen = compatible.find((d) => d.ordinal === target.gpuId && d.name === target.deviceName) ??
    compatible.find((d) => d.name === target.deviceName) ??
    compatible[0]
  if (chosen === undefined) {
    const local = devices.length === 0 ? "no GPU" : devices.map(describeDevice).join(", ")
    return fail("ComputeCapability", `it was built for ${wanted}; this machine has ${local}`)
  }
  return Result.succeed(chosen)
}
