import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Schema } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as nodePath from "node:path"
import { type ArchiveError, ArchiveFault } from "../../../src/archive/ArchiveError.ts"
import * as Tgm from "../../../src/archive/tgm/Tgm.ts"
import * as GraphModule from "../../../src/graph/GraphModule.ts"
import * as Lint from "../../../src/graph/Lint.ts"
import * as Module from "../../../src/graph/Module.ts"
import * as Tensor from "../../../src/graph/Tensor.ts"
import * as C from "../../utils/TgmCraft.ts"

// ===== Helpers =====

const LABEL = "broken.tgm"

interface Where {
  readonly fault: ArchiveFault
  readonly entry?: string
  readonly path?: string
  readonly node?: string
}

const located = (e: ArchiveError) => ({ fault: e.fault, entry: e.entry, path: e.path, node: e.node })

const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(nodePath.join(os.tmpdir(), "trtx-tgm-faults-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

/**
 * Reads `bytes`, which must fail with exactly this fault and location; then checks that nothing was left
 * half-built: a valid archive still reads. Returns the error.
 */
const expectFault = (bytes: Uint8Array | Effect.Effect<Uint8Array, ArchiveError>, where: Where) =>
  Effect.gen(function*() {
    const input = bytes instanceof Uint8Array ? bytes : yield* bytes
    const exit = yield* Effect.exit(Tgm.readBytes(input, LABEL))
    assert.strictEqual(exit._tag, "Failure", `the read succeeded; expected ${JSON.stringify(where)}`)
    if (exit._tag !== "Failure") return undefined as never
    assert.isFalse(Cause.hasDies(exit.cause), `a defect: ${Cause.pretty(exit.cause).split("\n")[0]}`)
    const found = Cause.findErrorOption(exit.cause)
    assert.strictEqual(found._tag, "Some")
    const e = (found as { readonly value: ArchiveError }).value
    assert.strictEqual(e._tag, "ArchiveError")
    assert.strictEqual(e.archive, LABEL)
    assert.isTrue(Schema.is(ArchiveFault)(e.fault))
    assert.deepStrictEqual(located(e), { fault: where.fault, entry: where.entry, path: where.path, node: where.node })
    assert.isAbove(e.detail.length, 0)
    const ok = yield* Tgm.readBytes(C.sampleBytes("single_engine"))
    assert.strictEqual(ok.graph.size, 3)
    return e
  })

/** The same, reading from a file: the archive is then named by its path. */
const expectFileFault = (bytes: Uint8Array, where: Where) =>
  Effect.gen(function*() {
    const dir = yield* tempDir
    const file = nodePath.join(dir, "broken.tgm")
    fs.writeFileSync(file, bytes)
    const e = yield* Effect.flip(Tgm.readFile(file))
    assert.strictEqual(e._tag, "ArchiveError")
    assert.strictEqual(e.archive, file)
    assert.deepStrictEqual(located(e), { fault: where.fault, entry: where.entry, path: where.path, node: where.node })
  })

// The text of a sample's module.json with one substring replaced (for what JSON.stringify cannot write).
const patchModuleText = (name: C.SampleName, from: string, to: string) =>
  C.editSample(name, (e) => {
    const text = C.str(C.entryOf(e, "module.json").data)
    assert.include(text, from)
    return C.replaceEntry(e, "module.json", C.text(text.replace(from, to)))
  })

const BN = "$.children._run_on_gpu_1.children.bn"

// ===== The container =====

describe("the zip container", () => {
  it.effect("an empty file is CorruptZip, from bytes and from a file", () =>
    Effect.gen(function*() {
      yield* expectFault(new Uint8Array(0), { fault: "CorruptZip" })
      yield* expectFileFault(new Uint8Array(0), { fault: "CorruptZip" })
    }))

  it.effect("garbage bytes are CorruptZip", () =>
    Effect.gen(function*() {
      const r = C.prng(99)
      const garbage = Uint8Array.from({ length: 4096 }, () => r.int(0, 256))
      yield* expectFault(garbage, { fault: "CorruptZip" })
      yield* expectFault(C.text("PK\u0003\u0004 not really a zip"), { fault: "CorruptZip" })
      yield* expectFileFault(garbage, { fault: "CorruptZip" })
    }))

  it.effect("a truncated archive is CorruptZip, wherever it is cut", () =>
    Effect.gen(function*() {
      const whole = C.sampleBytes("mlp")
      const cuts = [1, 22, 100, 1000, 4000, whole.length - 200, whole.length - 23, whole.length - 22, whole.length - 1]
      for (const n of cuts) yield* expectFault(whole.slice(0, n), { fault: "CorruptZip" })
      yield* expectFileFault(whole.slice(0, whole.length - 10), { fault: "CorruptZip" })
    }))

  it.effect("a referenced entry whose bytes fail the CRC is CorruptZip at that entry", () =>
    Effect.gen(function*() {
      const bytes = C.sampleBytes("mlp")
      const engine = C.layout(bytes).entries.find((e) => e.name === "engines/1")!
      bytes[engine.dataStart + 100]! ^= 0x10
      yield* expectFault(bytes, { fault: "CorruptZip", entry: "engines/1" })
      // Deflated module.json data: an inflate error or a CRC mismatch, at module.json.
      const again = C.sampleBytes("mlp")
      const mj = C.layout(again).entries.find((e) => e.name === "module.json")!
      for (let i = mj.dataStart + 10; i < mj.dataStart + 20; i++) again[i]! ^= 0xff
      yield* expectFault(again, { fault: "CorruptZip", entry: "module.json" })
    }))

  it.effect("a central directory pointing past the file is CorruptZip", () =>
    Effect.gen(function*() {
      const bytes = C.sampleBytes("single_engine")
      const l = C.layout(bytes)
      new DataView(bytes.buffer).setUint32(l.eocd + 16, bytes.length + 1000, true)
      yield* expectFault(bytes, { fault: "CorruptZip" })
    }))

  it.effect("a deflated entry declaring an impossible size is EntryTooLarge at that entry", () =>
    Effect.gen(function*() {
      const bytes = C.sampleBytes("mlp")
      const mj = C.layout(bytes).entries.find((e) => e.name === "module.json")!
      new DataView(bytes.buffer).setUint32(mj.central + 24, 0xfffffff0, true)
      yield* expectFault(bytes, { fault: "EntryTooLarge", entry: "module.json" })
    }))

  it.effect("hostile entry names are HostileEntryName, naming the entry", () =>
    Effect.gen(function*() {
      const good = C.tinyEntries()
      for (const name of ["../evil", "/abs", "tensors/../../evil", "a/./b", "C:/windows", "back\\slash"]) {
        yield* expectFault(C.rawZip([...good, { name, data: C.text("x") }]), { fault: "HostileEntryName", entry: name })
      }
      // First in the archive too.
      yield* expectFault(C.rawZip([{ name: "../evil", data: C.text("x") }, ...good]), {
        fault: "HostileEntryName",
        entry: "../evil"
      })
      yield* expectFileFault(C.rawZip([...good, { name: "/abs", data: C.text("x") }]), {
        fault: "HostileEntryName",
        entry: "/abs"
      })
    }))

  it.effect("two entries of one name are DuplicateEntry", () =>
    Effect.gen(function*() {
      const good = C.tinyEntries()
      yield* expectFault(C.rawZip([...good, { name: "module.json", data: C.text("{}") }]), {
        fault: "DuplicateEntry",
        entry: "module.json"
      })
    }))

  it.effect("the raw writer's own archives read (so the faults above are the faults named)", () =>
    Effect.gen(function*() {
      const m = yield* Tgm.readBytes(C.rawZip(C.tinyEntries()))
      assert.strictEqual(m.graph.size, 7)
    }))
})

// ===== format.json =====

describe("format.json", () => {
  it.effect("missing format.json is MissingEntry", () =>
    expectFault(C.editSample("mlp", (e) => C.dropEntries(e, "format.json")), {
      fault: "MissingEntry",
      entry: "format.json"
    }))

  it.effect("an unknown version is UnsupportedVersion at $.version", () =>
    Effect.gen(function*() {
      for (const version of [2, 0, -1, 100]) {
        yield* expectFault(C.editFormat("mlp", (j) => void (j.version = version)), {
          fault: "UnsupportedVersion",
          entry: "format.json",
          path: "$.version"
        })
      }
    }))

  it.effect("a wrong format string is UnsupportedVersion at $.format", () =>
    Effect.gen(function*() {
      for (const format of ["torch-export", "", "TORCH-TENSORRT-COMPILED-MODULE"]) {
        yield* expectFault(C.editFormat("mlp", (j) => void (j.format = format)), {
          fault: "UnsupportedVersion",
          entry: "format.json",
          path: "$.format"
        })
      }
    }))

  it.effect("a version or format of the wrong type is SchemaMismatch at its path", () =>
    Effect.gen(function*() {
      yield* expectFault(C.editFormat("mlp", (j) => void (j.version = "1")), {
        fault: "SchemaMismatch",
        entry: "format.json",
        path: "$.version"
      })
      yield* expectFault(C.editFormat("mlp", (j) => void (j.version = 1.5)), {
        fault: "SchemaMismatch",
        entry: "format.json",
        path: "$.version"
      })
      yield* expectFault(C.editFormat("mlp", (j) => void delete j.format), {
        fault: "SchemaMismatch",
        entry: "format.json",
        path: "$.format"
      })
      yield* expectFault(C.editFormat("mlp", (j) => void (j.producer.tool = 3)), {
        fault: "SchemaMismatch",
        entry: "format.json",
        path: "$.producer.tool"
      })
      yield* expectFault(C.editFormat("mlp", () => [1]), { fault: "SchemaMismatch", entry: "format.json", path: "$" })
    }))

  it.effect("bad JSON in format.json is BadJson", () =>
    Effect.gen(function*() {
      for (const text of ["", "{", "{\"format\": \"torch-tensorrt-compiled-module\", \"version\": 1,}", "nope", "{} {}"]) {
        yield* expectFault(C.editSample("mlp", (e) => C.replaceEntry(e, "format.json", C.text(text))), {
          fault: "BadJson",
          entry: "format.json"
        })
      }
    }))

  it.effect("invalid UTF-8 in format.json is BadJson", () =>
    expectFault(
      C.editSample("mlp", (e) => {
        const text = C.entryOf(e, "format.json").data
        const bad = Uint8Array.from([...text.subarray(0, 5), 0xc3, 0x28, ...text.subarray(5)])
        return C.replaceEntry(e, "format.json", bad)
      }),
      { fault: "BadJson", entry: "format.json" }
    ))
})

// ===== module.json: syntax and shape =====

describe("module.json: JSON and schema", () => {
  it.effect("missing module.json is MissingEntry", () =>
    expectFault(C.editSample("mlp", (e) => C.dropEntries(e, "module.json")), {
      fault: "MissingEntry",
      entry: "module.json"
    }))

  it.effect("bad JSON in module.json is BadJson", () =>
    Effect.gen(function*() {
      const whole = C.str(C.entryOf(yield* C.unzip(C.sampleBytes("mlp")), "module.json").data)
      for (const text of ["", whole.slice(0, whole.length - 1), whole + "x", whole.replace("\"kind\"", "kind"), "NaN"]) {
        yield* expectFault(C.editSample("mlp", (e) => C.replaceEntry(e, "module.json", C.text(text))), {
          fault: "BadJson",
          entry: "module.json"
        })
      }
    }))

  it.effect("invalid UTF-8 in module.json is BadJson (in a string, and a lone surrogate)", () =>
    Effect.gen(function*() {
      const invalid = [[0xff], [0xc3, 0x28], [0xed, 0xa0, 0x80], [0xe2, 0x82]]
      for (const bytes of invalid) {
        yield* expectFault(
          C.editSample("mlp", (e) => {
            const text = C.str(C.entryOf(e, "module.json").data)
            const at = text.indexOf("gelu") // inside a string value
            const enc = C.text(text)
            return C.replaceEntry(e, "module.json", Uint8Array.from([...enc.subarray(0, at), ...bytes, ...enc.subarray(at)]))
          }),
          { fault: "BadJson", entry: "module.json" }
        )
      }
    }))

  it.effect("an unknown op is SchemaMismatch at the node's op", () =>
    Effect.gen(function*() {
      yield* expectFault(C.editModule("mlp", (j) => void (j.graph.nodes[1].op = "call_magic")), {
        fault: "SchemaMismatch",
        entry: "module.json",
        path: "$.graph.nodes[1].op"
      })
      yield* expectFault(C.editModule("mlp", (j) => void (j.children._run_on_gpu_1.graph.nodes[1].op = "CALL_FUNCTION")), {
        fault: "SchemaMismatch",
        entry: "module.json",
        path: "$.children._run_on_gpu_1.graph.nodes[1].op"
      })
    }))

  it.effect("a float written as a bare JSON number is SchemaMismatch at the argument", () =>
    Effect.gen(function*() {
      yield* expectFault(C.editModule("mlp", (j) => void j.graph.nodes[2].args.push(1.5)), {
        fault: "SchemaMismatch",
        entry: "module.json",
        path: "$.graph.nodes[2].args[1]"
      })
      yield* expectFault(C.editModule("mlp", (j) => void (j.graph.nodes[2].kwargs.alpha = 0.5)), {
        fault: "SchemaMismatch",
        entry: "module.json",
        path: "$.graph.nodes[2].kwargs.alpha"
      })
      yield* expectFault(C.editModule("mlp", (j) => void j.graph.nodes[2].args.push([1, [2, 1.5]])), {
        fault: "SchemaMismatch",
        entry: "module.json",
        path: "$.graph.nodes[2].args[1][1][1]"
      })
      yield* expectFault(C.editModule("mlp", (j) => void j.children._run_on_gpu_1.graph.nodes[1].args.push(-2.25)), {
        fault: "SchemaMismatch",
        entry: "module.json",
        path: "$.children._run_on_gpu_1.graph.nodes[1].args[1]"
      })
    }))

  it.effect("a node without a name is SchemaMismatch at its name", () =>
    Effect.gen(function*() {
      yield* expectFault(C.editModule("mlp", (j) => void delete j.graph.nodes[2].name), {
        fault: "SchemaMismatch",
        entry: "module.json",
        path: "$.graph.nodes[2].name"
      })
      yield* expectFault(C.editModule("mlp", (j) => void (j.graph.nodes[2].name = "not an identifier")), {
        fault: "SchemaMismatch",
        entry: "module.json",
        path: "$.graph.nodes[2].name"
      })
    }))

  it.effect("a wrong kind is SchemaMismatch at the module record", () =>
    Effect.gen(function*() {
      yield* expectFault(C.editModule("mlp", (j) => void (j.kind = "module")), {
        fault: "SchemaMismatch",
        entry: "module.json",
        path: "$.kind"
      })
      yield* expectFault(C.editModule("mlp", (j) => void (j.children._run_on_acc_0.kind = "trt")), {
        fault: "SchemaMismatch",
        entry: "module.json",
        path: "$.children._run_on_acc_0"
      })
    }))

  it.effect("other shape faults are located at the field", () =>
    Effect.gen(function*() {
      const at = (path: string) => ({ fault: "SchemaMismatch" as const, entry: "module.json", path })
      yield* expectFault(C.editModule("mlp", (j) => void delete j.children._run_on_acc_0.input_binding_names), at("$.children._run_on_acc_0.input_binding_names"))
      yield* expectFault(C.editModule("cnn_bn", (j) => void (j.children._run_on_gpu_1.children.bn.parameters.weight.shape = [-1])), at(`${BN}.parameters.weight.shape[0]`))
      yield* expectFault(C.editModule("cnn_bn", (j) => void (j.children._run_on_gpu_1.children.bn.parameters.weight.storage = "tensors/x")), at(`${BN}.parameters.weight.storage`))
      yield* expectFault(C.editModule("mlp", (j) => void (j.children._run_on_acc_0.packed_engine_info[3] = { engine: "tensors/0" })), at("$.children._run_on_acc_0.packed_engine_info[3].engine"))
      yield* expectFault(C.editModule("mlp", (j) => void delete j.graph.in_spec), at("$.graph.in_spec"))
      yield* expectFault(C.editModule("mlp", (j) => void (j.graph.nodes = {})), at("$.graph.nodes"))
      yield* expectFault(C.editModule("mlp", (j) => void (j.graph.symbols = { s0: { hint: 1, min: 0 } })), at("$.graph.symbols.s0.max"))
      yield* expectFault(C.editModule("mlp", (j) => void (j.graph.nodes[0].meta.val = { tensor: { shape: [1] } })), at("$.graph.nodes[0].meta.val.tensor.stride"))
      yield* expectFault(C.editModule("mlp", () => []), at("$"))
    }))

  it.effect("an unknown dtype or a stride of the wrong rank is SchemaMismatch at the field", () =>
    Effect.gen(function*() {
      yield* expectFault(C.editModule("cnn_bn", (j) => void (j.children._run_on_gpu_1.children.bn.buffers.running_var.dtype = "float33")), {
        fault: "SchemaMismatch",
        entry: "module.json",
        path: `${BN}.buffers.running_var.dtype`
      })
      yield* expectFault(C.editModule("cnn_bn", (j) => void (j.children._run_on_gpu_1.children.bn.buffers.running_var.stride = [1, 1])), {
        fault: "SchemaMismatch",
        entry: "module.json",
        path: `${BN}.buffers.running_var.stride`
      })
    }))

  it.effect("two attributes of one name (a parameter and a buffer) are SchemaMismatch at the second", () =>
    expectFault(
      C.editModule("cnn_bn", (j) => {
        const bn = j.children._run_on_gpu_1.children.bn
        bn.buffers.weight = bn.buffers.running_var
      }),
      { fault: "SchemaMismatch", entry: "module.json", path: `${BN}.buffers.weight` }
    ))
})

// ===== module.json: references =====

describe("module.json: references", () => {
  it.effect("a dangling {node} is DanglingReference at the argument, naming the using node", () =>
    Effect.gen(function*() {
      const dangling = (path: string, node: string) => ({ fault: "DanglingReference" as const, entry: "module.json", path, node })
      yield* expectFault(C.editModule("mlp", (j) => void (j.graph.nodes[2].args[0] = { node: "nope" })), dangling("$.graph.nodes[2].args[0]", "_run_on_gpu_1"))
      yield* expectFault(C.editModule("mlp", (j) => void (j.graph.nodes[2].kwargs.k = { node: "nope" })), dangling("$.graph.nodes[2].kwargs.k", "_run_on_gpu_1"))
      yield* expectFault(C.editModule("mlp", (j) => void (j.graph.nodes[4].args[0].tuple.push({ dict: [["a", { node: "nope" }]] }))), dangling("$.graph.nodes[4].args[0].tuple[1].dict[0][1]", "output"))
      yield* expectFault(C.editModule("mlp", (j) => void j.graph.nodes[2].args.push({ slice: [null, { node: "nope" }, 1] })), dangling("$.graph.nodes[2].args[1].slice[1]", "_run_on_gpu_1"))
      yield* expectFault(C.editModule("mlp", (j) => void j.graph.nodes[2].args.push([[{ node: "nope" }]])), dangling("$.graph.nodes[2].args[1][0][0]", "_run_on_gpu_1"))
      // A node of another graph (the child's `gelu`) is not a node of the root graph.
      yield* expectFault(C.editModule("mlp", (j) => void (j.graph.nodes[3].args[0] = { node: "gelu" })), dangling("$.graph.nodes[3].args[0]", "_run_on_acc_2"))
      // In a child graph.
      yield* expectFault(C.editModule("mlp", (j) => void (j.children._run_on_gpu_1.graph.nodes[1].args[0] = { node: "x" })), dangling("$.children._run_on_gpu_1.graph.nodes[1].args[0]", "gelu"))
    }))

  it.effect("a forward reference (a node used before it is defined) is DanglingReference", () =>
    Effect.gen(function*() {
      yield* expectFault(C.editModule("mlp", (j) => void (j.graph.nodes[2].args[0] = { node: "_run_on_acc_2" })), {
        fault: "DanglingReference",
        entry: "module.json",
        path: "$.graph.nodes[2].args[0]",
        node: "_run_on_gpu_1"
      })
      // A node using itself.
      yield* expectFault(C.editModule("mlp", (j) => void (j.graph.nodes[2].args[0] = { node: "_run_on_gpu_1" })), {
        fault: "DanglingReference",
        entry: "module.json",
        path: "$.graph.nodes[2].args[0]",
        node: "_run_on_gpu_1"
      })
    }))

  it.effect("an unresolvable call_module or get_attr target is UnresolvedTarget at the target", () =>
    Effect.gen(function*() {
      const unresolved = (path: string, node: string) => ({ fault: "UnresolvedTarget" as const, entry: "module.json", path, node })
      yield* expectFault(C.editModule("mlp", (j) => void (j.graph.nodes[2].target = "_run_on_gpu_9")), unresolved("$.graph.nodes[2].target", "_run_on_gpu_1"))
      yield* expectFault(C.editModule("cnn_bn", (j) => void (j.children._run_on_gpu_1.graph.nodes[1].target = "bn.nope")), unresolved("$.children._run_on_gpu_1.graph.nodes[1].target", "bn_weight"))
      yield* expectFault(C.editModule("cnn_bn", (j) => void (j.children._run_on_gpu_1.graph.nodes[2].target = "nope.bias")), unresolved("$.children._run_on_gpu_1.graph.nodes[2].target", "bn_bias"))
      // Targets resolve in the graph's own module: the root cannot see the child's `bn`.
      yield* expectFault(C.editModule("cnn_bn", (j) => {
        j.graph.nodes.splice(1, 0, { name: "w", op: "get_attr", target: "bn.weight", args: [], kwargs: {}, meta: {} })
      }), unresolved("$.graph.nodes[1].target", "w"))
      // A trt module holds no attributes.
      yield* expectFault(C.editModule("mlp", (j) => {
        j.graph.nodes.splice(1, 0, { name: "w", op: "get_attr", target: "_run_on_acc_0.engine", args: [], kwargs: {}, meta: {} })
      }), unresolved("$.graph.nodes[1].target", "w"))
    }))

  it.effect("a call_module whose target is a parameter is UnresolvedTarget", () =>
    expectFault(C.editModule("cnn_bn", (j) => void (j.children._run_on_gpu_1.graph.nodes[1].op = "call_module")), {
      fault: "UnresolvedTarget",
      entry: "module.json",
      path: "$.children._run_on_gpu_1.graph.nodes[1].target",
      node: "bn_weight"
    }))

  it.effect("duplicate node names are DuplicateName at the second name", () =>
    Effect.gen(function*() {
      yield* expectFault(C.editModule("mlp", (j) => void (j.graph.nodes[3].name = "_run_on_acc_0")), {
        fault: "DuplicateName",
        entry: "module.json",
        path: "$.graph.nodes[3].name",
        node: "_run_on_acc_0"
      })
      yield* expectFault(C.editModule("cnn_bn", (j) => void (j.children._run_on_gpu_1.graph.nodes[4].name = "bn_weight")), {
        fault: "DuplicateName",
        entry: "module.json",
        path: "$.children._run_on_gpu_1.graph.nodes[4].name",
        node: "bn_weight"
      })
    }))
})

// ===== Entries that records point to =====

describe("module.json: entries", () => {
  it.effect("a missing tensors/<k> is MissingEntry at the TensorRef's storage", () =>
    Effect.gen(function*() {
      yield* expectFault(C.editSample("cnn_bn", (e) => C.dropEntries(e, "tensors/0")), {
        fault: "MissingEntry",
        entry: "module.json",
        path: `${BN}.parameters.weight.storage`
      })
      yield* expectFault(C.editSample("cnn_bn", (e) => C.dropEntries(e, "tensors/3")), {
        fault: "MissingEntry",
        entry: "module.json",
        path: `${BN}.buffers.running_var.storage`
      })
      yield* expectFault(C.tiny((e) => C.dropEntries(e, "tensors/1")), {
        fault: "MissingEntry",
        entry: "module.json",
        path: "$.children.sub.buffers.scale.storage"
      })
      yield* expectFault(C.tiny((e) => C.mapJson(e, "module.json", (j) => {
        j.constants.c = { ...j.children.lin.parameters.weight, storage: "tensors/5" }
      })), { fault: "MissingEntry", entry: "module.json", path: "$.constants.c.storage" })
    }))

  it.effect("a missing engines/<k> is MissingEntry where the record names it", () =>
    Effect.gen(function*() {
      yield* expectFault(C.editSample("cnn_bn", (e) => C.dropEntries(e, "engines/0")), {
        fault: "MissingEntry",
        entry: "module.json",
        path: "$.children._run_on_acc_0.packed_engine_info[3]"
      })
      yield* expectFault(C.editModule("cnn_bn", (j) => void (j.children._run_on_acc_2.engine_state[3] = { engine: "engines/7" })), {
        fault: "MissingEntry",
        entry: "module.json",
        path: "$.children._run_on_acc_2.engine_state[3]"
      })
      yield* expectFault(C.tiny((e) => C.mapJson(e, "module.json", (j) => {
        j.constants.eng = { script_object: { class_fqn: "__torch__.torch.classes.tensorrt.Engine", state: ["7", { engine: "engines/3" }] } }
      })), { fault: "MissingEntry", entry: "module.json", path: "$.constants.eng.script_object.state[1]" })
    }))

  it.effect("a storage too small for its view is StorageTooSmall at the TensorRef", () =>
    Effect.gen(function*() {
      const small = (path: string) => ({ fault: "StorageTooSmall" as const, entry: "module.json", path })
      yield* expectFault(C.editSample("cnn_bn", (e) => C.replaceEntry(e, "tensors/0", new Uint8Array(31))), small(`${BN}.parameters.weight`))
      yield* expectFault(C.editSample("cnn_bn", (e) => C.replaceEntry(e, "tensors/2", new Uint8Array(0))), small(`${BN}.buffers.running_mean`))
      const ref = (f: (t: C.Json) => void) => C.editModule("cnn_bn", (j) => f(j.children._run_on_gpu_1.children.bn.buffers.running_var))
      yield* expectFault(ref((t) => void (t.shape = [9])), small(`${BN}.buffers.running_var`))
      yield* expectFault(ref((t) => void (t.storage_offset = 1)), small(`${BN}.buffers.running_var`))
      yield* expectFault(ref((t) => void (t.dtype = "float64")), small(`${BN}.buffers.running_var`))
      yield* expectFault(ref((t) => void Object.assign(t, { shape: [2, 4], stride: [5, 1] })), small(`${BN}.buffers.running_var`))
      yield* expectFault(ref((t) => void Object.assign(t, { shape: [], stride: [], storage_offset: 8 })), small(`${BN}.buffers.running_var`))
      // Exactly enough is fine, and so is an empty view anywhere.
      const fits = yield* Tgm.readBytes(yield* ref((t) => void Object.assign(t, { shape: [2, 2], stride: [1, 5], storage_offset: 1 })))
      assert.strictEqual(fits.graph.size, 5)
      const empty = yield* Tgm.readBytes(yield* ref((t) => void Object.assign(t, { shape: [0, 3], stride: [3, 1], storage_offset: 1000 })))
      assert.strictEqual(empty.graph.size, 5)
    }))
})

// ===== Tensors and symbols: the rules torch holds them to (Tensor.check, ValueRange.check) =====

describe("module.json: tensor rules and symbol ranges", () => {
  const tinyModule = (mutate: (j: C.Json) => void) =>
    C.tiny((e) => C.mapJson(e, "module.json", (j) => void mutate(j)))
  const weight = "$.children.lin.parameters.weight"

  it.effect("every layout torch accepts reads: a view ending at the storage's end, 0-d at the last element, stride 0, empty", () =>
    Effect.gen(function*() {
      // tensors/0 holds 16 bytes: 4 float32.
      const layouts = [
        { shape: [2], stride: [1], storage_offset: 2 },
        { shape: [], stride: [], storage_offset: 3 },
        { shape: [50, 2], stride: [0, 1], storage_offset: 2 },
        { shape: [0, 7], stride: [7, 1], storage_offset: 99 }
      ]
      for (const l of layouts) {
        const m = yield* Tgm.readBytes(yield* tinyModule((j) => void Object.assign(j.children.lin.parameters.weight, l)))
        const t = (m.children.get("lin") as { parameters: Map<string, { shape: ReadonlyArray<number> }> }).parameters.get("weight")!
        assert.deepStrictEqual(t.shape, l.shape)
      }
      // An empty view of an empty storage.
      const empty = C.tiny((e) =>
        C.replaceEntry(C.mapJson(e, "module.json", (j) => void Object.assign(j.children.lin.parameters.weight, { shape: [0], stride: [1] })), "tensors/0", new Uint8Array(0))
      )
      assert.strictEqual((yield* Tgm.readBytes(yield* empty)).graph.size, 7)
    }))

  it.effect("requires_grad on an integer tensor, a view past the end, a negative stride: refused at the field", () =>
    Effect.gen(function*() {
      const e = yield* expectFault(
        tinyModule((j) => void Object.assign(j.children.lin.parameters.weight, { dtype: "int32", requires_grad: true })),
        { fault: "SchemaMismatch", entry: "module.json", path: `${weight}.requires_grad` }
      )
      assert.include(e.detail, "Only Tensors of floating point and complex dtype can require gradients")
      const past = yield* expectFault(
        tinyModule((j) => void Object.assign(j.children.lin.parameters.weight, { shape: [2], stride: [1], storage_offset: 3 })),
        { fault: "StorageTooSmall", entry: "module.json", path: weight }
      )
      assert.include(past.detail, "requiring a storage size of 20 are out of bounds for storage of size 16")
      const negative = yield* expectFault(
        tinyModule((j) => void Object.assign(j.children.lin.parameters.weight, { stride: [-2, 1] })),
        { fault: "SchemaMismatch", entry: "module.json", path: `${weight}.stride[0]` }
      )
      assert.include(negative.detail, "as_strided: Negative strides are not supported at the moment, got strides: [-2, 1]")
    }))

  it.effect("a node value's tensor: negative sizes and strides, and 2^78 elements, refused at the node", () =>
    Effect.gen(function*() {
      const val = (tensor: object) => (j: C.Json) =>
        void (j.graph.nodes[0].meta = {
          val: [{ tensor: { shape: [2, 3], stride: [3, 1], storage_offset: 0, dtype: "float32", device: "cpu", requires_grad: false, ...tensor } }]
        })
      const at = (field: string) => ({ fault: "SchemaMismatch" as const, entry: "module.json", path: `$.graph.nodes[0].meta.val[0].tensor.${field}`, node: "x" })
      const negative = yield* expectFault(tinyModule(val({ shape: [2, -3] })), at("shape[1]"))
      assert.include(negative.detail, "Trying to create tensor with negative dimension -3: [2, -3]")
      const stride = yield* expectFault(tinyModule(val({ stride: ["s0", -1] })), at("stride[1]"))
      assert.include(stride.detail, "Negative strides are not supported")
      yield* expectFault(tinyModule(val({ storage_offset: -1 })), at("storage_offset"))
      const huge = yield* expectFault(tinyModule(val({ shape: [2 ** 39, 2 ** 39], stride: [2 ** 39, 1] })), at("shape"))
      assert.include(huge.detail, "Storage size calculation overflowed")
      // Symbolic sizes are left to the symbols' ranges.
      const ok = yield* Tgm.readBytes(yield* tinyModule(val({ shape: ["s0", 3] })))
      assert.strictEqual(ok.graph.size, 7)
    }))

  it.effect("symbols: min above max (torch's message) and a hint outside its range", () =>
    Effect.gen(function*() {
      const symbols = (s0: object) => tinyModule((j) => void (j.graph.symbols = { s0: { hint: 4, min: 2, max: 64, ...s0 } }))
      const inverted = yield* expectFault(symbols({ min: 65 }), { fault: "SchemaMismatch", entry: "module.json", path: "$.graph.symbols.s0.min" })
      assert.include(inverted.detail, "Invalid ranges [65:64]")
      yield* expectFault(symbols({ hint: 1 }), { fault: "SchemaMismatch", entry: "module.json", path: "$.graph.symbols.s0.hint" })
      yield* expectFault(symbols({ hint: 65 }), { fault: "SchemaMismatch", entry: "module.json", path: "$.graph.symbols.s0.hint" })
      // Unbounded ends and an unbacked symbol's null hint are fine.
      const m = yield* Tgm.readBytes(yield* symbols({ hint: null, max: null }))
      assert.deepStrictEqual(m.symbols?.get("s0"), { hint: null, min: 2, max: null })
    }))

  it.effect("the writer refuses what the reader would, with the same rule at the same path", () =>
    Effect.gen(function*() {
      const mk = () => {
        const gm = GraphModule.make()
        const x = gm.graph.placeholder("x")
        gm.graph.output(x)
        return gm
      }
      const storage = Tensor.storage(new Uint8Array(16))
      const cases: Array<readonly [(gm: Module.GraphModule) => void, string, string, string]> = [
        [(gm) => Module.registerParameter(gm, "w", Tensor.make({ storage, dtype: "float32", shape: [2], stride: [-1] })), "Unserializable", "$.parameters.w.stride[0]", "Negative strides"],
        [(gm) => Module.registerBuffer(gm, "b", Tensor.make({ storage, dtype: "int64", shape: [2], requiresGrad: true }), true), "Unserializable", "$.buffers.b.requires_grad", "Only Tensors of floating point"],
        [(gm) => Module.registerParameter(gm, "w", Tensor.make({ storage, dtype: "float32", shape: [2], storageOffset: 3 })), "StorageTooSmall", "$.parameters.w", "out of bounds for storage of size 16"],
        [(gm) => void (gm.symbols = new Map([["s0", { hint: 9, min: 2, max: 8 }]])), "Unserializable", "$.graph.symbols.s0.hint", "hint 9 is not in the symbol's range [2, 8]"],
        [(gm) => void (gm.graph.findNodes("placeholder")[0]!.meta = { val: { tensor: { shape: [-2], stride: [1], storage_offset: 0, dtype: "float32", device: "cpu", requires_grad: false } } }), "Unserializable", "$.graph.nodes[0].meta.val.tensor.shape[0]", "negative dimension -2"]
      ]
      for (const [edit, fault, path, words] of cases) {
        const gm = mk()
        edit(gm)
        const e = yield* Effect.flip(Tgm.toBytes(gm))
        assert.deepStrictEqual([e.fault, e.entry, e.path], [fault, "module.json", path])
        assert.include(e.detail, words)
      }
    }))

  it.effect("an empty target, on any node but the output (fx writes no code for one), read and written", () =>
    Effect.gen(function*() {
      yield* expectFault(tinyModule((j) => void (j.graph.nodes[2].target = "")), {
        fault: "SchemaMismatch",
        entry: "module.json",
        path: "$.graph.nodes[2].target",
        node: "mul"
      })
      yield* expectFault(tinyModule((j) => void (j.graph.nodes[0].target = "")), {
        fault: "SchemaMismatch",
        entry: "module.json",
        path: "$.graph.nodes[0].target",
        node: "x"
      })
      const gm = GraphModule.make()
      gm.graph.output(gm.graph.placeholder(""))
      const w = yield* Effect.flip(Tgm.toBytes(gm))
      assert.deepStrictEqual([w.fault, w.path, w.node], ["Unserializable", "$.graph.nodes[0].target", "_unnamed"])
      yield* expectFault(tinyModule((j) => void (j.graph.nodes[1].target = "")), {
        fault: "UnresolvedTarget",
        entry: "module.json",
        path: "$.graph.nodes[1].target",
        node: "lin_weight"
      })
    }))
})

// ===== Nothing half-built =====

describe("nothing half-built", () => {
  it.effect("after every kind of failure, valid archives still read; a failed write leaves no file", () =>
    Effect.gen(function*() {
      const broken = [
        new Uint8Array(0),
        yield* C.editSample("cnn_bn", (e) => C.dropEntries(e, "tensors/2")),
        yield* C.editModule("mlp", (j) => void (j.graph.nodes[2].args[0] = { node: "nope" })),
        yield* C.editFormat("mlp", (j) => void (j.version = 3))
      ]
      const exits = yield* Effect.forEach(broken, (b) => Effect.exit(Tgm.readBytes(b)), { concurrency: "unbounded" })
      for (const exit of exits) {
        assert.strictEqual(exit._tag, "Failure")
        if (exit._tag === "Failure") assert.isFalse(Cause.hasDies(exit.cause))
      }
      const m = yield* Tgm.readBytes(C.sampleBytes("cnn_bn"))
      assert.strictEqual(m.graph.size, 5)
      const dir = yield* tempDir
      const target = nodePath.join(dir, "missing", "out.tgm")
      const e = yield* Effect.flip(Tgm.writeFile(target, m))
      assert.strictEqual(e.fault, "WriteFailed")
      assert.deepStrictEqual(fs.readdirSync(dir), [])
      const good = nodePath.join(dir, "out.tgm")
      yield* Tgm.writeFile(good, m)
      assert.deepStrictEqual(fs.readdirSync(dir), ["out.tgm"])
    }))
})

// ===== Faults that src gets wrong (see the report) =====

describe("bugs: faults reported wrongly or not at all", () => {
  it.effect("a stored entry declaring two different sizes is EntryTooLarge naming that entry", () =>
    Effect.gen(function*() {
      const bytes = C.sampleBytes("mlp")
      const engine = C.layout(bytes).entries.find((e) => e.name === "engines/0")!
      new DataView(bytes.buffer).setUint32(engine.central + 24, 2 ** 31, true)
      yield* expectFault(bytes, { fault: "EntryTooLarge", entry: "engines/0" })
    }))

  it.effect("a bad value inside an object-shaped argument is located at that value, not at a 'node' key", () =>
    Effect.gen(function*() {
      yield* expectFault(C.editModule("mlp", (j) => void j.graph.nodes[2].args.push({ float: "infinity" })), {
        fault: "SchemaMismatch",
        entry: "module.json",
        path: "$.graph.nodes[2].args[1].float"
      })
      yield* expectFault(C.editModule("mlp", (j) => void j.graph.nodes[2].args.push({ tuple: [2, 1.5] })), {
        fault: "SchemaMismatch",
        entry: "module.json",
        path: "$.graph.nodes[2].args[1].tuple[1]"
      })
    }))

  it.effect("a kwarg key that is not an identifier is SchemaMismatch (not silently dropped)", () =>
    expectFault(C.editModule("mlp", (j) => void (j.graph.nodes[2].kwargs["not an ident"] = { node: "nope" })), {
      fault: "SchemaMismatch",
      entry: "module.json",
      path: "$.graph.nodes[2].kwargs[\"not an ident\"]",
      node: "_run_on_gpu_1"
    }))

  it.effect("an attribute name with a dot, or an empty one, is SchemaMismatch (not silently dropped)", () =>
    Effect.gen(function*() {
      yield* expectFault(C.editModule("cnn_bn", (j) => {
        const bn = j.children._run_on_gpu_1.children.bn
        bn.parameters["a.b"] = bn.parameters.weight
      }), { fault: "SchemaMismatch", entry: "module.json", path: `${BN}.parameters["a.b"]` })
      yield* expectFault(C.editModule("mlp", (j) => void (j.children[""] = j.children._run_on_acc_0)), {
        fault: "SchemaMismatch",
        entry: "module.json",
        path: "$.children[\"\"]"
      })
    }))

  it.effect("deeply nested arguments or modules are an ArchiveError, not a defect", () =>
    Effect.gen(function*() {
      const n = 5000
      const inputs = [
        yield* patchModuleText("mlp", "\"args\":[{\"node\":\"_run_on_acc_0\"}]", `"args":[{"node":"_run_on_acc_0"},${"[".repeat(n)}1${"]".repeat(n)}]`),
        yield* patchModuleText("mlp", "\"args\":[{\"node\":\"_run_on_acc_0\"}]", `"args":[{"node":"_run_on_acc_0"},${"{\"tuple\":[".repeat(n)}1${"]}".repeat(n)}]`),
        yield* patchModuleText("mlp", "\"meta\":{}", `"meta":{"val":${"[".repeat(n)}null${"]".repeat(n)}}`),
        yield* C.editModule("mlp", (j) => {
          let c: C.Json = { kind: "module", type: "t", children: {}, parameters: {}, buffers: {}, constants: {} }
          for (let i = 0; i < 2000; i++) c = { kind: "module", type: "t", children: { a: c }, parameters: {}, buffers: {}, constants: {} }
          j.children.deep = c
        })
      ]
      for (const bytes of inputs) {
        const exit = yield* Effect.exit(Tgm.readBytes(bytes, LABEL))
        if (exit._tag === "Success") continue // accepting it is fine too
        assert.isFalse(Cause.hasDies(exit.cause), `a defect: ${Cause.pretty(exit.cause).split("\n")[0]}`)
      }
    }))

  it.effect("a node after the output node is located at that node", () =>
    expectFault(C.editModule("mlp", (j) => void j.graph.nodes.push({ ...j.graph.nodes[1], name: "late" })), {
      fault: "SchemaMismatch",
      entry: "module.json",
      path: "$.graph.nodes[5]",
      node: "late"
    }))

  it.effect("a call_module with an empty target (the module calling itself) is refused", () =>
    Effect.gen(function*() {
      const bytes = yield* C.editModule("mlp", (j) => void (j.graph.nodes[1].target = ""))
      const exit = yield* Effect.exit(Tgm.readBytes(bytes, LABEL))
      if (exit._tag === "Success") {
        // The reader handed out a module whose own graph fails lint (fx's per-atom target walk).
        assert.throws(() => Lint.lint(exit.value.graph))
      }
      assert.strictEqual(exit._tag, "Failure", "call_module '' was accepted")
      if (exit._tag !== "Failure") return
      const e = Cause.findErrorOption(exit.cause).pipe((o) => (o._tag === "Some" ? o.value : undefined))!
      assert.include(["UnresolvedTarget", "SchemaMismatch"], e.fault)
      assert.strictEqual(e.entry, "module.json")
      assert.strictEqual(e.node, "_run_on_acc_0")
    }))
})

// ===== op_schemas.json =====

describe("op_schemas.json (optional; a trtx addition to the spec)", () => {
  const withSchemas = (data: string) =>
    C.editSample("mlp", (e) => [...e, { name: "op_schemas.json", data: C.text(data), compress: true }])
  const GELU = "aten::gelu(Tensor self, *, str approximate=\\\"none\\\") -> Tensor"

  it.effect("text that is not JSON is BadJson at the entry", () =>
    expectFault(withSchemas("[\"aten::relu(Tensor self) -> Tensor\""), { fault: "BadJson", entry: "op_schemas.json" }))

  it.effect("anything but an array of strings is SchemaMismatch at its JSON path", () =>
    Effect.gen(function*() {
      yield* expectFault(withSchemas(`{"schemas": []}`), { fault: "SchemaMismatch", entry: "op_schemas.json", path: "$" })
      yield* expectFault(withSchemas(`["${GELU}", 7]`), { fault: "SchemaMismatch", entry: "op_schemas.json", path: "$[1]" })
    }))

  it.effect("a string that is not a torch schema is SchemaMismatch at its index, with the parser's reason", () =>
    Effect.gen(function*() {
      const e = yield* expectFault(withSchemas(`["${GELU}", "aten::relu(Tensor self -> Tensor"]`), {
        fault: "SchemaMismatch",
        entry: "op_schemas.json",
        path: "$[1]"
      })
      assert.include(e.detail, "not a torch schema")
      assert.match(e.detail, /at offset \d+/)
    }))

  it.effect("a second, different schema for one operator is refused; the same one twice is not", () =>
    Effect.gen(function*() {
      const renamed = GELU.replace("Tensor self", "Tensor input")
      const e = yield* expectFault(withSchemas(`["${GELU}", "aten::relu(Tensor self) -> Tensor", "${renamed}"]`), {
        fault: "SchemaMismatch",
        entry: "op_schemas.json",
        path: "$[2]"
      })
      assert.include(e.detail, "torch.ops.aten.gelu.default")
      assert.include(e.detail, "$[0]")
      const same = yield* Tgm.read({ _tag: "Bytes", bytes: yield* withSchemas(`["${GELU}", "${GELU}"]`), label: LABEL })
      assert.deepStrictEqual([...(same.opSchemas ?? new Map()).keys()], ["torch.ops.aten.gelu.default"])
    }))

  it.effect("entry bytes that fail the CRC are CorruptZip at the entry", () =>
    Effect.gen(function*() {
      const bytes = yield* C.editSample("mlp", (e) => [...e, { name: "op_schemas.json", data: C.text(`["${GELU}"]`), compress: false }])
      const entry = C.layout(bytes).entries.find((x) => x.name === "op_schemas.json")!
      bytes[entry.dataStart + 3]! ^= 0x20
      yield* expectFault(bytes, { fault: "CorruptZip", entry: "op_schemas.json" })
    }))
})

