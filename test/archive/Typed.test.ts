/**
 * What a reader accepts as JSON is checked to the type its users trust before it is stored, in both readers,
 * and the writers never write what the readers refuse (issue 13: "Defects instead of located errors" and
 * "Archives trtx writes and cannot read back"). Each case is a hostile archive, run through the library as a
 * user's program would (read, export, write, read again): it ends in a located `ArchiveError` or in a
 * correct result, never in another exception.
 */
import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { ArchiveError } from "../../src/archive/ArchiveError.ts"
import * as Json from "../../src/archive/Json.ts"
import * as Reader from "../../src/archive/pt2/Reader.ts"
import * as Writer from "../../src/archive/pt2/Writer.ts"
import * as Tgm from "../../src/archive/tgm/Tgm.ts"
import * as Zip from "../../src/archive/zip/Zip.ts"
import * as ZipWriter from "../../src/archive/zip/ZipWriter.ts"
import type { Meta } from "../../src/graph/Meta.ts"
import type { GraphModule } from "../../src/graph/Module.ts"
import type { Node } from "../../src/graph/Node.ts"
import * as Exporter from "../../src/passes/Exporter.ts"
import type { ExportedProgram } from "../../src/program/ExportedProgram.ts"
import * as C from "../utils/TgmCraft.ts"

// ===== Helpers =====

const SAMPLES = path.join(import.meta.dirname, "../fixtures/samples")
const pt2File = (name: string) => path.join(SAMPLES, name, `ep${name === "cnn_bn" ? ".persistent_patch" : ""}.pt2`)

/** A sample's `.pt2` after `edit` changed its parsed `model.json` (keys marked, as `Json.parse` gives them). */
const editPt2 = (name: string, edit: (model: C.Json, entries: Map<string, Uint8Array>, root: string) => void) =>
  Effect.gen(function*() {
    const entries = yield* Effect.scoped(Effect.gen(function*() {
      const zip = yield* Zip.open({ _tag: "File", path: pt2File(name) })
      const out = new Map<string, Uint8Array>()
      for (const n of zip.entries.keys()) out.set(n, yield* zip.read(n))
      return out
    }))
    const root = [...entries.keys()][0]!.split("/")[0]!
    const entry = `${root}/models/model.json`
    const model = yield* Json.parse(entries.get(entry)!, { archive: name, entry })
    edit(model, entries, root)
    entries.set(entry, Json.encode(model))
    return yield* ZipWriter.toBytes([...entries].map(([n, data]) => ({ name: n, data, compress: false })))
  })

/** The same edit as text: every occurrence of a quoted name renamed (inputs, specs, values, configs). */
const renamePt2 = (name: string, from: string, to: string) =>
  editPt2(name, (model, entries, root) => {
    const swap = (s: string) => s.split(JSON.stringify(from)).join(JSON.stringify(to))
    const renamed = JSON.parse(swap(Json.stringify(model)))
    for (const k of Object.keys(model)) delete model[k]
    Object.assign(model, renamed)
    for (const config of ["data/weights/model_weights_config.json", "data/constants/model_constants_config.json"]) {
      const e = `${root}/${config}`
      entries.set(e, C.text(swap(C.str(entries.get(e)!))))
    }
  })

/** The graph module of a `.tgm` record that runs PyTorch code (the mlp sample's `_run_on_gpu_1`). */
const fallback = (module: C.Json) => module.children._run_on_gpu_1
const geluMeta = (module: C.Json) => fallback(module).graph.nodes.find((n: C.Json) => n.target === "torch.ops.aten.gelu.default").meta

/** The failure of an effect that must fail: an `ArchiveError`, never a defect. */
const archiveError = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const exit = yield* Effect.exit(effect)
    if (Exit.isSuccess(exit)) return assert.fail("expected a located error, got a result")
    const failure = Cause.findErrorOption(exit.cause)
    if (failure._tag === "None") return assert.fail(`expected an ArchiveError, got ${Cause.pretty(exit.cause)}`)
    assert.instanceOf(failure.value, ArchiveError, Cause.pretty(exit.cause))
    return failure.value as unknown as ArchiveError
  })

const exportTgm = (bytes: Uint8Array, crossCompile = false) =>
  Effect.gen(function*() {
    const gm = yield* Tgm.readBytes(bytes, "hostile.tgm")
    return yield* Exporter.exportModule(gm, { crossCompile })
  })

/** read → write → read: the program a `.pt2` holds after its own rewrite. */
const rewrite = (bytes: Uint8Array) =>
  Effect.gen(function*() {
    const first = yield* Reader.readBytes(bytes, "hostile.pt2")
    const again = yield* Reader.readBytes(yield* Writer.toBytes(first.program, { extraFiles: first.extraFiles }), "rewritten.pt2")
    return { first, again }
  })

const gelu = (ep: ExportedProgram) => ep.graphModule.graph.findNodes("call_function", "torch.ops.aten.gelu.default")[0]!
const nested = (n: number) => "[".repeat(n) + "0" + "]".repeat(n)
const deepValue = (n: number): unknown => {
  let v: unknown = 0
  for (let i = 0; i < n; i++) v = [v]
  return v
}

// ===== Metadata =====

describe("node metadata is typed at read", () => {
  const tgmCases: ReadonlyArray<readonly [string, (meta: C.Json) => void, string]> = [
    ["torch_fn a number", (m) => void (m.torch_fn = 5), "torch_fn"],
    ["nn_module_stack an array", (m) => void (m.nn_module_stack = [["a", "b"]]), "nn_module_stack"],
    ["source_fn_stack an object", (m) => void (m.source_fn_stack = { a: ["b", "c"] }), "source_fn_stack"],
    ["a number where a name is expected", (m) => void (m.source_fn_stack = [[1, "aten.gelu.default"]]), "source_fn_stack[0][0]"],
    ["a number where a list is expected", (m) => void (m.from_node = 5), "from_node"],
    ["torch_fn with three parts", (m) => void (m.torch_fn = ["a", "b", "c"]), "torch_fn"]
  ]
  for (const [label, edit, key] of tgmCases) {
    it.effect(`.tgm: ${label} is a SchemaMismatch at its path`, () =>
      Effect.gen(function*() {
        const bytes = yield* C.editModule("mlp", (j) => edit(geluMeta(j)))
        const e = yield* archiveError(exportTgm(bytes))
        assert.strictEqual(e.fault, "SchemaMismatch")
        assert.strictEqual(e.entry, "module.json")
        assert.isTrue(e.path?.startsWith(`$.children._run_on_gpu_1.graph.nodes[1].meta.${key}`), e.path)
      }))
  }

  const pt2Cases: ReadonlyArray<readonly [string, string, unknown, string]> = [
    ["torch_fn a number", "torch_fn", 5, "$.graph_module.graph.nodes[1].metadata.torch_fn"],
    ["torch_fn of one part", "torch_fn", "gelu_1", "$.graph_module.graph.nodes[1].metadata.torch_fn"],
    ["an nn_module_stack entry of two parts", "nn_module_stack", "L__self__,zoo.MLP", "$.graph_module.graph.nodes[1].metadata.nn_module_stack"],
    ["a source_fn_stack entry of three parts", "source_fn_stack", "gelu,aten,gelu", "$.graph_module.graph.nodes[1].metadata.source_fn_stack"],
    ["from_node a number where a list is expected", "from_node", "5", "$.graph_module.graph.nodes[1].metadata.from_node"],
    ["custom that is not JSON", "custom", "{nope", "$.graph_module.graph.nodes[1].metadata.custom"],
    ["custom nested 5,000 deep", "custom", nested(5000), "$.graph_module.graph.nodes[1].metadata.custom"]
  ]
  for (const [label, key, value, at] of pt2Cases) {
    it.effect(`.pt2: ${label} is a SchemaMismatch at its path, naming the node`, () =>
      Effect.gen(function*() {
        const bytes = yield* editPt2("mlp", (m) => void (m.graph_module.graph.nodes[1].metadata[key] = value))
        const e = yield* archiveError(Reader.readBytes(bytes, "hostile.pt2"))
        assert.strictEqual(e.fault, "SchemaMismatch")
        assert.strictEqual(e.entry, "ep/models/model.json")
        assert.strictEqual(e.path, at)
        if (typeof value === "string") assert.strictEqual(e.node, "gelu")
      }))
  }

  it.effect(".pt2: metadata torch writes reads typed and survives read → write → read; an empty string is no value", () =>
    Effect.gen(function*() {
      const bytes = yield* editPt2("mlp", (m) => {
        const md = m.graph_module.graph.nodes[1].metadata
        md.nn_module_stack = "L__self__,,zoo.MLP;L__self___layers_0,layers.slice(1, None, None),torch.nn.Sequential"
        md.source_fn_stack = "gelu,torch.nn.functional.gelu"
        md.custom = "{\"1\": [9007199254740993, {\"\\ue00042\": null}], \"k\": \"v\"}"
        md.stack_trace = ""
      })
      const { first, again } = yield* rewrite(bytes)
      for (const ep of [first.program, again.program]) {
        const meta: Meta = gelu(ep).meta
        assert.deepStrictEqual(meta.nn_module_stack, {
          L__self__: ["", "zoo.MLP"],
          L__self___layers_0: ["layers.slice(1, None, None)", "torch.nn.Sequential"]
        })
        assert.deepStrictEqual(meta.source_fn_stack, [["gelu", "torch.nn.functional.gelu"]])
        assert.deepStrictEqual(meta.torch_fn, ["gelu_1", "builtin_function_or_method.gelu"])
        assert.deepStrictEqual(meta.custom, { "1": [9007199254740993n, { "\uE00042": null }], k: "v" })
        assert.isUndefined(meta.stack_trace)
      }
    }))
})

describe("the writer refuses metadata it could not read back, at the node", () => {
  const cases: ReadonlyArray<readonly [string, (meta: C.Json) => void, string]> = [
    ["an nn_module_stack key holding ';'", (m) => void (m.nn_module_stack = { "L__self__;x": ["", "zoo.MLP"] }), "nn_module_stack"],
    ["an nn_module_stack type holding ';'", (m) => void (m.nn_module_stack = { L__self__: ["", "zoo;MLP"] }), "nn_module_stack"],
    ["an nn_module_stack key holding a top-level comma", (m) => void (m.nn_module_stack = { "a,b": ["", "zoo.MLP"] }), "nn_module_stack"],
    ["an nn_module_stack path with an unclosed bracket", (m) => void (m.nn_module_stack = { k: ["layers[0", "zoo.MLP"] }), "nn_module_stack"],
    ["a source_fn_stack name holding a comma", (m) => void (m.source_fn_stack = [["a,b", "aten.gelu.default"]]), "source_fn_stack"],
    ["a source_fn_stack target holding ';'", (m) => void (m.source_fn_stack = [["gelu", "a;b"]]), "source_fn_stack"],
    ["a torch_fn part holding ';'", (m) => void (m.torch_fn = ["gelu;1", "builtin_function_or_method.gelu"]), "torch_fn"]
  ]
  for (const [label, edit, key] of cases) {
    it.effect(`${label}: read, exported, then refused by the .pt2 writer as Unserializable at gelu`, () =>
      Effect.gen(function*() {
        const ep = yield* exportTgm(yield* C.editModule("mlp", (j) => edit(geluMeta(j))))
        const e = yield* archiveError(Writer.toBytes(ep))
        assert.strictEqual(e.fault, "Unserializable")
        assert.strictEqual(e.node, "gelu")
        assert.include(e.detail, key)
      }))
  }

  it.effect("torch's own layouts with commas inside brackets are written and read back equal", () =>
    Effect.gen(function*() {
      const stack = { L__self___layers: ["layers.slice(1, None, None)", "torch.nn.modules.container.Sequential"] } as const
      const ep = yield* exportTgm(yield* C.editModule("mlp", (j) => void (geluMeta(j).nn_module_stack = stack)))
      const back = yield* Reader.readBytes(yield* Writer.toBytes(ep), "back.pt2")
      assert.deepStrictEqual(gelu(back.program).meta.nn_module_stack, stack)
    }))

  it.effect("custom metadata nested past the depth limit: refused by both writers, never a RangeError", () =>
    Effect.gen(function*() {
      const ep = yield* exportTgm(C.sampleBytes("mlp"))
      gelu(ep).meta = { ...gelu(ep).meta, custom: deepValue(100_000) as never }
      const e = yield* archiveError(Writer.toBytes(ep))
      assert.strictEqual(e.fault, "Unserializable")
      assert.strictEqual(e.node, "gelu")
      const gm = yield* Tgm.readBytes(C.sampleBytes("mlp"), "mlp")
      const g = (gm.children.get("_run_on_gpu_1") as GraphModule).graph
      const node = g.findNodes("call_function", "torch.ops.aten.gelu.default")[0]!
      node.meta = { ...node.meta, custom: deepValue(100_000) as never }
      const t = yield* archiveError(Tgm.toBytes(gm))
      assert.strictEqual(t.fault, "Unserializable")
      assert.strictEqual(t.entry, "module.json")
    }))

  it.effect("custom metadata as deep as a .tgm allows goes through read, export, write and read", () =>
    Effect.gen(function*() {
      // The node's meta.custom sits 7 levels down in module.json.
      const bytes = yield* C.editModule("mlp", (j) => void (geluMeta(j).custom = deepValue(Json.MAX_DEPTH - 8)))
      const ep = yield* exportTgm(bytes)
      const back = yield* Reader.readBytes(yield* Writer.toBytes(ep), "back.pt2")
      assert.deepStrictEqual(gelu(back.program).meta.custom, deepValue(Json.MAX_DEPTH - 8))
    }))
})

// ===== Treespecs =====

describe("treespecs are parsed and checked at read", () => {
  const specs: ReadonlyArray<readonly [string, string]> = [
    ["not JSON", "nope"],
    ["null", "null"],
    ["not a treespec", "[1, {}]"],
    ["nested 5,000 deep", nested(5000)],
    [
      "a treespec 20,000 levels deep",
      "[1, " + "{\"type\": \"builtins.tuple\", \"context\": \"null\", \"children_spec\": [".repeat(20_000) +
      "{\"type\": null, \"context\": null, \"children_spec\": []}" + "]}".repeat(20_000) + "]"
    ]
  ]
  for (const [label, spec] of specs) {
    it.effect(`.tgm: an in_spec ${label} is a SchemaMismatch at $.graph.in_spec, plain or cross-compiled`, () =>
      Effect.gen(function*() {
        const bytes = yield* C.editModule("mlp", (j) => void (j.graph.in_spec = spec))
        for (const cross of [false, true]) {
          const e = yield* archiveError(exportTgm(bytes, cross))
          assert.strictEqual(e.fault, "SchemaMismatch")
          assert.strictEqual(e.path, "$.graph.in_spec")
          assert.include(e.detail, "pytree treespec")
        }
      }))

    it.effect(`.pt2: an out_spec ${label} is a SchemaMismatch at its path`, () =>
      Effect.gen(function*() {
        const bytes = yield* editPt2("mlp", (m) => void (m.graph_module.module_call_graph[0].signature.out_spec = spec))
        const e = yield* archiveError(Reader.readBytes(bytes, "hostile.pt2"))
        assert.strictEqual(e.fault, "SchemaMismatch")
        assert.strictEqual(e.path, "$.graph_module.module_call_graph[0].signature.out_spec")
      }))
  }

  it.effect(".pt2: graph-module custom metadata that is not JSON (torch json.loads it) is a SchemaMismatch", () =>
    Effect.gen(function*() {
      for (const custom of ["{nope", nested(5000)]) {
        const bytes = yield* editPt2("mlp", (m) => void (m.graph_module.metadata = { custom }))
        const e = yield* archiveError(Reader.readBytes(bytes, "hostile.pt2"))
        assert.strictEqual(e.fault, "SchemaMismatch")
        assert.strictEqual(e.path, "$.graph_module.metadata.custom")
      }
      const ok = yield* rewrite(yield* editPt2("mlp", (m) => void (m.graph_module.metadata = { custom: "{\"a\": [1, 2]}" })))
      assert.strictEqual(ok.again.program.metadata["custom"], "{\"a\": [1, 2]}")
    }))

  it.effect("a program given a treespec that is not one is refused by both writers, located, before writing", () =>
    Effect.gen(function*() {
      const ep = yield* exportTgm(C.sampleBytes("mlp"))
      const root = ep.moduleCallGraph[0]!
      const bad: ExportedProgram = { ...ep, moduleCallGraph: [{ ...root, signature: { ...root.signature!, inSpec: "null" } }] }
      const e = yield* archiveError(Writer.toBytes(bad))
      assert.strictEqual(e.fault, "Unserializable")
      assert.strictEqual(e.path, "$.graph_module.module_call_graph[0].signature.in_spec")
      const gm = yield* Tgm.readBytes(C.sampleBytes("mlp"), "mlp")
      gm.inSpec = "[1, {}]"
      const t = yield* archiveError(Tgm.toBytes(gm))
      assert.strictEqual(t.fault, "Unserializable")
      assert.strictEqual(t.path, "$.graph.in_spec")
    }))
})

// ===== Names =====

describe("names are data", () => {
  for (const name of ["toString", "constructor", "__proto__", "valueOf"]) {
    it.effect(`.pt2: an input and a node named ${name} read, and rewrite to the same names`, () =>
      Effect.gen(function*() {
        const input = yield* rewrite(yield* renamePt2("mlp", "x", name))
        const node = yield* rewrite(yield* renamePt2("mlp", "gelu", name))
        for (const ep of [input.first.program, input.again.program]) {
          assert.strictEqual([...ep.graphModule.graph.nodes()].find((n) => n.op === "placeholder" && n.name === name)?.name, name)
        }
        for (const ep of [node.first.program, node.again.program]) {
          assert.strictEqual(ep.graphModule.graph.findNodes("call_function", "torch.ops.aten.gelu.default")[0]!.name, name)
        }
      }))
  }

  it.effect(".pt2: a weight named __proto__ is written and read back", () =>
    Effect.gen(function*() {
      const { first, again } = yield* rewrite(yield* renamePt2("cnn_bn", "bn.weight", "__proto__"))
      for (const ep of [first.program, again.program]) {
        assert.isTrue(ep.stateDict.has("__proto__"))
        assert.deepStrictEqual(ep.stateDict.get("__proto__")!.shape, first.program.stateDict.get("__proto__")!.shape)
      }
    }))

  it.effect(".pt2: a node reusing an input's name is a DuplicateName at the node", () =>
    Effect.gen(function*() {
      const e = yield* archiveError(Reader.readBytes(yield* renamePt2("mlp", "gelu", "x"), "hostile.pt2"))
      assert.strictEqual(e.fault, "DuplicateName")
      assert.strictEqual(e.node, "x")
      assert.strictEqual(e.path, "$.graph_module.graph.nodes[1]")
    }))

  it.effect(".pt2: a node whose outputs repeat a name is a DuplicateName; an output returned twice reads", () =>
    Effect.gen(function*() {
      const twice = yield* editPt2("mlp", (m) => {
        const out = m.graph_module.graph.nodes[0].outputs[0].as_tensors
        out.push(out[0])
      })
      const e = yield* archiveError(Reader.readBytes(twice, "hostile.pt2"))
      assert.strictEqual(e.fault, "DuplicateName")
      assert.strictEqual(e.path, "$.graph_module.graph.nodes[0].outputs[1]")
      const returned = yield* editPt2("mlp", (m) => {
        const g = m.graph_module
        g.graph.outputs.push(g.graph.outputs[0])
        g.signature.output_specs.push(g.signature.output_specs[0])
      })
      const { again } = yield* rewrite(returned)
      assert.strictEqual(again.program.graphSignature.outputSpecs.length, 2)
    }))

  it.effect(".pt2: an extra file named __proto__ is kept, and written back", () =>
    Effect.gen(function*() {
      const bytes = yield* editPt2("mlp", (_m, entries, root) => {
        entries.set(`${root}/extra/__proto__`, C.text("proto"))
        entries.set(`${root}/extra/toString`, C.text("string"))
      })
      const { first, again } = yield* rewrite(bytes)
      for (const files of [first.extraFiles, again.extraFiles]) {
        assert.deepStrictEqual(Object.entries(files).sort(), [["__proto__", "proto"], ["toString", "string"]])
      }
    }))
})

// ===== Nodes the writer cannot express =====

describe("the .pt2 writer drops no node", () => {
  for (const op of ["call_method", "call_module"] as const) {
    it.effect(`a ${op} node is an Unserializable naming it`, () =>
      Effect.gen(function*() {
        const ep = yield* exportTgm(C.sampleBytes("mlp"))
        const g = ep.graphModule.graph
        const at = gelu(ep)
        const odd = g.insertingBefore(at, () => g.createNode(op, op === "call_method" ? "relu" : "sub", [at.args[0]!], {}, { name: "odd" }))
        at.replaceInputWith(at.args[0] as Node, odd)
        const e = yield* archiveError(Writer.toBytes(ep))
        assert.strictEqual(e.fault, "Unserializable")
        assert.strictEqual(e.node, "odd")
        assert.include(e.detail, op)
      }))
  }
})

describe("the .pt2 writer names no value it does not write", () => {
  it.effect("a getitem of an element its producer does not have is an Unserializable naming it", () =>
    Effect.gen(function*() {
      const ep = yield* exportTgm(C.sampleBytes("mlp"))
      const g = ep.graphModule.graph
      const at = gelu(ep)
      const element = at.args[0] as Node
      const engine = element.args[0] as Node
      const past = g.insertingBefore(at, () => g.callFunction("_operator.getitem", [engine, 7], {}, { name: "getitem_7", meta: { ...element.meta } }))
      at.replaceInputWith(element, past)
      const e = yield* archiveError(Writer.toBytes(ep))
      assert.strictEqual(e.fault, "Unserializable")
      assert.strictEqual(e.node, "getitem_7")
    }))
})

// ===== The fixtures still read =====

describe("torch's archives are not refused", () => {
  for (const name of fs.readdirSync(SAMPLES).filter((n) => fs.existsSync(pt2File(n)))) {
    it.effect(`${name}: ep.pt2 rewrites to the same metadata`, () =>
      Effect.gen(function*() {
        const { first, again } = yield* rewrite(fs.readFileSync(pt2File(name)))
        const metas = (ep: ExportedProgram) => [...ep.graphModule.graph.nodes()].map((n) => n.meta)
        assert.deepStrictEqual(metas(again.program), metas(first.program))
      }))
  }
})
