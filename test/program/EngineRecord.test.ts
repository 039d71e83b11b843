/**
 * The engine record (spec §3.1, §7 items 8-9): every sample record decodes to the fields the archive and the
 * reference exporter show, and re-encodes byte for byte in both wire forms; every non-canonical spelling is
 * refused at its field; records the schema generates survive both forms.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Result, Schema } from "effect"
import { constants } from "node:buffer"
import * as fs from "node:fs"
import * as nodePath from "node:path"
import * as url from "node:url"
import * as Tgm from "../../src/archive/tgm/Tgm.ts"
import * as Zip from "../../src/archive/zip/Zip.ts"
import * as Module from "../../src/graph/Module.ts"
import * as ER from "../../src/program/EngineRecord.ts"
import { EngineRecordError } from "../../src/program/EngineRecordError.ts"

// ===== Helpers =====

const samplesDir = nodePath.join(nodePath.dirname(url.fileURLToPath(import.meta.url)), "..", "fixtures", "samples")
const samples = fs.readdirSync(samplesDir).filter((d) => fs.existsSync(nodePath.join(samplesDir, d, "input.tgm")))

const H100 = { gpuId: 0, major: 9, minor: 0, deviceType: 0, deviceName: "NVIDIA H100 80GB HBM3" }

/** Engine entry name (`engines/<k>`) and its declared size, per trt_module name, from module.json. */
const engineEntries = (path: string) =>
  Effect.scoped(Effect.gen(function*() {
    const zip = yield* Zip.open({ _tag: "File", path })
    const json = JSON.parse(new TextDecoder().decode(yield* zip.read("module.json")))
    const out = new Map<string, number>()
    const walk = (m: any) => {
      if (m.kind === "trt_module") {
        const ref = m.packed_engine_info[ER.ENGINE_IDX].engine as string
        out.set(m.name, zip.entries.get(ref)!.uncompressedSize)
      }
      for (const c of Object.values(m.children ?? {})) walk(c)
    }
    walk(json)
    return out
  }))

/** The cross-compile no-op calls of a sample's reference program: engine NAME to its record arguments. */
const noOpRecords = (dir: string): Map<string, Array<string>> => {
  const file = ["ep_cross.json", "ep_cross.persistent_patch.json"].map((f) => nodePath.join(dir, f)).find(fs.existsSync)
  const out = new Map<string, Array<string>>()
  if (file === undefined) return out
  const walk = (x: any): void => {
    if (Array.isArray(x)) return x.forEach(walk)
    if (x === null || typeof x !== "object") return
    if (x.target === "torch.ops.tensorrt.no_op_placeholder_for_execute_engine.default") {
      const args = (x.inputs as Array<any>).slice(1).map((i) => i.arg.as_string as string)
      out.set(args[ER.NAME_IDX]!, args)
      return
    }
    Object.values(x).forEach(walk)
  }
  walk(JSON.parse(fs.readFileSync(file, "utf8")))
  return out
}

const trtModules = (root: Module.Module) =>
  Module.namedModules(root).flatMap(([, m]) => (m.kind === "trt_module" ? [m] : []))

const failure = <A>(r: Result.Result<A, EngineRecordError>): EngineRecordError => {
  assert.isTrue(Result.isFailure(r), "expected a failure")
  return (r as Result.Failure<A, EngineRecordError>).failure
}

const success = <A, E>(r: Result.Result<A, E>): A => {
  if (Result.isFailure(r)) assert.fail(`expected a success, got ${String((r.failure as any)?.message ?? r.failure)}`)
  return (r as Result.Success<A, E>).success
}

const assertFault = (
  e: EngineRecordError,
  reason: EngineRecordError["reason"],
  field: EngineRecordError["field"],
  index: number,
  detail?: RegExp
) => {
  assert.instanceOf(e, EngineRecordError)
  assert.strictEqual(e._tag, "EngineRecordError")
  assert.strictEqual(e.reason, reason)
  assert.strictEqual(e.field, field)
  assert.strictEqual(e.index, index)
  if (detail !== undefined) assert.match(e.detail, detail)
}

const bytes = (...xs: Array<number>) => Uint8Array.from(xs)

/** A valid ABI "7" record, raw form; tests change one field. */
const raw7 = (): Array<string | Uint8Array> => [
  "7",
  "_run_on_acc_0_engine",
  "0%9%0%0%NVIDIA H100 80GB HBM3",
  bytes(1, 2, 3, 4, 5),
  "x",
  "output0",
  "0",
  "gAJ9cQAu",
  "linux_x86_64",
  "0"
]

/** A valid ABI "10" record with aliased I/O, raw form. */
const raw10 = (): Array<string | Uint8Array> => [
  "10",
  "kv_engine",
  "1%8%9%1%NVIDIA L4",
  bytes(0, 255, 128, 7),
  "x%cache_k%cache_v",
  "y%cache_k_out%cache_v_out",
  "1",
  "gAJ9cQAu",
  "linux_aarch64",
  "1",
  "1",
  "0",
  "cache_v_out@cache_v@kv_cache_update%cache_k_out@cache_k@user"
]

const toBase64 = (fields: ReadonlyArray<string | Uint8Array>): Array<string> =>
  fields.map((f) => (typeof f === "string" ? f : Buffer.from(f).toString("base64")))

const with_ = <T>(fields: ReadonlyArray<T>, index: number, value: T): Array<T> =>
  fields.map((f, i) => (i === index ? value : f))

// ===== Layout =====

describe("layout", () => {
  it("indices, lengths and names agree with runtime.h", () => {
    assert.deepStrictEqual(ER.SERIALIZATION_LEN, { "7": 10, "10": 13 })
    assert.strictEqual(ER.FIELD_NAMES["7"].length, 10)
    assert.strictEqual(ER.FIELD_NAMES["10"].length, 13)
    assert.deepStrictEqual(ER.FIELD_NAMES["10"].slice(0, 10), ER.FIELD_NAMES["7"])
    const indices: Record<string, number> = {
      ABI_TARGET: ER.ABI_TARGET_IDX,
      NAME: ER.NAME_IDX,
      DEVICE: ER.DEVICE_IDX,
      ENGINE: ER.ENGINE_IDX,
      INPUT_BINDING_NAMES: ER.INPUT_BINDING_NAMES_IDX,
      OUTPUT_BINDING_NAMES: ER.OUTPUT_BINDING_NAMES_IDX,
      HW_COMPATIBLE: ER.HW_COMPATIBLE_IDX,
      SERIALIZED_METADATA: ER.SERIALIZED_METADATA_IDX,
      TARGET_PLATFORM: ER.TARGET_PLATFORM_IDX,
      REQUIRES_OUTPUT_ALLOCATOR: ER.REQUIRES_OUTPUT_ALLOCATOR_IDX,
      RESOURCE_ALLOCATION_STRATEGY: ER.RESOURCE_ALLOCATION_STRATEGY_IDX,
      REQUIRES_NATIVE_MULTIDEVICE: ER.REQUIRES_NATIVE_MULTIDEVICE_IDX,
      ALIASED_IO: ER.ALIASED_IO_IDX
    }
    ER.FIELD_NAMES["10"].forEach((name, i) => assert.strictEqual(indices[name], i, name))
    assert.strictEqual(ER.ENGINE_CLASS_FQN, "__torch__.torch.classes.tensorrt.Engine")
  })

  it("engineName follows _pack_engine_info", () => {
    assert.strictEqual(ER.engineName("_run_on_acc_0"), "_run_on_acc_0_engine")
    assert.strictEqual(ER.engineName(""), "tensorrt_engine")
  })
})

// ===== Samples =====

describe("sample records", () => {
  it("there are samples with engines", () => {
    assert.isAtLeast(samples.length, 7)
  })

  for (const sample of samples) {
    it.effect(`${sample}: every record decodes and re-encodes identically`, () =>
      Effect.gen(function*() {
        const path = nodePath.join(samplesDir, sample, "input.tgm")
        const root = yield* Tgm.readFile(path)
        const sizes = yield* engineEntries(path)
        const noOps = noOpRecords(nodePath.join(samplesDir, sample))
        const modules = trtModules(root)
        assert.isAtLeast(modules.length, 1)
        for (const m of modules) {
          const forms: Array<readonly [string, Module.EngineInfo]> = [["packed_engine_info", m.packedEngineInfo]]
          if (m.engineState !== undefined) forms.push(["engine_state", m.engineState])
          for (const [which, fields] of forms) {
            const label = `${sample}/${m.name} ${which}`
            const r = yield* Effect.fromResult(ER.decodeRaw(fields, label))
            assert.strictEqual(r.abi, "7", label)
            assert.strictEqual(fields.length, 10, label)
            assert.strictEqual(r.name, ER.engineName(m.name), label)
            assert.deepStrictEqual(r.device, H100, label)
            assert.strictEqual(r.targetPlatform, "linux_x86_64", label)
            assert.deepStrictEqual(r.inputBindingNames, m.inputBindingNames, label)
            assert.deepStrictEqual(r.outputBindingNames, m.outputBindingNames, label)
            assert.isFalse(r.hardwareCompatible)
            assert.isFalse(r.requiresOutputAllocator)
            assert.strictEqual(r.serializedMetadata, fields[ER.SERIALIZED_METADATA_IDX], label)
            assert.strictEqual(r.engine.byteLength, sizes.get(m.name), label)
            assert.isFalse("aliasedIo" in r, "an ABI 7 record has no ABI 10 fields")

            // Raw: the same strings and the very same engine object.
            const again = ER.encodeRaw(r)
            assert.deepStrictEqual(again, [...fields], label)
            assert.strictEqual(again[ER.ENGINE_IDX], fields[ER.ENGINE_IDX], "engine bytes are not copied")

            // Base64: same text back, and the same record.
            const b64 = success(ER.encodeBase64(r))
            assert.deepStrictEqual(b64, toBase64(fields), label)
            const fromB64 = yield* Effect.fromResult(ER.decodeBase64(b64, label))
            assert.deepStrictEqual(fromB64, r, label)
            assert.deepStrictEqual(success(ER.encodeBase64(fromB64)), b64, label)
          }

          // fromTrtModule takes engine_state where present.
          const chosen = yield* Effect.fromResult(ER.fromTrtModule(m))
          const state = m.engineState ?? m.packedEngineInfo
          assert.strictEqual(chosen.serializedMetadata, state[ER.SERIALIZED_METADATA_IDX])
          const packed = yield* Effect.fromResult(ER.fromTrtModule(m, { source: "packed_engine_info" }))
          assert.strictEqual(packed.serializedMetadata, m.packedEngineInfo[ER.SERIALIZED_METADATA_IDX])

          // The reference exporter's cross-compile arguments are the base64 form of engine_state.
          const args = noOps.get(chosen.name)
          assert.isDefined(args, `no-op call for ${chosen.name}`)
          assert.deepStrictEqual(args, success(ER.encodeBase64(chosen)))
          assert.deepStrictEqual(yield* Effect.fromResult(ER.decodeBase64(args!)), chosen)
        }
        assert.strictEqual(noOps.size, modules.length, "one no-op call per engine")
      }))
  }

  it.effect("a module with engine_state: its packed_engine_info differs only in SERIALIZED_METADATA", () =>
    Effect.gen(function*() {
      const root = yield* Tgm.readFile(nodePath.join(samplesDir, "mlp", "input.tgm"))
      const m = trtModules(root).find((t) => t.engineState !== undefined)!
      const a = yield* Effect.fromResult(ER.decodeRaw(m.packedEngineInfo))
      const b = yield* Effect.fromResult(ER.decodeRaw(m.engineState!))
      assert.notStrictEqual(a.serializedMetadata, b.serializedMetadata)
      assert.deepStrictEqual({ ...a, serializedMetadata: "" }, { ...b, serializedMetadata: "" })
    }))
})

// ===== ABI 10 =====

describe("ABI 10", () => {
  it("a hand-built record round-trips in both forms, aliased I/O included", () => {
    const fields = raw10()
    const r = success(ER.decodeRaw(fields))
    assert.strictEqual(r.abi, "10")
    if (r.abi !== "10") return
    assert.deepStrictEqual(r.device, { gpuId: 1, major: 8, minor: 9, deviceType: 1, deviceName: "NVIDIA L4" })
    assert.deepStrictEqual(r.inputBindingNames, ["x", "cache_k", "cache_v"])
    assert.deepStrictEqual(r.outputBindingNames, ["y", "cache_k_out", "cache_v_out"])
    assert.isTrue(r.hardwareCompatible)
    assert.isTrue(r.requiresOutputAllocator)
    assert.strictEqual(r.targetPlatform, "linux_aarch64")
    assert.strictEqual(r.resourceAllocationStrategy, "dynamic")
    assert.isFalse(r.requiresNativeMultidevice)
    assert.deepStrictEqual(r.aliasedIo, [
      { output: "cache_v_out", input: "cache_v", kind: "kv_cache_update" },
      { output: "cache_k_out", input: "cache_k", kind: "user" }
    ])
    const back = ER.encodeRaw(r)
    assert.deepStrictEqual(back, fields)
    assert.strictEqual(back[ER.ENGINE_IDX], fields[ER.ENGINE_IDX])

    const b64 = toBase64(fields)
    assert.strictEqual(b64[ER.ENGINE_IDX], "AP+ABw==")
    const r2 = success(ER.decodeBase64(b64))
    assert.deepStrictEqual(r2, r)
    assert.deepStrictEqual(success(ER.encodeBase64(r2)), b64)
    assert.isTrue(Schema.is(ER.EngineRecord)(r))
  })

  it("empty lists: no bindings, no aliased I/O, an empty engine", () => {
    const fields = with_(with_(with_(with_(raw10(), 4, ""), 5, ""), 12, ""), 3, new Uint8Array(0))
    const r = success(ER.decodeRaw(fields))
    assert.deepStrictEqual(r.inputBindingNames, [])
    assert.deepStrictEqual(r.abi === "10" && r.aliasedIo, [])
    assert.deepStrictEqual(ER.encodeRaw(r), fields)
    assert.deepStrictEqual(success(ER.encodeBase64(r))[ER.ENGINE_IDX], "")
    assert.deepStrictEqual(success(ER.decodeBase64(success(ER.encodeBase64(r)))), r)
  })

  it("sortAliasedIo puts aliased outputs in output-binding order", () => {
    const r = success(ER.decodeRaw(raw10())) as ER.Abi10Record
    const sorted = ER.sortAliasedIo(r)
    assert.deepStrictEqual(sorted.aliasedIo.map((a) => a.output), ["cache_k_out", "cache_v_out"])
    assert.strictEqual(
      ER.encodeRaw(sorted)[ER.ALIASED_IO_IDX],
      "cache_k_out@cache_k@user%cache_v_out@cache_v@kv_cache_update"
    )
    assert.deepStrictEqual(r.aliasedIo.map((a) => a.output), ["cache_v_out", "cache_k_out"], "input untouched")
  })

  it("withEngine swaps the bytes and keeps everything else", () => {
    const r = success(ER.decodeRaw(raw10()))
    const engine = bytes(9, 9)
    const r2 = ER.withEngine(r, engine)
    assert.strictEqual(r2.engine, engine)
    assert.deepStrictEqual(ER.encodeRaw(r2), with_(raw10(), ER.ENGINE_IDX, engine as string | Uint8Array))
  })
})

// ===== Rejections =====

describe("rejections", () => {
  it("FieldCount: a length that disagrees with the ABI, or an empty record", () => {
    assertFault(failure(ER.decodeRaw(raw7().slice(0, 9))), "FieldCount", "SERIALIZATION_LEN", 9, /10 fields.*9/)
    assertFault(failure(ER.decodeRaw([...raw7(), "0"])), "FieldCount", "SERIALIZATION_LEN", 10, /has 11/)
    assertFault(failure(ER.decodeRaw(with_(raw10(), 0, "7"))), "FieldCount", "SERIALIZATION_LEN", 10)
    assertFault(failure(ER.decodeRaw(with_(raw7(), 0, "10"))), "FieldCount", "SERIALIZATION_LEN", 10, /13/)
    assertFault(failure(ER.decodeRaw([])), "FieldCount", "ABI_TARGET", 0, /empty/)
  })

  it("UnsupportedAbi: names the known layouts, and the release of a historic ABI", () => {
    const e = failure(ER.decodeRaw(with_(raw7(), 0, "8")))
    assertFault(e, "UnsupportedAbi", "ABI_TARGET", 0, /v2\.11/)
    assert.match(e.detail, /ABI "7" \(10 fields/)
    assert.match(e.detail, /ABI "10" \(13 fields/)
    assertFault(failure(ER.decodeRaw(with_(raw7(), 0, "07"))), "UnsupportedAbi", "ABI_TARGET", 0)
  })

  it("BadField: bytes outside ENGINE, a string at ENGINE in the raw form; in the base64 form, bytes at ENGINE are the text's", () => {
    assertFault(failure(ER.decodeRaw(with_(raw7(), 1, bytes(1)))), "BadField", "NAME", 1, /1 bytes/)
    assertFault(failure(ER.decodeRaw(with_(raw7(), 0, bytes(55)))), "BadField", "ABI_TARGET", 0)
    assertFault(failure(ER.decodeRaw(toBase64(raw7()))), "BadField", "ENGINE", 3, /decodeBase64/)
    assertFault(failure(ER.decodeBase64(with_<string | Uint8Array>(toBase64(raw7()), 1, bytes(4)))), "BadField", "NAME", 1)
    // A raw record given to decodeBase64: its engine's bytes are read as base64 text, which they are not.
    assertFault(failure(ER.decodeBase64(with_<string | Uint8Array>(toBase64(raw7()), 3, Uint8Array.of(0, 1, 2, 3)))), "BadBase64", "ENGINE", 3)
  })

  it("the base64 form's engine as its text's bytes: the same record as from the string, made and read chunk by chunk", () => {
    const ascii = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0))
    // Sizes around the 3-byte quantum, and one past a 48 MiB chunk of engine (64 MiB of text).
    for (const n of [0, 1, 2, 3, 4, 5, 1000, 3 * 2 ** 24 + 5]) {
      const engine = new Uint8Array(n)
      for (let i = 0; i < n; i += 4093) engine[i] = (i * 31) & 0xff
      const r = { ...success(ER.decodeRaw(raw7())), engine }
      const text = success(ER.encodeBase64Text(r))
      const strings = success(ER.encodeBase64(r))
      assert.deepStrictEqual(text.map((f) => (typeof f === "string" ? f : Buffer.from(f).toString("latin1"))), strings, `${n}`)
      assert.deepStrictEqual(success(ER.decodeBase64(text)), success(ER.decodeBase64(strings)), `${n}`)
    }
    // Not canonical, at the end (padding bits) and in the body, as for a string.
    for (const bad of ["AQI=x", "AR==", "AB-C", "A==="]) {
      assertFault(failure(ER.decodeBase64(with_<string | Uint8Array>(toBase64(raw7()), 3, ascii(bad)))), "BadBase64", "ENGINE", 3)
    }
  })

  it("BadDevice: not 5 tokens, non-canonical numbers, an unknown device type, an empty name", () => {
    const bad = (device: string, detail?: RegExp) =>
      assertFault(failure(ER.decodeRaw(with_(raw7(), 2, device))), "BadDevice", "DEVICE", 2, detail)
    bad("0%9%0%0", /5 .*got 4/)
    bad("0%9%0%0%NVIDIA%H100", /got 6/)
    bad("00%9%0%0%X", /gpu_id "00"/)
    bad("+0%9%0%0%X", /gpu_id/)
    bad("0%-9%0%0%X", /major/)
    bad("0%9% 0%0%X", /minor/)
    bad("0%9%0%0x1%X", /device_type/)
    bad("0%9%0%2%X", /neither GPU \(0\) nor DLA \(1\)/)
    bad("2147483648%9%0%0%X", /2147483647/)
    bad("0%9%0%0%", /name is empty/)
  })

  it("BadBindings: an empty item in a non-empty list", () => {
    const e = failure(ER.decodeRaw(with_(raw7(), 4, "x%%y")))
    assertFault(e, "BadBindings", "INPUT_BINDING_NAMES", 4, /item 1/)
    assertFault(failure(ER.decodeRaw(with_(raw7(), 5, "%"))), "BadBindings", "OUTPUT_BINDING_NAMES", 5)
    assertFault(failure(ER.decodeRaw(with_(raw7(), 5, "a%"))), "BadBindings", "OUTPUT_BINDING_NAMES", 5)
  })

  it("BadFlag: anything but \"0\" and \"1\", at every flag", () => {
    assertFault(failure(ER.decodeRaw(with_(raw7(), 6, "true"))), "BadFlag", "HW_COMPATIBLE", 6)
    assertFault(failure(ER.decodeRaw(with_(raw7(), 9, "01"))), "BadFlag", "REQUIRES_OUTPUT_ALLOCATOR", 9)
    assertFault(
      failure(ER.decodeRaw(with_(raw10(), 10, "2"))),
      "BadFlag",
      "RESOURCE_ALLOCATION_STRATEGY",
      10,
      /static.*dynamic/
    )
    assertFault(failure(ER.decodeRaw(with_(raw10(), 11, ""))), "BadFlag", "REQUIRES_NATIVE_MULTIDEVICE", 11)
  })

  it("BadPlatform: the Python-only win_* names, and unknown names", () => {
    const e = failure(ER.decodeRaw(with_(raw7(), 8, "win_x86_64")))
    assertFault(e, "BadPlatform", "TARGET_PLATFORM", 8, /C\+\+ name is "windows_x86_64"/)
    assertFault(
      failure(ER.decodeRaw(with_(raw7(), 8, "win_arm64"))),
      "BadPlatform",
      "TARGET_PLATFORM",
      8,
      /windows_arm64/
    )
    assertFault(failure(ER.decodeRaw(with_(raw7(), 8, "Linux_x86_64"))), "BadPlatform", "TARGET_PLATFORM", 8)
    for (const p of ["linux_x86_64", "linux_aarch64", "windows_x86_64", "windows_arm64", "unknown"]) {
      assert.strictEqual(success(ER.decodeRaw(with_(raw7(), 8, p))).targetPlatform, p)
    }
  })

  it("BadBase64: only canonical, padded RFC 4648 base64 round-trips", () => {
    const bad = (engine: string) =>
      assertFault(failure(ER.decodeBase64(with_(toBase64(raw7()), 3, engine))), "BadBase64", "ENGINE", 3)
    bad("AQ") // unpadded
    bad("AR==") // non-zero padding bits
    bad("AQI") // unpadded
    bad("AQJ=") // non-zero padding bits
    bad("AQ==\n") // whitespace
    bad("A-_w") // base64url
    bad("AQ=") // short padding
    bad("====")
    assert.deepStrictEqual(
      [...(success(ER.decodeBase64(with_(toBase64(raw7()), 3, "AQI="))).engine)],
      [1, 2]
    )
  })

  it("BadAliasedIo: malformed entries, unknown kinds, names that are no binding, repeated outputs", () => {
    const bad = (text: string, detail?: RegExp) =>
      assertFault(failure(ER.decodeRaw(with_(raw10(), 12, text))), "BadAliasedIo", "ALIASED_IO", 12, detail)
    bad("cache_k_out@cache_k", /not out@in@kind/)
    bad("cache_k_out@cache_k@user@x", /not out@in@kind/)
    bad("@cache_k@user", /not out@in@kind/)
    bad("cache_k_out@cache_k@user%", /entry 1/)
    bad("cache_k_out@cache_k@weird", /kind "weird"/)
    bad("nope@cache_k@user", /not an output binding/)
    bad("cache_k_out@nope@user", /not an input binding/)
    bad("cache_k_out@cache_k@user%cache_k_out@cache_v@user", /second time/)
  })

  it("BindingMismatch: a record whose bindings are not the module's", () => {
    const r = success(ER.decodeRaw(raw7()))
    const e = failure(ER.validateBindings(r, { inputBindingNames: ["y"], outputBindingNames: ["output0"] }, "m"))
    assertFault(e, "BindingMismatch", "INPUT_BINDING_NAMES", 4, /\["x"\].*\["y"\]/)
    assert.strictEqual(e.record, "m")
    const e2 = failure(ER.validateBindings(r, { inputBindingNames: ["x"], outputBindingNames: [] }))
    assertFault(e2, "BindingMismatch", "OUTPUT_BINDING_NAMES", 5)
    const same = ER.validateBindings(r, { inputBindingNames: ["x"], outputBindingNames: ["output0"] })
    assert.strictEqual(success(same), r)

    const m = new Module.TrtModule({
      name: "_run_on_acc_0",
      packedEngineInfo: raw7(),
      inputBindingNames: ["x", "z"],
      outputBindingNames: ["output0"]
    })
    const e3 = failure(ER.fromTrtModule(m))
    assertFault(e3, "BindingMismatch", "INPUT_BINDING_NAMES", 4)
    assert.strictEqual(e3.record, "_run_on_acc_0 (packed_engine_info)")
  })

  it.effect("the Effect variants fail with the same located error, labelled", () =>
    Effect.gen(function*() {
      const e = yield* Effect.fromResult(ER.decodeRaw(with_(raw7(), 8, "win_x86_64"), "_run_on_acc_0 (engine_state)")).pipe(Effect.flip)
      assertFault(e, "BadPlatform", "TARGET_PLATFORM", 8)
      assert.strictEqual(e.record, "_run_on_acc_0 (engine_state)")
      assert.match(e.message, /^_run_on_acc_0 \(engine_state\): TARGET_PLATFORM \[8\]: BadPlatform: /)
      const e2 = yield* Effect.fromResult(ER.decodeBase64(with_(toBase64(raw7()), 3, "AQ"))).pipe(Effect.flip)
      assertFault(e2, "BadBase64", "ENGINE", 3)
      assert.isUndefined(e2.record)
      assert.match(e2.message, /^engine record: ENGINE \[3\]: BadBase64: /)
      const r = yield* Effect.fromResult(ER.decodeRaw(raw7()))
      const e3 = yield* Effect.fromResult(ER.validateBindings(r, { inputBindingNames: [], outputBindingNames: ["output0"] })).pipe(
        Effect.flip
      )
      assertFault(e3, "BindingMismatch", "INPUT_BINDING_NAMES", 4)
    }))
})

// ===== Properties =====

// Schema arbitraries sometimes build objects with a null prototype, which deep equality tells apart from the
// plain objects the decoder makes; the same fields on plain objects.
const plain = (r: ER.EngineRecord): ER.EngineRecord => {
  const common = {
    device: { ...r.device },
    inputBindingNames: [...r.inputBindingNames],
    outputBindingNames: [...r.outputBindingNames]
  }
  return r.abi === "7" ? { ...r, ...common } : { ...r, ...common, aliasedIo: r.aliasedIo.map((a) => ({ ...a })) }
}

describe("properties", () => {
  it.prop("decode(encode(r)) is r, for both forms and both ABIs", [ER.EngineRecord], ([generated]) => {
    const r = plain(generated)
    const raw = ER.encodeRaw(r)
    assert.strictEqual(raw.length, ER.SERIALIZATION_LEN[r.abi])
    const fromRaw = success(ER.decodeRaw(raw))
    assert.deepStrictEqual(fromRaw, r)
    assert.strictEqual(fromRaw.engine, r.engine)
    const b64 = success(ER.encodeBase64(r))
    const fromB64 = success(ER.decodeBase64(b64))
    assert.deepStrictEqual(fromB64, r)
    assert.strictEqual(Object.getPrototypeOf(fromB64.engine), Uint8Array.prototype, "a plain Uint8Array, not a Buffer")
    assert.deepStrictEqual(success(ER.encodeBase64(fromB64)), b64)
  }, { arbitrary: { runs: 300 } })

  // Schema-generated ABI 10 records rarely alias anything (a random alias seldom names a binding), so
  // this one draws aliases from the record's own bindings.
  it.prop(
    "ABI 10 records with aliased I/O survive both forms",
    {
      r: ER.Abi10Record,
      picks: Schema.Array(Schema.Tuple([Schema.Int, Schema.Int, Schema.Literals(["kv_cache_update", "user"])]))
    },
    ({ picks, r: generated }) => {
      const r = plain(generated) as ER.Abi10Record
      const outs = r.outputBindingNames.filter((n) => !n.includes("@"))
      const ins = r.inputBindingNames.filter((n) => !n.includes("@"))
      const used = new Set<string>()
      const aliasedIo: Array<ER.AliasedIo> = []
      if (outs.length > 0 && ins.length > 0) {
        for (const [o, i, kind] of picks) {
          const output = outs[Math.abs(o) % outs.length]!
          if (used.has(output)) continue
          used.add(output)
          aliasedIo.push({ output, input: ins[Math.abs(i) % ins.length]!, kind })
        }
      }
      const rec: ER.Abi10Record = { ...r, aliasedIo }
      assert.isTrue(Schema.is(ER.EngineRecord)(rec))
      assert.deepStrictEqual(success(ER.decodeRaw(ER.encodeRaw(rec))), rec)
      assert.deepStrictEqual(success(ER.decodeBase64(success(ER.encodeBase64(rec)))), rec)
    },
    { arbitrary: { runs: 200 } }
  )

  it.prop(
    "the schema and the decoder agree: a decoded record is valid, an invalid device string is refused",
    { name: Schema.String.check(Schema.isPattern(/^[A-Za-z_][A-Za-z0-9_]*$/)), gpu: Schema.Int },
    ({ gpu, name }) => {
      const fields = with_(with_(raw7(), 1, name), 2, `${gpu}%9%0%0%NVIDIA H100 80GB HBM3`)
      const r = ER.decodeRaw(fields)
      if (gpu >= 0 && gpu <= 2147483647) {
        assert.isTrue(Schema.is(ER.EngineRecord)(success(r)))
      } else {
        assertFault(failure(r), "BadDevice", "DEVICE", 2)
      }
    }
  )
})

describe("EngineRecord: engines past a string's length", () => {
  it("the bound is the longest engine whose base64 text a string holds, and a longer one is TooLarge at ENGINE", () => {
    const max = ER.MAX_BASE64_ENGINE_BYTES
    const base64Length = (n: number) => Math.ceil(n / 3) * 4
    assert.isAtMost(base64Length(max), constants.MAX_STRING_LENGTH)
    assert.isAbove(base64Length(max + 1), constants.MAX_STRING_LENGTH)
    // The buffer is never written, so the operating system gives it no memory.
    const r = { ...success(ER.decodeRaw(raw7())), engine: new Uint8Array(max + 1) }
    const e = failure(ER.encodeBase64(r, "big_engine"))
    assert.strictEqual(e.reason, "TooLarge")
    assert.strictEqual(e.field, "ENGINE")
    assert.strictEqual(e.index, ER.ENGINE_IDX)
    assert.strictEqual(e.record, "big_engine")
    assert.include(e.message, `${max + 1} bytes`)
    // As text for a pickle, the bound is BINUNICODE's 2^32 - 1 bytes: the engine above is within it.
    assert.isAtMost(base64Length(ER.MAX_BASE64_TEXT_ENGINE_BYTES), 2 ** 32 - 1)
    assert.isAbove(base64Length(ER.MAX_BASE64_TEXT_ENGINE_BYTES + 1), 2 ** 32 - 1)
    const past = failure(ER.encodeBase64Text({ ...r, engine: new Uint8Array(ER.MAX_BASE64_TEXT_ENGINE_BYTES + 1) }))
    assert.deepStrictEqual([past.reason, past.field, past.index], ["TooLarge", "ENGINE", ER.ENGINE_IDX])
  })
})
