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
 *    payload configs. Each tensor is a view into its file's bytes (tensors naming one file share one storage,
 *    and the view must lie inside it); each custom object is its nested-zip pickle read by the restricted
 *    decoder. A TensorRT engine's state (base64 engine, `__getstate__`'s form) is decoded into its engine
 *    record and held as the raw fields the rest of trtx uses.
 * 5. The graph is rebuilt by `Deserialize.program`; `extra/<name>` entries are read as UTF-8 text.
 *
 * Every fault is an `ArchiveError` naming the archive, the entry and, inside JSON, the path.
 *
 * @since 0.1.0
 */
import { Effect, Result } from "effect"
import * as ArchiveError from "../ArchiveError.ts"
import * as Json from "../Json.ts"
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

const tensorsOf = (
  zip: Zip.ZipReader,
  config: Records.PayloadConfig,
  folder: string,
  entry: string,
  objects: (fqn: string, meta: Records.PayloadMeta, path: string) => Effect.Effect<Tensor.ScriptObject, ArchiveError.ArchiveError> | undefined
) =>
  Effect.gen(function*() {
    const archive = zip.archive
    const storages = new Map<string, Tensor.Storage>()
    const out = new Map<string, Tensor.Tensor | Tensor.ScriptObject>()
    for (const [key, meta] of Object.entries(config.config)) {
      const fqn = Json.unkey(key)
      const path = Json.child("$.config", fqn)
      const location = { archive, entry, path }
      if (meta.tensor_meta === null) {
        const obj = objects(fqn, meta, path)
        if (obj === undefined) return yield* ArchiveError.at(location, "SchemaMismatch", "a weight must be a tensor")
        out.set(fqn, yield* obj)
        continue
      }
      if (meta.use_pickle) {
        return yield* ArchiveError.at(location, "Unserializable", "pickled tensor payloads (torch.save) are not read by trtx")
      }
      let storage = storages.get(meta.path_name)
      if (storage === undefined) {
        storage = Tensor.storage(yield* zip.read(`${folder}${meta.path_name}`))
        storages.set(meta.path_name, storage)
      }
      // The records' schema admits only known dtype codes, so this cannot fail.
      const m = Deserialize.tensorMeta(meta.tensor_meta, `${path}.tensor_meta`)
      const ints = m.shape.concat(m.stride, [m.storage_offset])
      if (!ints.every((x): x is number => typeof x === "number")) {
        return yield* ArchiveError.at({ ...location, path: `${path}.tensor_meta` }, "SchemaMismatch", "a stored tensor cannot have symbolic sizes")
      }
      const t = Tensor.make({
        storage,
        dtype: m.dtype,
        shape: m.shape as Array<number>,
        stride: m.stride as Array<number>,
        storageOffset: m.storage_offset as number,
        device: m.device,
        requiresGrad: m.requires_grad ?? false
      })
      const itemSize = Tensor.itemSize(t.dtype)
      const span = Tensor.elementsSpanned(t)
      // `span` counts from the storage's start, the offset included.
      if (itemSize === undefined || span * itemSize > storage.bytes.byteLength) {
        return yield* ArchiveError.at(
          { archive, entry: `${folder}${meta.path_name}`, path },
          "StorageTooSmall",
          `${fqn} (${t.dtype}, shape [${t.shape.join(", ")}]) reaches past the ${storage.bytes.byteLength} bytes of its file`
        )
      }
      out.set(fqn, t)
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
    if (obj.classFqn !== EngineRecord.ENGINE_CLASS_FQN) return { _tag: "ScriptObject", classFqn: obj.classFqn, state } as const
    const record = EngineRecord.decodeBase64Result(state, fqn)
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
      const weights = yield* tensorsOf(zip, weightsConfig, `${root}data/weights/`, weightsEntry, () => undefined)
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

      const program = yield* Effect.suspend(() => {
        try {
          return Effect.succeed(
            Deserialize.program(
              records,
              { stateDict: weights as Map<string, Tensor.Tensor>, constants },
              { archive, entry: modelEntry }
            )
          )
        } catch (e) {
          if (e instanceof ArchiveError.ArchiveError) return Effect.fail(e)
          throw e // a bug, not bad input: let it surface as a defect
        }
      })
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
