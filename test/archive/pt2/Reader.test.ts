/**
 * The pt2 reader: every reference archive torch 2.11 wrote reads back to the program torch serialized
 * (its `model.json`, field for field), with weights as views of their files; read(write(ep)) gives back ep
 * for every sample trtx exports; write(read(f)) is a fixpoint; and each of the loader's rules, broken, is a
 * located error.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Result } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { ArchiveError } from "../../../src/archive/ArchiveError.ts"
import * as Json from "../../../src/archive/Json.ts"
import * as Pickle from "../../../src/archive/pt2/Pickle.ts"
import * as Reader from "../../../src/archive/pt2/Reader.ts"
import * as Serialize from "../../../src/archive/pt2/Serialize.ts"
import * as Writer from "../../../src/archive/pt2/Writer.ts"
import * as Tgm from "../../../src/archive/tgm/Tgm.ts"
import * as Zip from "../../../src/archive/zip/Zip.ts"
import * as ZipWriter from "../../../src/archive/zip/ZipWriter.ts"
import * as Lint from "../../../src/graph/Lint.ts"
import type { ScriptObject, Tensor } from "../../../src/graph/Tensor.ts"
import * as Exporter from "../../../src/passes/Exporter.ts"
import * as EngineRecord from "../../../src/program/EngineRecord.ts"
import type { ExportedProgram } from "../../../src/program/ExportedProgram.ts"

const SAMPLES = path.join(import.meta.dirname, "../../fixtures/samples")
const CASES = ["cnn_bn", "first_gpu", "kwargs_pytree", "mlp", "multi_out", "single_engine", "synth_1k"]
const referenceFile = (name: string, cross: boolean) =>
  path.join(SAMPLES, name, `ep${cross ? "_cross" : ""}${name === "cnn_bn" ? ".persistent_patch" : ""}.pt2`)
const referenceJson = (name: string, cross: boolean): any =>
  JSON.parse(fs.readFileSync(referenceFile(name, cross).replace(/\.pt2$/, ".json"), "utf8"), (_k, v, ctx?: { source?: string }) =>
    typeof v === "number" && !Number.isSafeInteger(v) && Number.isInteger(v) && ctx?.source !== undefined ? BigInt(ctx.source) : v)

const serialized = (ep: ExportedProgram): any => {
  const records = Serialize.serialize(ep, { archive: "test" })
  if (Result.isFailure(records)) throw records.failure
  return Result.getOrThrow(Serialize.encode(records.success, { archive: "<records>" }))
}

const unzip = (bytes: Uint8Array) =>
  Effect.scoped(Effect.gen(function*() {
    const zip = yield* Zip.open({ _tag: "Bytes", bytes, label: "t" })
    const out = new Map<string, Uint8Array>()
    for (const name of zip.entries.keys()) out.set(name, yield* zip.read(name))
    return out
  }))
const rezip = (entries: ReadonlyMap<string, Uint8Array>) =>
  ZipWriter.toBytes([...entries].map(([name, data]) => ({ name, data, compress: false })))
const text = (s: string) => new TextEncoder().encode(s)

const bytesOf = (t: Tensor): Uint8Array => {
  // A contiguous view's bytes (every stored weight of the samples is one).
  const item = { float32: 4, float16: 2, bfloat16: 2, int64: 8, int32: 4, bool: 1, uint8: 1, int8: 1 }[t.dtype]!
  const n = t.shape.reduce((a, b) => a * b, 1)
  return t.storage.bytes.subarray(t.storageOffset * item, (t.storageOffset + n) * item)
}

const assertSamePayloads = (a: ExportedProgram, b: ExportedProgram, label: string) => {
  assert.deepStrictEqual([...a.stateDict.keys()], [...b.stateDict.keys()], `${label}: state dict keys`)
  for (const [fqn, t] of a.stateDict) {
    const u = b.stateDict.get(fqn)!
    assert.deepStrictEqual([u.dtype, u.shape, u.stride, u.device], [t.dtype, t.shape, t.stride, t.device], `${label}: ${fqn}`)
    assert.deepStrictEqual(bytesOf(u), bytesOf(t), `${label}: ${fqn} bytes`)
  }
  assert.deepStrictEqual([...a.constants.keys()], [...b.constants.keys()], `${label}: constant keys`)
  for (const [fqn, c] of a.constants) {
    const d = b.constants.get(fqn)!
    assert.strictEqual(d._tag, c._tag, `${label}: ${fqn}`)
    if (c._tag === "ScriptObject") assert.deepStrictEqual((d as ScriptObject).state, c.state, `${label}: ${fqn} state`)
    else assert.deepStrictEqual(bytesOf(d as Tensor), bytesOf(c), `${label}: ${fqn} bytes`)
  }
}

describe("pt2 reader: torch's archives", () => {
  for (const name of CASES) {
    for (const cross of [false, true]) {
      it.effect(`${name} (${cross ? "cross" : "plain"}): reads back to torch's model.json, weights as views`, () =>
        Effect.gen(function*() {
          const { program, extraFiles } = yield* Reader.readFile(referenceFile(name, cross))
          Lint.lint(program.graphModule.graph) // throws on a malformed graph
          const ref = referenceJson(name, cross)
          const mine = serialized(program)
          // The program carries no torch version: the writer stamps the one it targets.
          assert.strictEqual(ref.torch_version, "2.11.0+cu130")
          assert.strictEqual(mine.torch_version, "2.11.0")
          assert.deepStrictEqual({ ...mine, torch_version: "" }, { ...ref, torch_version: "" })
          assert.deepStrictEqual(extraFiles, {})
          // Weights are views of their storage file: tensors naming one file share one storage.
          const entries = yield* unzip(fs.readFileSync(referenceFile(name, cross)))
          const root = [...entries.keys()][0]!.split("/")[0]
          const config = JSON.parse(new TextDecoder().decode(entries.get(`${root}/data/weights/model_weights_config.json`))).config
          const byFile = new Map<string, Tensor>()
          for (const [key, meta] of Object.entries<any>(config)) {
            const t = program.stateDict.get(Json.unkey(key))!
            assert.deepStrictEqual(t.storage.bytes, entries.get(`${root}/data/weights/${meta.path_name}`))
            const other = byFile.get(meta.path_name)
            if (other !== undefined) assert.strictEqual(t.storage, other.storage)
            byFile.set(meta.path_name, t)
          }
          // Engines come back as engine records whatever form the archive held them in.
          for (const [fqn, c] of program.constants) {
            if (c._tag === "ScriptObject" && c.classFqn === EngineRecord.ENGINE_CLASS_FQN) {
              const record = EngineRecord.decodeRaw(c.state, fqn)
              assert.isTrue(Result.isSuccess(record), fqn)
            }
          }
        }))

      it.effect(`${name} (${cross ? "cross" : "plain"}): write(read(f)) reads back the same, and is a fixpoint`, () =>
        Effect.gen(function*() {
          const first = (yield* Reader.readFile(referenceFile(name, cross))).program
          const bytes = yield* Writer.toBytes(first)
          const second = (yield* Reader.readBytes(bytes)).program
          assert.deepStrictEqual(serialized(second), serialized(first))
          assertSamePayloads(first, second, name)
          assert.deepStrictEqual(yield* Writer.toBytes(second), bytes)
        }))

      it.effect(`${name} (${cross ? "cross" : "plain"}): read(write(ep)) is ep`, () =>
        Effect.gen(function*() {
          const gm = yield* Tgm.readFile(path.join(SAMPLES, name, "input.tgm"))
          const ep = yield* Exporter.exportModule(gm, { crossCompile: cross })
          const back = (yield* Reader.readBytes(yield* Writer.toBytes(ep))).program
          assert.deepStrictEqual(serialized(back), serialized(ep))
          assertSamePayloads(ep, back, name)
          assert.deepStrictEqual(back.graphSignature, ep.graphSignature)
          assert.deepStrictEqual(back.moduleCallGraph, ep.moduleCallGraph)
        }))
    }
  }

  it.effect("extra files come back as text", () =>
    Effect.gen(function*() {
      const ep = (yield* Reader.readFile(referenceFile("mlp", false))).program
      const extraFiles = { "notes.txt": "héllo\n", "a.json": "{}" }
      const back = yield* Reader.readBytes(yield* Writer.toBytes(ep, { extraFiles }))
      assert.deepStrictEqual(back.extraFiles, extraFiles)
    }))
})

// ===== The loader's rules, broken =====

const failure = <A>(effect: Effect.Effect<A, ArchiveError>) =>
  Effect.map(Effect.flip(effect), (e) => {
    assert.instanceOf(e, ArchiveError)
    return e
  })

// A reference archive with one edit; `root` is its root folder (the reference file's name).
const mutated = (edit: (entries: Map<string, Uint8Array>, root: string) => void, sample = "single_engine", cross = true) =>
  Effect.gen(function*() {
    const entries = new Map(yield* unzip(fs.readFileSync(referenceFile(sample, cross))))
    edit(entries, cross ? "ep_cross" : "ep")
    return yield* failure(Reader.readBytes(yield* rezip(entries), "bad.pt2"))
  })

const root = "ep_cross"
const editJson = (entries: Map<string, Uint8Array>, name: string, f: (j: any) => void) => {
  const j = JSON.parse(new TextDecoder().decode(entries.get(name)))
  f(j)
  entries.set(name, text(JSON.stringify(j)))
}

describe("pt2 reader: located errors", () => {
  it.effect("the sample's root folder is the reference file's name", () =>
    Effect.gen(function*() {
      const entries = yield* unzip(fs.readFileSync(referenceFile("single_engine", true)))
      assert.isTrue([...entries.keys()].every((n) => n.startsWith(`${root}/`)))
    }))

  it.effect("an entry outside the root folder", () =>
    Effect.gen(function*() {
      const e = yield* mutated((m) => m.set("other/readme", text("x")))
      assert.strictEqual(e.fault, "SchemaMismatch")
      assert.strictEqual(e.entry, "other/readme")
    }))

  it.effect("archive_format and archive_version must be exact", () =>
    Effect.gen(function*() {
      const format = yield* mutated((m) => m.set(`${root}/archive_format`, text("pt2\n")))
      assert.strictEqual(format.fault, "UnsupportedVersion")
      assert.strictEqual(format.entry, `${root}/archive_format`)
      const version = yield* mutated((m) => m.set(`${root}/archive_version`, text("1")))
      assert.strictEqual(version.entry, `${root}/archive_version`)
      const missing = yield* mutated((m) => m.delete(`${root}/archive_format`))
      assert.strictEqual(missing.fault, "MissingEntry")
    }))

  it.effect("the record version must be 1 to 10, and present", () =>
    Effect.gen(function*() {
      const high = yield* mutated((m) => m.set(`${root}/.data/version`, text("11\n")))
      assert.strictEqual(high.fault, "UnsupportedVersion")
      assert.strictEqual(high.entry, `${root}/.data/version`)
      const none = yield* mutated((m) => m.delete(`${root}/.data/version`))
      assert.strictEqual(none.fault, "MissingEntry")
    }))

  it.effect("model.json: missing, not JSON, off-schema, an unknown schema major", () =>
    Effect.gen(function*() {
      const model = `${root}/models/model.json`
      assert.strictEqual((yield* mutated((m) => m.delete(model))).fault, "MissingEntry")
      assert.strictEqual((yield* mutated((m) => m.set(model, text("{")))).fault, "BadJson")
      const off = yield* mutated((m) => editJson(m, model, (j) => (j.graph_module.graph.nodes[0].target = 3)))
      assert.strictEqual(off.fault, "SchemaMismatch")
      assert.strictEqual(off.entry, model)
      assert.match(off.path!, /^\$\.graph_module\.graph\.nodes\[0\]\.target/)
      const major = yield* mutated((m) => editJson(m, model, (j) => (j.schema_version.major = 9)))
      assert.strictEqual(major.fault, "UnsupportedVersion")
      assert.strictEqual(major.path, "$.schema_version")
    }))

  it.effect("a name used before it is defined is located at its node and argument", () =>
    Effect.gen(function*() {
      const e = yield* mutated((m, r) =>
        editJson(m, `${r}/models/model.json`, (j) => {
          const node = j.graph_module.graph.nodes.find((n: any) => n.target === "torch.ops.tensorrt.execute_engine.default")
          node.inputs[0].arg.as_tensors[0].name = "nowhere"
        }), "single_engine", false)
      assert.strictEqual(e.fault, "SchemaMismatch")
      assert.match(e.path!, /^\$\.graph_module\.graph\.nodes\[\d+\]\.inputs\[0\]\.arg\.as_tensors\[0\]/)
      assert.match(e.detail, /nowhere/)
    }))

  it.effect("the sample-inputs record torch requires", () =>
    Effect.gen(function*() {
      const e = yield* mutated((m) => m.delete(`${root}/data/sample_inputs/model.pt`))
      assert.strictEqual(e.fault, "MissingEntry")
      assert.strictEqual(e.entry, `${root}/data/sample_inputs/model.pt`)
    }))

  it.effect("a weight reaching past its file, and a weight file that is missing", () =>
    Effect.gen(function*() {
      const config = `${root}/data/weights/model_weights_config.json`
      let file = ""
      const small = yield* mutated((m) =>
        editJson(m, config, (j) => {
          const first = Object.values<any>(j.config)[0]
          file = first.path_name
          first.tensor_meta.sizes = [{ as_int: 1 << 20 }]
          first.tensor_meta.strides = [{ as_int: 1 }]
        }), "synth_1k")
      // Located at the entry's meta in the config; the detail names the file and quotes torch's bounds check.
      assert.strictEqual(small.fault, "StorageTooSmall")
      assert.strictEqual(small.entry, config)
      assert.match(small.path!, /^\$\.config(\.[A-Za-z_]\w*|\["[^"]+"\])\.tensor_meta$/)
      assert.include(small.detail, `${root}/data/weights/${file}`)
      assert.include(small.detail, "are out of bounds for storage of size")
      const gone = yield* mutated((m) => m.delete(`${root}/data/weights/${file}`), "synth_1k")
      assert.strictEqual(gone.fault, "MissingEntry")
      assert.strictEqual(gone.entry, `${root}/data/weights/${file}`)
    }))

  it.effect("a custom object whose pickle is not a torchbind object, and an engine record that is off", () =>
    Effect.gen(function*() {
      const obj = "ep/data/constants/custom_obj_0"
      const junk = yield* mutated((m) => m.set(obj, text("not a zip")), "single_engine", false)
      assert.strictEqual(junk.entry, obj)
      assert.strictEqual(junk.fault, "CorruptZip")
      const short = yield* Pickle.writeCustomObject(EngineRecord.ENGINE_CLASS_FQN, ["10", "engine"])
      const off = yield* mutated((m) => m.set(obj, short), "single_engine", false)
      assert.strictEqual(off.fault, "SchemaMismatch")
      assert.strictEqual(off.entry, obj)
      assert.match(off.path!, /^\$\.config/)
    }))
})
