/**
 * Reading `.pt2` archives as torch 2.11's `torch.export.load` reads them (`torch/export/pt2_archive/_package.py`,
 * `shared/spec/pt2-format.md` §1.2, §1.7), into an exported program, without torch and without running any
 * pickle.
 *
 * Rules, in the loader's order:
 * 1. The zip checks of `PyTorchStreamReader`: the first entry fixes the root folder and every entry lies
 *    under it; `<root>/.data/version` (or a legacy `<root>/version`) holds a version from 1 to 10.
 * 2. `archive_format` is exactly `pt2` and `archive_version` exactly `0`.
 * 3. `models/model.json` decodes with the schema (8, 17) records; its major version is 8 (or exactly 0.0).
 * 4. `data/weights/model_weights_config.json` and `data/constants/model_constants_config.json` decode as
 *    payload configs. Each tensor is a view into its file's bytes (tensors naming one file share one storage
 *    of the first entry's dtype and device, an empty file is zeros of that entry's sizes, and the view must
 *    lie inside it), held to the tensor rules (`Tensor.check`); a parameter's payload says `is_param`; each
 *    custom object is its nested-zip pickle read by the restricted decoder. A TensorRT engine's state
 *    (base64 engine, `__getstate__`'s form) is decoded into its engine record and held as the raw fields the
 *    rest of trtx uses.
 * 5. The graph is rebuilt by `Deserialize.program`; `extra/<name>` entries are read as UTF-8 text.
 *
 * Every fault is an `ArchiveError` naming the archive, the entry and, inside JSON, the path.
 *
 * @since 0.1.0
 */
import { Effect, Result } from "effect"
import * as ArchiveError from "../ArchiveError.ts"
import * as Json from "../Json.ts"
import * as Limits from "../Limits.ts"
import * as Zip from "../zip/Zip.ts"
import * as Tensor from "../../graph/Tensor.ts"
import * as EngineRecord from "../../program/EngineRecord.ts"
import type { ExportedProgram } from "../../program/ExportedProgram.ts"
import * as Deserialize from "./Deserialize.ts"
import * as Pickle from "./Pickle.ts"
import * as Records from "./Records.ts"
import * as RecordVersion from "./RecordVersion.ts"

// ===== Models =====

/**
 * A read archive: its program and its `extra/` files.
 *
 * @since 0.1.0
 * @category models
 */
export interface Pt2 {
  readonly program: ExportedProgram
  readonly extraFiles: Readonly<Record<string, string>>
}

const text = (bytes: Uint8Array, location: ArchiveError.Location): Effect.Effect<string, ArchiveError.ArchiveError> =>
  Effect.try({
    try: () => new TextDecoder("utf-8", { fatal: true }).decode(bytes),
    catch: () => ArchiveError.at(location, "SchemaMismatch", "not valid UTF-8")
  })

// ===== Container =====

const rootOf = (zip: Zip.ZipReader): Effect.Effect<string, ArchiveError.ArchiveError> => {
  const archive = zip.archive
  const first = zip.entries.keys().next()
  if (first.done === true) return Effect.fail(ArchiveError.at({ archive }, "MissingEntry", "the archive has no entries"))
  const slash = first.value.indexOf("/")
  if (slash <= 0) {
    return Effect.fail(ArchiveError.at({ archive, entry: first.value }, "SchemaMismatch", "the first entry is not in a root folder"))
  }
  const root = first.value.slice(0, slash + 1)
  for (const name of zip.entries.keys()) {
    if (!name.startsWith(root)) {
      return Effect.fail(ArchiveError.at({ archive, entry: name }, "SchemaMismatch", `entry is not under the root folder ${root}`))
    }
  }
  return Effect.succeed(root)
}

const checkVersions = (zip: Zip.ZipReader, root: string) =>
  Effect.gen(function*() {
    const archive = zip.archive
    yield* RecordVersion.check(zip, root, (entry) => ({ archive, entry }))
    const exact = (name: string, expected: string) =>
      Effect.gen(function*() {
        const entry = `${root}${name}`
        const value = yield* text(yield* zip.readJson(entry), { archive, entry })
        if (value !== expected) {
          return yield* ArchiveError.at({ archive, entry }, "UnsupportedVersion", `${JSON.stringify(value)} is not ${JSON.stringify(expected)}`)
        }
      })
    yield* exact("archive_format", "pt2")
    yield* exact("archive_version", "0")
  })

// ===== Payloads =====

/**
 * The tensors and custom objects of a payload config, as torch's `_build_file_map` and `_load_state_dict`
 * load them: each raw file is one flat tensor of the dtype and device of the first entry naming it
 * (`torch.zeros` of that entry's sizes when the file is empty; otherwise its bytes, a whole number of
 * elements), and each entry a view of it (`as_strided`), held to the tensor rules (`Tensor.check`,
 * `Tensor.checkInBounds`). `params` gathers the FQNs whose payload says `is_param`.
 */
const tensorsOf = (
  zip: Zip.ZipReader,
  config: Records.PayloadConfig,
  folder: string,
  entry: string,
  objects: ((fqn: string, meta: Records.PayloadMeta, path: string) => Effect.Effect<Tensor.ScriptObject, ArchiveError.ArchiveError>) | undefined,
  params?: Set<string>
) =>
  Effect.gen(function*() {
    const archive = zip.archive
    const limits = yield* Limits.Limits
    const files = new Map<string, { readonly storage: Tensor.Storage; readonly dtype: string; readonly device: string; readonly first: string }>()
    // Bytes made up for empty files (torch.zeros), held to the limits as if they were read.
    let zeroFilled = 0
    const out = new Map<string, Tensor.Tensor | Tensor.ScriptObject>()
    for (const [key, meta] of Object.entries(config.config)) {
      const fqn = Json.unkey(key)
      const path = Json.child("$.config", fqn)
      const location = { archive, entry, path }
      if (objects !== undefined) {
        // torch's `_load_constants`: the file's prefix selects the decoder, whatever the rest of the entry says.
        if (meta.path_name.startsWith("custom_obj_")) {
          out.set(fqn, yield* objects(fqn, meta, path))
          continue
        }
        if (!meta.path_name.startsWith("tensor_")) {
          return yield* ArchiveError.at(
            { ...location, path: `${path}.path_name` },
            "SchemaMismatch",
            `torch loads a constant from a tensor_ or custom_obj_ file only ("Unsupported constant type: ${meta.path_name}")`
          )
        }
      }
      if (meta.tensor_meta === null) {
        return yield* ArchiveError.at(
          { ...location, path: `${path}.tensor_meta` },
          "SchemaMismatch",
          objects === undefined ? "a weight must be a tensor" : "a tensor constant must have its tensor_meta"
        )
      }
      if (meta.use_pickle) {
        return yield* ArchiveError.at(location, "Unserializable", "pickled tensor payloads (torch.save) are not read by trtx")
      }
      const metaPath = `${path}.tensor_meta`
      // The tensor rules (`Tensor.check`) are applied here, with the JSON path of the field that breaks one.
      const m = Deserialize.storedTensorMeta(meta.tensor_meta, { archive, entry, path: metaPath })
      if (Result.isFailure(m)) return yield* m.failure
      const t = m.success
      if (!Tensor.isConcrete(t)) {
        return yield* ArchiveError.at({ ...location, path: metaPath }, "SchemaMismatch", "a stored tensor cannot have symbolic sizes")
      }
      const file = `${folder}${meta.path_name}`
      let flat = files.get(meta.path_name)
      if (flat === undefined) {
        const bytes = yield* zip.read(file)
        const itemSize = Tensor.itemSize(t.dtype)!
        let storage: Tensor.Storage
        if (bytes.byteLength === 0) {
          // torch cannot make a tensor from no bytes (`frombuffer` refuses them): it loads `torch.zeros` of the
          // first entry's sizes instead, a storage every other entry of the file must then fit.
          const n = t.shape.reduce((a, b) => a * BigInt(b), 1n) * BigInt(itemSize)
          const limit = n > BigInt(limits.entryBytes) ? "entryBytes" : BigInt(zeroFilled) + n > BigInt(limits.totalBytes) ? "totalBytes" : undefined
          if (limit !== undefined) {
            return yield* ArchiveError.at(
              { ...location, path: `${metaPath}.sizes` },
              "EntryTooLarge",
              `${file} is empty, so torch loads it as torch.zeros([${t.shape.join(", ")}]) of ${t.dtype}: ${n} bytes exceed the ` +
                `limit of ${limits[limit]} (Limits.${limit}: raisable with Limits.${limit} in a program or ` +
                `${limit === "entryBytes" ? "--max-entry-bytes" : "--max-total-bytes"} on the CLI)`
            )
          }
          zeroFilled += Number(n)
          storage = Tensor.storage(new Uint8Array(Number(n)))
        } else {
          if (bytes.byteLength % itemSize !== 0) {
            return yield* ArchiveError.at(
              { ...location, path: `${metaPath}.dtype` },
              "SchemaMismatch",
              `${file} holds ${bytes.byteLength} bytes, not a whole number of ${t.dtype} elements (the dtype of ${fqn}, its first ` +
                `entry): torch refuses it ("buffer length (${bytes.byteLength} bytes) after offset (0 bytes) must be a multiple of ` +
                `element size (${itemSize})")`
            )
          }
          storage = Tensor.storage(bytes)
        }
        flat = { storage, dtype: t.dtype, device: t.device, first: fqn }
        files.set(meta.path_name, flat)
      } else {
        // torch's loader gives every entry of a file the flat tensor's dtype and device, the first entry's: an
        // entry that says otherwise would silently change (docs/divergences.md).
        for (const [field, mine, theirs] of [["dtype", t.dtype, flat.dtype], ["device", t.device, flat.device]] as const) {
          if (mine !== theirs) {
            return yield* ArchiveError.at(
              { ...location, path: `${metaPath}.${field}` },
              "SchemaMismatch",
              `${fqn} is ${mine}, but ${file} is loaded as ${theirs}, the ${field} of its first entry ${flat.first}: torch's ` +
                `loader would make ${fqn} ${theirs}`
            )
          }
        }
      }
      const outside = Tensor.checkInBounds(t, flat.storage.bytes.byteLength)
      if (outside !== undefined) {
        return yield* ArchiveError.at({ ...location, path: metaPath }, "StorageTooSmall", `${fqn} in ${file}: ${outside.detail}`)
      }
      if (meta.is_param) params?.add(fqn)
      out.set(
        fqn,
        Tensor.make({
          storage: flat.storage,
          dtype: t.dtype,
          shape: t.shape,
          stride: t.stride,
          storageOffset: t.storageOffset,
          device: t.device,
          requiresGrad: t.requiresGrad
        })
      )
    }
    return out
  })

// A custom object: its torchbind pickle, decoded; an engine's base64 state becomes the raw record fields.
const customObject = (zip: Zip.ZipReader, folder: string, fqn: string, meta: Records.PayloadMeta, path: string) =>
  Effect.gen(function*() {
    const entry = `${folder}${meta.path_name}`
    const location = { archive: zip.archive, entry }
    const obj = yield* Pickle.readCustomObject(yield* zip.read(entry), location)
    const state = Pickle.stringState(obj)
    if (state === undefined) {
      return yield* ArchiveError.at({ ...location, path }, "BadPickle", `${fqn}: the state of ${obj.classFqn} is not a list of strings`)
    }
    if (obj.classFqn !== EngineRecord.ENGINE_CLASS_FQN) {
      const strings: Array<string> = []
      for (const s of state) {
        const text = Pickle.textOf(s)
        if (Result.isFailure(text)) return yield* ArchiveError.at({ ...location, path }, "BadPickle", `${fqn}: ${text.failure}`)
        strings.push(text.success)
      }
      return { _tag: "ScriptObject", classFqn: obj.classFqn, state: strings } as const
    }
    // An engine's base64 text of more than Pickle.LONG_TEXT bytes is decoded from its bytes.
    const record = EngineRecord.decodeBase64(state.map((s) => (s instanceof Pickle.LongText ? s.bytes : s)), fqn)
    if (Result.isFailure(record)) {
      return yield* ArchiveError.at({ ...location, path }, "SchemaMismatch", record.failure.message)
    }
    return { _tag: "ScriptObject", classFqn: obj.classFqn, state: EngineRecord.encodeRaw(record.success) } as const
  })

// ===== Decoding =====

/**
 * Reads a `.pt2` archive from a file or from bytes.
 *
 * @since 0.1.0
 * @category decoding
 */
export const read = (source: Zip.ZipSource): Effect.Effect<Pt2, ArchiveError.ArchiveError> =>
  Effect.scoped(
    Effect.gen(function*() {
      const zip = yield* Zip.open(source)
      const archive = zip.archive
      const root = yield* rootOf(zip)
      yield* checkVersions(zip, root)

      const modelEntry = `${root}models/model.json`
      const records = yield* Json.decode(Records.ExportedProgram, yield* zip.readJson(modelEntry), { archive, entry: modelEntry })
      if (!Records.isLoadableSchemaVersion(records.schema_version)) {
        const v = records.schema_version
        return yield* ArchiveError.at(
          { archive, entry: modelEntry, path: "$.schema_version" },
          "UnsupportedVersion",
          `schema ${v.major}.${v.minor}; torch 2.11 loads major ${Records.SCHEMA_VERSION.major}`
        )
      }
      // torch's loader requires the sample-inputs record even when it is empty.
      if (!zip.entries.has(`${root}data/sample_inputs/model.pt`)) {
        return yield* ArchiveError.at({ archive, entry: `${root}data/sample_inputs/model.pt` }, "MissingEntry", "torch requires this record")
      }

      const weightsEntry = `${root}data/weights/model_weights_config.json`
      const weightsConfig = yield* Json.decode(Records.PayloadConfig, yield* zip.readJson(weightsEntry), { archive, entry: weightsEntry })
      const params = new Set<string>()
      const weights = yield* tensorsOf(zip, weightsConfig, `${root}data/weights/`, weightsEntry, undefined, params)
      const constantsEntry = `${root}data/constants/model_constants_config.json`
      const constantsConfig = yield* Json.decode(Records.PayloadConfig, yield* zip.readJson(constantsEntry), {
        archive,
        entry: constantsEntry
      })
      const constants = yield* tensorsOf(
        zip,
        constantsConfig,
        `${root}data/constants/`,
        constantsEntry,
        (fqn, meta, path) => customObject(zip, `${root}data/constants/`, fqn, meta, path)
      )

      const extraFiles: Record<string, string> = {}
      for (const name of zip.entries.keys()) {
        if (name.startsWith(`${root}extra/`)) {
          // An own data property whatever the name: `extra/__proto__` is a file, not a prototype.
          Object.defineProperty(extraFiles, name.slice(`${root}extra/`.length), {
            value: yield* text(yield* zip.readJson(name), { archive, entry: name }),
            enumerable: true,
            writable: true,
            configurable: true
          })
        }
      }

      const program = yield* Effect.fromResult(
        Deserialize.program(records, { stateDict: weights as Map<string, Tensor.Tensor>, constants }, { archive, entry: modelEntry })
      )
      // torch's verifier: a parameter's weight is loaded as an `nn.Parameter` only where its payload says so.
      for (const spec of program.graphSignature.inputSpecs) {
        if (spec._tag === "Parameter" && !params.has(spec.target)) {
          return yield* ArchiveError.at(
            { archive, entry: weightsEntry, path: `${Json.child("$.config", spec.target)}.is_param` },
            "SchemaMismatch",
            `torch refuses a parameter whose payload is not one ("State dict entry for parameter ${spec.target} is not an instance of torch.nn.Parameter.")`
          )
        }
      }
      return { program, extraFiles }
    })
  )

/**
 * Reads a `.pt2` file.
 *
 * @since 0.1.0
 * @category decoding
 */
export const readFile = (path: string): Effect.Effect<Pt2, ArchiveError.ArchiveError> => read({ _tag: "File", path })

/**
 * Reads a `.pt2` archive held in memory; `label` names it in errors.
 *
 * @since 0.1.0
 * @category decoding
 */
export const readBytes = (bytes: Uint8Array, label = "<bytes>"): Effect.Effect<Pt2, ArchiveError.ArchiveError> =>
  read({ _tag: "Bytes", bytes, label })
