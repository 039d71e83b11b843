/**
 * The TensorRT engine record: what `TorchTensorRTModule._pack_engine_info()` and torchbind
 * `tensorrt::Engine.__getstate__()` return, as named fields, for the two layouts this port targets:
 *
 * - ABI `"7"`: 10 fields, Torch-TensorRT v2.7 – v2.10 (the seed);
 * - ABI `"10"`: 13 fields, upstream HEAD (adds RESOURCE_ALLOCATION_STRATEGY, REQUIRES_NATIVE_MULTIDEVICE and
 *   ALIASED_IO).
 *
 * A record travels in two wire forms, index for index the same except at ENGINE_IDX:
 *
 * - **raw**: the engine's bytes at ENGINE_IDX, every other field a string. This is `_pack_engine_info()`,
 *   the torchbind constructor's argument, and what a `.tgm` archive stores (`packed_engine_info`,
 *   `engine_state`);
 * - **base64**: every field a string, the engine as RFC 4648 base64 with `=` padding. This is the pickled
 *   `__getstate__()` state in a `.pt2` and the seed's cross-compile no-op node arguments.
 *
 * Decoding accepts only the canonical spelling of each field, so that encoding a decoded record gives back
 * the very same fields (and, in the raw form, the very same engine `Uint8Array`). Anything else is an
 * {@link EngineRecordError} naming the field and its index. The serialized metadata (a base64 pickle of
 * Python objects) is opaque here and passes through unchanged.
 *
 * Decoding and validation return a `Result`, not an Effect: a record is decoded inside the synchronous
 * work of a pass, a summary or the report, which is the point; `Effect.fromResult` lifts one.
 *
 * @since 0.1.0
 */
import { Result, Schema } from "effect"
import { Buffer, constants } from "node:buffer"
import type { TrtModule } from "../graph/Module.ts"
import { EngineRecordError, type EngineRecordField, type EngineRecordReason, RECORD_FIELDS } from "./EngineRecordError.ts"

// ===== Layout =====

/**
 * Field indices (`SerializedInfoIndex` in `core/runtime/runtime.h`). Both layouts share indices 0–9; ABI
 * `"10"` appends 10–12.
 *
 * @since 0.1.0
 * @category constants
 */
export const ABI_TARGET_IDX = 0
/**
 * @since 0.1.0
 * @category constants
 */
export const NAME_IDX = 1
/**
 * @since 0.1.0
 * @category constants
 */
export const DEVICE_IDX = 2
/**
 * @since 0.1.0
 * @category constants
 */
export const ENGINE_IDX = 3
/**
 * @since 0.1.0
 * @category constants
 */
export const INPUT_BINDING_NAMES_IDX = 4
/**
 * @since 0.1.0
 * @category constants
 */
export const OUTPUT_BINDING_NAMES_IDX = 5
/**
 * @since 0.1.0
 * @category constants
 */
export const HW_COMPATIBLE_IDX = 6
/**
 * @since 0.1.0
 * @category constants
 */
export const SERIALIZED_METADATA_IDX = 7
/**
 * @since 0.1.0
 * @category constants
 */
export const TARGET_PLATFORM_IDX = 8
/**
 * @since 0.1.0
 * @category constants
 */
export const REQUIRES_OUTPUT_ALLOCATOR_IDX = 9
/**
 * ABI `"10"` only.
 *
 * @since 0.1.0
 * @category constants
 */
export const RESOURCE_ALLOCATION_STRATEGY_IDX = 10
/**
 * ABI `"10"` only.
 *
 * @since 0.1.0
 * @category constants
 */
export const REQUIRES_NATIVE_MULTIDEVICE_IDX = 11
/**
 * ABI `"10"` only.
 *
 * @since 0.1.0
 * @category constants
 */
export const ALIASED_IO_IDX = 12

/**
 * The ABI versions this port reads and writes.
 *
 * @since 0.1.0
 * @category models
 */
export const Abi = Schema.Literals(["7", "10"])

/**
 * @since 0.1.0
 * @category models
 */
export type Abi = typeof Abi.Type

/**
 * The number of fields of a record of each ABI (`SERIALIZATION_LEN`).
 *
 * @since 0.1.0
 * @category constants
 */
export const SERIALIZATION_LEN = { "7": 10, "10": 13 } as const

/**
 * The field names of each layout, by index (upstream's `SerializedInfoIndex` without `_IDX`).
 *
 * @since 0.1.0
 * @category constants
 */
export const FIELD_NAMES: { readonly [A in Abi]: ReadonlyArray<EngineRecordField> } = {
  "7": RECORD_FIELDS.slice(0, SERIALIZATION_LEN["7"]),
  "10": RECORD_FIELDS
}

/**
 * The torchbind class of an engine, as `ScriptObject.__getstate__()` names it and as a `.pt2` records it.
 *
 * @since 0.1.0
 * @category constants
 */
export const ENGINE_CLASS_FQN = "__torch__.torch.classes.tensorrt.Engine"

// The ABIs upstream has had, for an error that says which release wrote a record this port cannot read.
const HISTORIC_ABIS: Readonly<Record<string, string>> = {
  "6": "Torch-TensorRT v2.6, 9 fields",
  "8": "Torch-TensorRT v2.11, 11 fields",
  "9": "Torch-TensorRT v2.12 – v2.13, 12 fields"
}

const KNOWN_ABIS =
  `this port reads ABI "7" (10 fields, Torch-TensorRT v2.7 – v2.10) and ABI "10" (13 fields, upstream HEAD)`

// The C++ `std::stoi` that parses DEVICE tokens reads an `int`.
const INT32_MAX = 2147483647

// ===== Models =====

/**
 * The platform names of the C++ runtime (`Platform::to_string`). The Python-only runtime at HEAD writes
 * `win_x86_64` / `win_arm64` instead, which the C++ runtime maps to `unknown` and then refuses; those are
 * rejected here.
 *
 * @since 0.1.0
 * @category models
 */
export const TargetPlatform = Schema.Literals([
  "linux_x86_64",
  "linux_aarch64",
  "windows_x86_64",
  "windows_arm64",
  "unknown"
])

/**
 * @since 0.1.0
 * @category models
 */
export type TargetPlatform = typeof TargetPlatform.Type

// A non-negative int32 with one decimal spelling: -0 would print as "0" and come back as +0.
const DeviceNumber = Schema.Int.check(
  Schema.isBetween({ minimum: 0, maximum: INT32_MAX }),
  Schema.makeFilter((n: number) => !Object.is(n, -0), { expected: "not -0" })
)

/**
 * The device of DEVICE_IDX, `{gpu_id}%{sm_major}%{sm_minor}%{device_type}%{device_name}`. `deviceType` is
 * `int(trt.DeviceType)`: GPU = 0, DLA = 1. The name holds no `%` (both upstream parsers require exactly five
 * tokens) and is not empty (C++ drops empty tokens, so it would see four).
 *
 * @since 0.1.0
 * @category models
 */
export const Device = Schema.Struct({
  gpuId: DeviceNumber,
  major: DeviceNumber,
  minor: DeviceNumber,
  deviceType: DeviceNumber.check(Schema.isBetween({ minimum: 0, maximum: 1 })),
  deviceName: Schema.String.check(Schema.isPattern(/^[^%]+$/))
})

/**
 * @since 0.1.0
 * @category models
 */
export type Device = typeof Device.Type

/**
 * A TensorRT binding name as a record can hold it: not empty (an empty item reads differently in Python,
 * which keeps it, and C++, which drops it) and without the `%` delimiter.
 *
 * @since 0.1.0
 * @category models
 */
export const BindingName = Schema.String.check(Schema.isPattern(/^[^%]+$/))

/**
 * An aliased output (ABI `"10"`): an output binding that shares memory with an input binding, serialized as
 * `out@in@kind`. Names hold neither `@` nor `%`.
 *
 * @since 0.1.0
 * @category models
 */
export const AliasedIo = Schema.Struct({
  output: Schema.String.check(Schema.isPattern(/^[^%@]+$/)),
  input: Schema.String.check(Schema.isPattern(/^[^%@]+$/)),
  kind: Schema.Literals(["kv_cache_update", "user"])
})

/**
 * @since 0.1.0
 * @category models
 */
export type AliasedIo = typeof AliasedIo.Type

const commonFields = {
  name: Schema.String,
  device: Device,
  engine: Schema.Uint8Array,
  inputBindingNames: Schema.Array(BindingName),
  outputBindingNames: Schema.Array(BindingName),
  hardwareCompatible: Schema.Boolean,
  serializedMetadata: Schema.String,
  targetPlatform: TargetPlatform,
  requiresOutputAllocator: Schema.Boolean
}

/**
 * A record of ABI `"7"` (Torch-TensorRT v2.7 – v2.10): 10 fields.
 *
 * @since 0.1.0
 * @category models
 */
export const Abi7Record = Schema.Struct({ abi: Schema.Literal("7"), ...commonFields })

/**
 * @since 0.1.0
 * @category models
 */
export type Abi7Record = typeof Abi7Record.Type

// Upstream's `_expose_aliased_buffer_mutations` looks the names up among the engine's bindings and raises
// when the input is not one; an output aliased twice cannot come from the dict (Python) or unordered_map (C++)
// that upstream serializes.
const aliasedIoIssue = (
  record: {
    readonly inputBindingNames: ReadonlyArray<string>
    readonly outputBindingNames: ReadonlyArray<string>
    readonly aliasedIo: ReadonlyArray<AliasedIo>
  }
): string | undefined => {
  const seen = new Set<string>()
  for (let i = 0; i < record.aliasedIo.length; i++) {
    const { input, output } = record.aliasedIo[i]!
    if (!record.outputBindingNames.includes(output)) {
      return `entry ${i} aliases ${JSON.stringify(output)}, which is not an output binding`
    }
    if (!record.inputBindingNames.includes(input)) {
      return `entry ${i} aliases ${JSON.stringify(input)}, which is not an input binding`
    }
    if (seen.has(output)) return `entry ${i} aliases output ${JSON.stringify(output)} a second time`
    seen.add(output)
  }
  return undefined
}

/**
 * A record of ABI `"10"` (upstream HEAD): 13 fields. Every aliased output names an output binding once, and
 * its input an input binding.
 *
 * @since 0.1.0
 * @category models
 */
export const Abi10Record = Schema.Struct({
  abi: Schema.Literal("10"),
  ...commonFields,
  resourceAllocationStrategy: Schema.Literals(["static", "dynamic"]),
  requiresNativeMultidevice: Schema.Boolean,
  aliasedIo: Schema.Array(AliasedIo)
}).check(
  Schema.makeFilter((r) => {
    const issue = aliasedIoIssue(r)
    return issue === undefined ? undefined : { path: ["aliasedIo"], issue }
  })
)

/**
 * @since 0.1.0
 * @category models
 */
export type Abi10Record = typeof Abi10Record.Type

/**
 * An engine record of either layout, discriminated by `abi`: the ABI `"10"` fields exist only on
 * {@link Abi10Record}.
 *
 * @since 0.1.0
 * @category models
 */
export const EngineRecord = Schema.Union([Abi7Record, Abi10Record])

/**
 * @since 0.1.0
 * @category models
 */
export type EngineRecord = Abi7Record | Abi10Record

/**
 * The raw wire form: the engine's bytes at ENGINE_IDX, strings elsewhere (`Module.EngineInfo`).
 *
 * @since 0.1.0
 * @category models
 */
export type RawFields = ReadonlyArray<string | Uint8Array>

/**
 * The base64 wire form: strings, the engine base64-encoded at ENGINE_IDX. The engine's base64 text may be
 * given as its bytes (ASCII) instead of a string, as the `.pt2` reader and writer hold it: a JavaScript
 * string holds no more than {@link MAX_BASE64_ENGINE_BYTES} of engine.
 *
 * @since 0.1.0
 * @category models
 */
export type Base64Fields = ReadonlyArray<string | Uint8Array>

// ===== Decoding =====

type Form = "raw" | "base64"

// RFC 4648 §4 with `=` padding, and the bits a final partial quantum does not use set to zero: exactly the
// strings `Buffer.toString("base64")` (and Python's `b64encode`) produce, so re-encoding gives them back.
// The body is checked apart from the last quantum: one pattern with repeated 4-character groups makes
// irregexp keep a backtrack entry per group and overflow its stack on engine-sized strings, while a lone
// character-class loop does not.
const BASE64_BODY = /^[A-Za-z0-9+/]*$/
const LAST_QUANTUM = /^(?:[A-Za-z0-9+/]{4}|[A-Za-z0-9+/][AQgw]==|[A-Za-z0-9+/]{2}[AEIMQUYcgkosw048]=)$/

const isCanonicalBase64 = (s: string): boolean =>
  s.length % 4 === 0 &&
  (s.length === 0 || (BASE64_BODY.test(s.slice(0, -4)) && LAST_QUANTUM.test(s.slice(-4))))

// The decimal spelling `String(n)` gives a non-negative integer: no sign, no leading zero, no blanks.
const CANONICAL_UINT = /^(?:0|[1-9][0-9]*)$/

const PYTHON_PLATFORM_NAMES: Readonly<Record<string, TargetPlatform>> = {
  win_x86_64: "windows_x86_64",
  win_arm64: "windows_arm64"
}

// A field's text for an error message, cut short: a wrong field can be as long as an engine.
const quote = (s: string): string => JSON.stringify(s.length > 80 ? `${s.slice(0, 80)}…` : s)

const describe = (x: unknown): string =>
  x instanceof Uint8Array ? `${x.byteLength} bytes` : typeof x === "string" ? "a string" : `a ${typeof x}`

// Decoded base64 as a plain Uint8Array; a copy only where Buffer handed out a slice of its shared pool.
const fromBase64 = (s: string): Uint8Array => {
  const buf = Buffer.from(s, "base64")
  return buf.byteLength === buf.buffer.byteLength
    ? new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength)
    : new Uint8Array(buf) // copies; `slice` would make another Buffer
}

const toBase64 = (bytes: Uint8Array): string =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64")

// Base64 text held as bytes goes through strings of this many characters at most (a multiple of 4, so that
// each is whole quanta): no string of the whole text is made.
const TEXT_CHUNK = 4 * 2 ** 24

// The engine of canonical base64 text given as bytes, or undefined where it is not canonical: the rule of
// `isCanonicalBase64`, chunk by chunk (every chunk but the last is body only).
const fromBase64Bytes = (text: Uint8Array): Uint8Array | undefined => {
  if (text.byteLength % 4 !== 0) return undefined
  const ascii = (from: number, to: number) => Buffer.from(text.buffer, text.byteOffset + from, to - from).toString("latin1")
  const padding = text.byteLength === 0 ? 0 : (text[text.byteLength - 1] === 61 ? 1 : 0) + (text[text.byteLength - 2] === 61 ? 1 : 0)
  const out = Buffer.allocUnsafeSlow(text.byteLength / 4 * 3 - padding)
  for (let from = 0, at = 0; from < text.byteLength; from += TEXT_CHUNK) {
    const to = Math.min(from + TEXT_CHUNK, text.byteLength)
    const chunk = ascii(from, to)
    const last = to === text.byteLength
    if (last ? !isCanonicalBase64(chunk) : !BASE64_BODY.test(chunk)) return undefined
    at += out.write(chunk, at, "base64")
  }
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength)
}

// The base64 text of `bytes`, as ASCII bytes, made chunk by chunk (3 bytes of engine to 4 of text).
const toBase64Bytes = (bytes: Uint8Array): Uint8Array => {
  const out = Buffer.allocUnsafeSlow(Math.ceil(bytes.byteLength / 3) * 4)
  let at = 0
  for (let from = 0; from < bytes.byteLength; from += TEXT_CHUNK / 4 * 3) {
    const to = Math.min(from + TEXT_CHUNK / 4 * 3, bytes.byteLength)
    at += out.write(toBase64(bytes.subarray(from, to)), at, "latin1")
  }
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength)
}

// Made once: a guard made per record was a tenth of the decoding time of a model with thousands of engines.
const isTargetPlatform = Schema.is(TargetPlatform)

// One decoder for both forms; errors are returned, never thrown, and the first fault wins.
const decodeFields = (
  fields: ReadonlyArray<unknown>,
  form: Form,
  label: string | undefined
): Result.Result<EngineRecord, EngineRecordError> => {
  // Field parsers return a value or a fault; `error` and `at` wrap a fault as the record's failure.
  const faultAt = (reason: EngineRecordReason, field: EngineRecordField, index: number, detail: string) =>
    new EngineRecordError({ reason, field, index, detail, ...(label === undefined ? {} : { record: label }) })
  const error = (reason: EngineRecordReason, field: EngineRecordField, index: number, detail: string) =>
    Result.fail(faultAt(reason, field, index, detail))

  if (fields.length === 0) {
    return error("FieldCount", "ABI_TARGET", ABI_TARGET_IDX, `the record is empty; ${KNOWN_ABIS}`)
  }
  const abi = fields[ABI_TARGET_IDX]
  if (typeof abi !== "string") {
    return error("BadField", "ABI_TARGET", ABI_TARGET_IDX, `expected a string, got ${describe(abi)}`)
  }
  if (abi !== "7" && abi !== "10") {
    const known = HISTORIC_ABIS[abi]
    const what = known === undefined ? `ABI ${quote(abi)}` : `ABI ${quote(abi)} (${known})`
    return error("UnsupportedAbi", "ABI_TARGET", ABI_TARGET_IDX, `${what} is not supported; ${KNOWN_ABIS}`)
  }
  const expected = SERIALIZATION_LEN[abi]
  if (fields.length !== expected) {
    return error(
      "FieldCount",
      "SERIALIZATION_LEN",
      Math.min(fields.length, expected),
      `ABI ${quote(abi)} records have ${expected} fields (SERIALIZATION_LEN), this one has ${fields.length}`
    )
  }
  const names = FIELD_NAMES[abi]
  const fault = (reason: EngineRecordReason, index: number, detail: string) =>
    faultAt(reason, names[index]!, index, detail)
  const at = (reason: EngineRecordReason, index: number, detail: string) => Result.fail(fault(reason, index, detail))

  // Kinds first, so that the field parsers below see strings.
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i]
    if (i === ENGINE_IDX && form === "raw") {
      if (!(f instanceof Uint8Array)) {
        const hint = typeof f === "string" ? " (a base64 record? decode it with decodeBase64)" : ""
        return at("BadField", i, `the raw form holds the engine's bytes here, got ${describe(f)}${hint}`)
      }
    } else if (i === ENGINE_IDX && f instanceof Uint8Array) {
      // The base64 text's bytes (Base64Fields).
    } else if (typeof f !== "string") {
      return at("BadField", i, `expected a string, got ${describe(f)}`)
    }
  }
  const str = (i: number) => fields[i] as string

  // DEVICE
  const deviceText = str(DEVICE_IDX)
  const tokens = deviceText.split("%")
  if (tokens.length !== 5) {
    return at(
      "BadDevice",
      DEVICE_IDX,
      `expected 5 %-separated tokens (gpu_id%major%minor%device_type%name), got ${tokens.length} in ${
        quote(deviceText)
      }`
    )
  }
  const tokenNames = ["gpu_id", "major", "minor", "device_type"] as const
  const numbers: Array<number> = []
  for (let t = 0; t < 4; t++) {
    const token = tokens[t]!
    const n = Number(token)
    if (!CANONICAL_UINT.test(token) || n > INT32_MAX) {
      return at(
        "BadDevice",
        DEVICE_IDX,
        `${tokenNames[t]} ${quote(token)} is not a decimal integer from 0 to ${INT32_MAX} ` +
          "without sign or leading zeros"
      )
    }
    numbers.push(n)
  }
  if (numbers[3]! > 1) {
    return at("BadDevice", DEVICE_IDX, `device_type ${numbers[3]} is neither GPU (0) nor DLA (1)`)
  }
  const deviceName = tokens[4]!
  if (deviceName === "") return at("BadDevice", DEVICE_IDX, "the device name is empty")
  const device: Device = {
    gpuId: numbers[0]!,
    major: numbers[1]!,
    minor: numbers[2]!,
    deviceType: numbers[3]!,
    deviceName
  }

  // ENGINE
  let engine: Uint8Array
  if (form === "raw") {
    engine = fields[ENGINE_IDX] as Uint8Array
  } else {
    const text = fields[ENGINE_IDX] as string | Uint8Array
    const decoded = typeof text === "string" ? (isCanonicalBase64(text) ? fromBase64(text) : undefined) : fromBase64Bytes(text)
    if (decoded === undefined) {
      return at(
        "BadBase64",
        ENGINE_IDX,
        `not canonical RFC 4648 base64 with = padding (${text.length} characters); ` +
          "only A-Z a-z 0-9 + / with a length divisible by 4 and zero padding bits round-trip"
      )
    }
    engine = decoded
  }

  // INPUT_BINDING_NAMES, OUTPUT_BINDING_NAMES
  const bindings = (index: number): ReadonlyArray<string> | EngineRecordError => {
    const text = str(index)
    if (text === "") return []
    const items = text.split("%")
    const empty = items.indexOf("")
    if (empty >= 0) {
      return fault(
        "BadBindings",
        index,
        `item ${empty} of ${quote(text)} is empty (Python keeps empty items, C++ drops them)`
      )
    }
    return items
  }
  const inputs = bindings(INPUT_BINDING_NAMES_IDX)
  if (inputs instanceof EngineRecordError) return Result.fail(inputs)
  const outputs = bindings(OUTPUT_BINDING_NAMES_IDX)
  if (outputs instanceof EngineRecordError) return Result.fail(outputs)

  // Flags: `str(int(bool))` on the way out, `std::stoi` on the way in; only "0" and "1" round-trip.
  const flag = (index: number, meaning = `expected "0" or "1"`): boolean | EngineRecordError => {
    const text = str(index)
    if (text === "0") return false
    if (text === "1") return true
    return fault("BadFlag", index, `${meaning}, got ${quote(text)}`)
  }
  const hardwareCompatible = flag(HW_COMPATIBLE_IDX)
  if (hardwareCompatible instanceof EngineRecordError) return Result.fail(hardwareCompatible)

  // TARGET_PLATFORM
  const platformText = str(TARGET_PLATFORM_IDX)
  if (!isTargetPlatform(platformText)) {
    const cName = PYTHON_PLATFORM_NAMES[platformText]
    const detail = cName !== undefined
      ? `${quote(platformText)} is the Python-only runtime's name (str(Platform)); the C++ name is ` +
        `${quote(cName)}, and the C++ runtime reads ${quote(platformText)} as "unknown"`
      : `${quote(platformText)} is not a C++ platform name (${TargetPlatform.literals.join(", ")})`
    return at("BadPlatform", TARGET_PLATFORM_IDX, detail)
  }

  const requiresOutputAllocator = flag(REQUIRES_OUTPUT_ALLOCATOR_IDX)
  if (requiresOutputAllocator instanceof EngineRecordError) return Result.fail(requiresOutputAllocator)

  const common = {
    name: str(NAME_IDX),
    device,
    engine,
    inputBindingNames: inputs,
    outputBindingNames: outputs,
    hardwareCompatible,
    serializedMetadata: str(SERIALIZED_METADATA_IDX),
    targetPlatform: platformText,
    requiresOutputAllocator
  }
  if (abi === "7") return Result.succeed({ abi, ...common })

  const dynamic = flag(RESOURCE_ALLOCATION_STRATEGY_IDX, `expected "0" (static) or "1" (dynamic)`)
  if (dynamic instanceof EngineRecordError) return Result.fail(dynamic)
  const requiresNativeMultidevice = flag(REQUIRES_NATIVE_MULTIDEVICE_IDX)
  if (requiresNativeMultidevice instanceof EngineRecordError) return Result.fail(requiresNativeMultidevice)

  // ALIASED_IO
  const aliasedText = str(ALIASED_IO_IDX)
  const aliasedIo: Array<AliasedIo> = []
  if (aliasedText !== "") {
    const entries = aliasedText.split("%")
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!
      const parts = entry.split("@")
      if (parts.length !== 3 || parts[0] === "" || parts[1] === "") {
        return at("BadAliasedIo", ALIASED_IO_IDX, `entry ${i} ${quote(entry)} is not out@in@kind`)
      }
      const [output, input, kind] = parts as [string, string, string]
      // C++ reads an unknown kind as kv_cache_update; accepting it would not round-trip.
      if (kind !== "kv_cache_update" && kind !== "user") {
        return at(
          "BadAliasedIo",
          ALIASED_IO_IDX,
          `entry ${i} has kind ${quote(kind)}; expected "kv_cache_update" or "user"`
        )
      }
      aliasedIo.push({ output, input, kind })
    }
  }
  const record: Abi10Record = {
    abi,
    ...common,
    resourceAllocationStrategy: dynamic ? "dynamic" : "static",
    requiresNativeMultidevice,
    aliasedIo
  }
  const issue = aliasedIoIssue(record)
  if (issue !== undefined) return at("BadAliasedIo", ALIASED_IO_IDX, issue)
  return Result.succeed(record)
}

/**
 * Decodes a record in the raw form (engine bytes at ENGINE_IDX), as `.tgm` archives and the torchbind
 * constructor hold it. The record keeps the very `Uint8Array` it was given, not a copy. `label` says where
 * the record came from, for the error.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeRaw = (fields: RawFields, label?: string): Result.Result<EngineRecord, EngineRecordError> =>
  decodeFields(fields, "raw", label)

/**
 * Decodes a record in the base64 form (all strings, the engine base64 at ENGINE_IDX), as a `.pt2` pickles
 * `__getstate__()` and as the seed's cross-compile no-op node takes it. The fields may be given as found
 * (a no-op node's arguments): one that is not a string is a `BadField` fault.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeBase64 = (
  fields: Base64Fields | ReadonlyArray<unknown>,
  label?: string
): Result.Result<EngineRecord, EngineRecordError> => decodeFields(fields, "base64", label)

// ===== Encoding =====

const flagText = (b: boolean): string => (b ? "1" : "0")

const encodeFields = <E>(record: EngineRecord, engine: E): Array<string | E> => {
  const d = record.device
  const fields: Array<string | E> = [
    record.abi,
    record.name,
    `${d.gpuId}%${d.major}%${d.minor}%${d.deviceType}%${d.deviceName}`,
    engine,
    record.inputBindingNames.join("%"),
    record.outputBindingNames.join("%"),
    flagText(record.hardwareCompatible),
    record.serializedMetadata,
    record.targetPlatform,
    flagText(record.requiresOutputAllocator)
  ]
  if (record.abi === "10") {
    fields.push(
      record.resourceAllocationStrategy === "dynamic" ? "1" : "0",
      flagText(record.requiresNativeMultidevice),
      record.aliasedIo.map((a) => `${a.output}@${a.input}@${a.kind}`).join("%")
    )
  }
  return fields
}

/**
 * The raw form of a record (`_pack_engine_info()`): the record's own engine `Uint8Array` at ENGINE_IDX.
 * The record must satisfy {@link EngineRecord}: a field that breaks it (a binding name with `%`, say) is
 * written as is and will not decode.
 *
 * @since 0.1.0
 * @category encoding
 */
export const encodeRaw = (record: EngineRecord): Array<string | Uint8Array> => encodeFields(record, record.engine)

/**
 * The largest engine whose base64 text fits a pickle's `BINUNICODE` string (at most 2^32 - 1 bytes), the
 * bound of {@link encodeBase64Text}: about 3 GiB.
 *
 * @since 0.1.0
 * @category models
 */
export const MAX_BASE64_TEXT_ENGINE_BYTES: number = Math.floor((2 ** 32 - 1) / 4) * 3

/**
 * The largest engine whose base64 form is a JavaScript string: a string holds at most
 * `buffer.constants.MAX_STRING_LENGTH` characters (2^29 - 24 in Node 24), and base64 writes 4 of them for
 * every 3 bytes, so about 384 MiB. Python's strings have no such bound: a larger engine cannot be
 * cross-compiled here, where it is a string argument ({@link encodeBase64Text} has no such bound;
 * docs/divergences.md).
 *
 * @since 0.1.0
 * @category models
 */
export const MAX_BASE64_ENGINE_BYTES: number = Math.floor(constants.MAX_STRING_LENGTH / 4) * 3

/**
 * The base64 form of a record (`__getstate__()`): the engine as padded RFC 4648 base64 at ENGINE_IDX. Same
 * precondition as {@link encodeRaw}. An engine over {@link MAX_BASE64_ENGINE_BYTES} has none here: a
 * `TooLarge` error at ENGINE (the HEAD no-op schema takes a uint8 tensor instead).
 *
 * @since 0.1.0
 * @category encoding
 */
export const encodeBase64 = (record: EngineRecord, label?: string): Result.Result<Array<string>, EngineRecordError> =>
  record.engine.byteLength > MAX_BASE64_ENGINE_BYTES
    ? Result.fail(tooLarge(record, label, `${constants.MAX_STRING_LENGTH} characters a JavaScript string holds`, MAX_BASE64_ENGINE_BYTES))
    : Result.succeed(encodeFields(record, toBase64(record.engine)))

/**
 * The base64 form of a record with the engine's text as its bytes (ASCII), made without a string of the
 * whole text: what the `.pt2` writer pickles. An engine over {@link MAX_BASE64_TEXT_ENGINE_BYTES} is a
 * `TooLarge` error at ENGINE.
 *
 * @since 0.1.0
 * @category encoding
 */
export const encodeBase64Text = (record: EngineRecord, label?: string): Result.Result<Array<string | Uint8Array>, EngineRecordError> =>
  record.engine.byteLength > MAX_BASE64_TEXT_ENGINE_BYTES
    ? Result.fail(tooLarge(record, label, `${2 ** 32 - 1} bytes of a pickled string`, MAX_BASE64_TEXT_ENGINE_BYTES))
    : Result.succeed(encodeFields(record, toBase64Bytes(record.engine)))

const tooLarge = (record: EngineRecord, label: string | undefined, bound: string, max: number): EngineRecordError =>
  new EngineRecordError({
    reason: "TooLarge",
    field: "ENGINE",
    index: ENGINE_IDX,
    detail: `the engine is ${record.engine.byteLength} bytes; its base64 form would be longer than the ${bound} ` +
      `(engines up to ${max} bytes have one)`,
    ...(label === undefined ? {} : { record: label })
  })

// ===== Names and validation =====

/**
 * The record NAME upstream gives the engine of a module: `${moduleName}_engine`, or `tensorrt_engine` for
 * an unnamed module (`TorchTensorRTModule._pack_engine_info`).
 *
 * @since 0.1.0
 * @category getters
 */
export const engineName = (moduleName: string): string =>
  moduleName === "" ? "tensorrt_engine" : `${moduleName}_engine`

/**
 * Whether a record's binding names are exactly the given ones, in order; the first difference is a
 * `BindingMismatch` at INPUT_BINDING_NAMES or OUTPUT_BINDING_NAMES.
 *
 * @since 0.1.0
 * @category validation
 */
export const validateBindings = <R extends EngineRecord>(
  record: R,
  expected: { readonly inputBindingNames: ReadonlyArray<string>; readonly outputBindingNames: ReadonlyArray<string> },
  label?: string
): Result.Result<R, EngineRecordError> => {
  const check = (
    index: typeof INPUT_BINDING_NAMES_IDX | typeof OUTPUT_BINDING_NAMES_IDX,
    actual: ReadonlyArray<string>,
    wanted: ReadonlyArray<string>
  ): EngineRecordError | undefined => {
    if (actual.length === wanted.length && actual.every((n, i) => n === wanted[i])) return undefined
    return new EngineRecordError({
      reason: "BindingMismatch",
      field: FIELD_NAMES[record.abi][index]!,
      index,
      detail: `the record lists ${JSON.stringify(actual)}, the module ${JSON.stringify(wanted)}`,
      ...(label === undefined ? {} : { record: label })
    })
  }
  const e = check(INPUT_BINDING_NAMES_IDX, record.inputBindingNames, expected.inputBindingNames) ??
    check(OUTPUT_BINDING_NAMES_IDX, record.outputBindingNames, expected.outputBindingNames)
  return e === undefined ? Result.succeed(record) : Result.fail(e)
}

// ===== From a TrtModule =====

/**
 * The parts of a {@link TrtModule} that hold its record.
 *
 * @since 0.1.0
 * @category models
 */
export type RecordHolder = Pick<
  TrtModule,
  "name" | "packedEngineInfo" | "engineState" | "inputBindingNames" | "outputBindingNames"
>

/**
 * Decodes the record of a TensorRT module and checks its binding names against the module's.
 *
 * **Which record.** By default the module's `engineState` where it has one, else its `packedEngineInfo`.
 * `engine_state` is the live engine's `__getstate__()`, which the plain (non-cross-compile) export pickles,
 * per the archive spec. The v2.10 exporter's cross-compile output holds the same record in practice,
 * because its deep copy rebuilds every engine from that state (the samples show it: SERIALIZED_METADATA's
 * `output_tensors_are_unowned` is `False` in both). Pass `source: "packed_engine_info"` for
 * `_pack_engine_info()` itself.
 *
 * The error's `record` label is `<module name> (<source>)`.
 *
 * @since 0.1.0
 * @category decoding
 */
export const fromTrtModule = (
  module: RecordHolder,
  options?: { readonly source?: "engine_state" | "packed_engine_info" }
): Result.Result<EngineRecord, EngineRecordError> => {
  const useState = options?.source !== "packed_engine_info" && module.engineState !== undefined
  const fields = useState ? module.engineState! : module.packedEngineInfo
  const label = `${module.name} (${useState ? "engine_state" : "packed_engine_info"})`
  return Result.flatMap(decodeRaw(fields, label), (record) => validateBindings(record, module, label))
}

// ===== Combinators =====

/**
 * The record with other engine bytes (a rebuilt or refitted plan), every other field unchanged.
 *
 * @since 0.1.0
 * @category combinators
 */
export const withEngine = <R extends EngineRecord>(record: R, engine: Uint8Array): R => ({ ...record, engine })

/**
 * An ABI `"10"` record with its aliased outputs in output-binding order. C++ writes them in `unordered_map`
 * order, so two runs of upstream can disagree; a port that writes records sorts them first. Decoding keeps
 * the order it reads, so that re-encoding gives back the same text.
 *
 * @since 0.1.0
 * @category combinators
 */
export const sortAliasedIo = (record: Abi10Record): Abi10Record => {
  const position = new Map(record.outputBindingNames.map((n, i) => [n, i] as const))
  const rank = (a: AliasedIo) => position.get(a.output) ?? Number.MAX_SAFE_INTEGER
  return { ...record, aliasedIo: [...record.aliasedIo].sort((a, b) => rank(a) - rank(b)) }
}
