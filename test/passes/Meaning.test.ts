/**
 * Meaning preservation of the exporter: a symbolic evaluator (test/utils/Symbolic.ts) runs the compiled
 * module (fallback modules recursively, each TensorRT module an opaque function keyed by its engine bytes)
 * and the exported program (`execute_engine` the same opaque function) on symbolic inputs, and the output
 * terms must be equal; over random partitioned modules (test/utils/PartitionedRecipe.ts), over hand-written
 * modules of the shapes that broke upstream, and over the sample archives.
 *
 * For every module: the plain export, the cross-compiled export evaluated directly (the no-op node is the
 * engine keyed by its base64-decoded bytes) and after `Exporter.load` all compute what the compiled module
 * computes; every program lints; every getitem of an engine carries its own index's meta; and the compiled
 * module is unchanged by the exports.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Reader from "../../src/archive/pt2/Reader.ts"
import * as Writer from "../../src/archive/pt2/Writer.ts"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as nodePath from "node:path"
import * as url from "node:url"
import * as Encode from "../../src/archive/tgm/Encode.ts"
import * as Tgm from "../../src/archive/tgm/Tgm.ts"
import * as Argument from "../../src/graph/Argument.ts"
import { Graph } from "../../src/graph/Graph.ts"
import * as GraphModule from "../../src/graph/GraphModule.ts"
import * as Lint from "../../src/graph/Lint.ts"
import type { Val } from "../../src/graph/Meta.ts"
import * as Module from "../../src/graph/Module.ts"
import * as Exporter from "../../src/passes/Exporter.ts"
import * as GraphState from "../../src/passes/GraphState.ts"
import type { ExportedProgram } from "../../src/program/ExportedProgram.ts"
import {
  build,
  engineBytes,
  GETITEM,
  makeBank,
  PartitionedRecipe,
  registerState,
  tensorMeta,
  trtModule,
  valOf
} from "../utils/PartitionedRecipe.ts"
import * as Symbolic from "../utils/Symbolic.ts"

const EXECUTE_ENGINE = "torch.ops.tensorrt.execute_engine.default"
const NO_OP = "torch.ops.tensorrt.no_op_placeholder_for_execute_engine.default"
const ITEM = "torch.ops.aten.item.default"

// ===== Checks =====

/** The module tree as the archive would record it, bytes included. */
const snapshot = (gm: Module.GraphModule): string => {
  const encoded = Encode.encodeRoot(gm)
  const entries = [...encoded.entries].map(([name, bytes]) => [name, Buffer.from(bytes).toString("hex")])
  return JSON.stringify({ root: encoded.root, entries })
}

const assertSame = (label: string, expected: Symbolic.Term, actual: Symbolic.Term): void => {
  if (expected === actual) return
  assert.fail(`${label}: the program computes something else than the compiled module, ${Symbolic.difference(expected, actual)}`)
}

const lintProgram = (label: string, ep: ExportedProgram): void => {
  try {
    Lint.lint(ep.graphModule.graph)
    GraphModule.lint(ep.graphModule)
  } catch (e) {
    assert.fail(`${label}: the program does not lint: ${e instanceof Error ? e.message : String(e)}`)
  }
  const violation = GraphState.programViolation(ep)
  if (violation !== undefined) assert.fail(`${label}: not a valid program: ${violation}`)
}

const isScalar = (v: Val | undefined): boolean =>
  v !== undefined && v !== null && !Array.isArray(v) && ("sym_int" in v || "int" in v || "float" in v || "bool" in v)

/**
 * Every `getitem(engine, i)` carries output i's meta: the output's own meta, or, for a scalar output read
 * back with `aten.item`, a 0-d tensor (the engine returns tensors).
 */
const checkGetitemMetas = (label: string, ep: ExportedProgram): void => {
  const g = ep.graphModule.graph
  for (const engine of [...g.findNodes("call_function", EXECUTE_ENGINE), ...g.findNodes("call_function", NO_OP)]) {
    const val = engine.meta.val
    if (!Array.isArray(val)) {
      assert.fail(`${label}: ${engine.name} has meta.val ${JSON.stringify(val)}, not a list of outputs`)
      continue
    }
    const outputs: ReadonlyArray<Val> = val
    for (const user of engine.users) {
      const i = user.args[1]
      if (user.target !== GETITEM || typeof i !== "number") continue
      const out: Val | undefined = outputs[i]
      const readsItem = [...user.users].some((u) => u.target === ITEM)
      const got = JSON.stringify(user.meta.val)
      if (isScalar(out) && readsItem) {
        const v = user.meta.val
        const zeroDim = v !== undefined && v !== null && !Array.isArray(v) && "tensor" in v && v.tensor.shape.length === 0
        if (!zeroDim) {
          assert.fail(`${label}: ${user.name} = getitem(${engine.name}, ${i}) feeds aten.item, so it is a 0-d tensor, but its meta.val is ${got}`)
        }
      } else if (got !== JSON.stringify(out)) {
        assert.fail(`${label}: ${user.name} = getitem(${engine.name}, ${i}) has meta.val ${got}, output ${i} is ${JSON.stringify(out)}`)
      }
    }
  }
}

/** Exports a compiled module both ways and checks that every program means what the module means. */
const checkMeaning = (gm: Module.GraphModule, options?: { readonly metas?: boolean }) =>
  Effect.gen(function*() {
    const metas = options?.metas !== false
    const violation = GraphState.compiledViolation(gm)
    if (violation !== undefined) assert.fail(`the test module is not a compiled module: ${violation}`)
    const before = snapshot(gm)
    const inputs = gm.graph.findNodes("placeholder").map((_, i) => Symbolic.input(i))
    const expected = Symbolic.evalModule(gm, inputs)

    const plain = yield* Exporter.exportModule(gm)
    lintProgram("plain", plain)
    if (metas) checkGetitemMetas("plain", plain)
    assertSame("plain", expected, Symbolic.evalProgram(plain, inputs))

    const cross = yield* Exporter.exportModule(gm, { crossCompile: true })
    lintProgram("cross", cross)
    if (metas) checkGetitemMetas("cross", cross)
    assertSame("cross (no-op nodes as engines)", expected, Symbolic.evalProgram(cross, inputs))

    const loaded = yield* Exporter.load(cross)
    lintProgram("loaded", loaded)
    if (metas) checkGetitemMetas("loaded", loaded)
    assertSame("cross, loaded", expected, Symbolic.evalProgram(loaded, inputs))

    // Each program as a .pt2 (symbolic sizes as srepr, their hints and ranges): read back, it means the same
    // and writes the same bytes.
    for (const [label, program] of [["plain", plain], ["cross", cross], ["loaded", loaded]] as const) {
      const bytes = yield* Writer.toBytes(program)
      const back = (yield* Reader.readBytes(bytes, label)).program
      Symbolic.identifyState(program, back)
      assertSame(`${label}, written and read`, expected, Symbolic.evalProgram(back, inputs))
      assert.deepStrictEqual(yield* Writer.toBytes(back), bytes, `${label}: write(read(f)) is not f`)
    }

    assert.strictEqual(snapshot(gm), before, "the export changed the compiled module")
    return expected
  })

// ===== Properties =====

// MEANING_RUNS=20000 for a long search (the default keeps the suite at a second or two).
const runs = (n: number) => Math.max(n, Number(process.env["MEANING_RUNS"] ?? 0))
const timeout = () => (process.env["MEANING_RUNS"] === undefined ? 30_000 : 3_600_000)

/** Every program computes what the compiled module computes (lints, leaves the module unchanged). */
const meaning = ({ recipe }: { readonly recipe: PartitionedRecipe }) =>
  Effect.asVoid(checkMeaning(build(recipe), { metas: false }))

/** Every getitem of an engine carries its own output's meta. */
const getitemMetas = ({ recipe }: { readonly recipe: PartitionedRecipe }) => Effect.asVoid(checkMeaning(build(recipe)))

describe("meaning preservation over random partitioned modules", () => {
  it.effect.prop(
    "plain, cross-compiled and loaded programs compute what the compiled module computes",
    { recipe: PartitionedRecipe },
    meaning,
    { timeout: timeout(), arbitrary: { runs: runs(300) } }
  )

  it.effect.prop(
    "every getitem of an engine carries its own output's meta (a 0-d tensor where aten.item reads it back)",
    { recipe: PartitionedRecipe },
    getitemMetas,
    { timeout: timeout(), arbitrary: { runs: runs(100) } }
  )
})

// ===== Hand-written modules =====

const T = tensorMeta([2, 3])

describe("meaning preservation, named shapes", () => {
  it.effect("a fallback module first, its placeholders named as the root's, called with them swapped", () =>
    Effect.gen(function*() {
      const root = new Module.GraphModule(new Graph())
      const g = root.graph
      const x = g.placeholder("x", { meta: { val: T } })
      const y = g.placeholder("y", { meta: { val: T } })
      const sub = new Module.GraphModule(new Graph())
      const sx = sub.graph.placeholder("x", { meta: { val: T } })
      const sy = sub.graph.placeholder("y", { meta: { val: T } })
      sub.graph.output(sub.graph.callFunction("torch.ops.aten.atan2.default", [sx, sy], {}, { meta: { val: T } }))
      Module.addSubmodule(root, "_run_on_gpu_0", sub)
      Module.addSubmodule(root, "_run_on_acc_1", trtModule("_run_on_acc_1", { inputs: 2, outputs: 1, engine: engineBytes(1) }))
      const gpu = g.callModule("_run_on_gpu_0", [y, x], {}, { meta: { val: T } })
      const acc = g.callModule("_run_on_acc_1", [gpu, x], {}, { meta: { val: [T] } })
      g.output(Argument.tuple(acc, gpu))
      const out = yield* checkMeaning(root)
      const atan2 = Symbolic.app("torch.ops.aten.atan2.default", [Symbolic.input(1), Symbolic.input(0)])
      assert.strictEqual(Symbolic.show(out), Symbolic.show(Symbolic.seq([
        Symbolic.engineOutput(Symbolic.engine(engineBytes(1)), 0, [atan2, Symbolic.input(0)]),
        atan2
      ])))
    }))

  it.effect("a multi-output engine whose getitems were created in reverse index order", () =>
    Effect.gen(function*() {
      const root = new Module.GraphModule(new Graph())
      root.symbols = new Map([["s0", { hint: 4, min: 2, max: 64 }]])
      const g = root.graph
      const x = g.placeholder("x", { meta: { val: T } })
      const outs: Array<Val> = [tensorMeta([1, 3]), tensorMeta([2, 5]), tensorMeta([3, "s0"])]
      Module.addSubmodule(root, "_run_on_acc_0", trtModule("_run_on_acc_0", { inputs: 1, outputs: 3, engine: engineBytes(0), engineState: true }))
      Module.addSubmodule(root, "_run_on_acc_1", trtModule("_run_on_acc_1", { inputs: 2, outputs: 1, engine: engineBytes(1) }))
      const call = g.callModule("_run_on_acc_0", [x], {}, { meta: { val: outs } })
      const g2 = g.callFunction(GETITEM, [call, 2], {}, { meta: { val: outs[2]! } })
      const g1 = g.callFunction(GETITEM, [call, 1], {}, { meta: { val: outs[1]! } })
      const g0 = g.callFunction(GETITEM, [call, 0], {}, { meta: { val: outs[0]! } })
      const again = g.callModule("_run_on_acc_1", [g0, g1], {}, { meta: { val: [T] } })
      g.output(Argument.tuple(g2, again, g1))
      // checkMeaning also checks that each getitem carries its own index's meta, in all three programs
      const out = yield* checkMeaning(root)
      const e0 = Symbolic.engine(engineBytes(0))
      const o = (k: number) => Symbolic.engineOutput(e0, k, [Symbolic.input(0)])
      assert.strictEqual(out, Symbolic.seq([o(2), Symbolic.engineOutput(Symbolic.engine(engineBytes(1)), 0, [o(0), o(1)]), o(1)]))
    }))

  it.effect("a weight shared by two fallback modules (separate plain modules, one tensor), and a tied weight", () =>
    Effect.gen(function*() {
      const bank = makeBank()
      const root = new Module.GraphModule(new Graph())
      const g = root.graph
      const x = g.placeholder("x", { meta: { val: T } })
      const fallback = (name: string, state: ReadonlyArray<"sub.weight" | "w0" | "tied.weight">) => {
        const sub = new Module.GraphModule(new Graph())
        const sg = sub.graph
        let acc = sg.placeholder("x", { meta: { val: T } })
        for (const s of state) {
          const w = sg.getAttr(s, { meta: { val: valOf(registerState(sub, s, bank)) } })
          acc = sg.callFunction("torch.ops.aten.mul.Tensor", [acc, w], {}, { meta: { val: T } })
        }
        sg.output(acc)
        Module.addSubmodule(root, name, sub)
        return sub
      }
      const a = fallback("_run_on_gpu_0", ["sub.weight", "w0"])
      fallback("_run_on_gpu_2", ["sub.weight", "tied.weight"])
      Module.addSubmodule(root, "_run_on_acc_1", trtModule("_run_on_acc_1", { inputs: 1, outputs: 1, engine: engineBytes(1) }))
      const r0 = g.callModule("_run_on_gpu_0", [x], {}, { meta: { val: T } })
      const r1 = g.callModule("_run_on_acc_1", [r0], {}, { meta: { val: T } })
      const r2 = g.callModule("_run_on_gpu_2", [r1], {}, { meta: { val: T } })
      g.output(Argument.tuple(r2))
      const out = yield* checkMeaning(root)
      const w = Symbolic.weight(bank.tensors.get("sub.weight")!.tensor)
      const w0 = Symbolic.weight(bank.tensors.get("w0")!.tensor)
      const mul = (p: Symbolic.Term, q: Symbolic.Term) => Symbolic.app("torch.ops.aten.mul.Tensor", [p, q])
      const first = mul(mul(Symbolic.input(0), w), w0)
      const engineOut = Symbolic.engineOutput(Symbolic.engine(engineBytes(1)), 0, [first])
      assert.strictEqual(out, Symbolic.seq([mul(mul(engineOut, w), w0)]))
      // one parameter placeholder for the shared FQN, and the tie is kept as two parameters of one tensor
      const plain = yield* Exporter.exportModule(root)
      const params = plain.graphSignature.inputSpecs.filter((s) => s._tag === "Parameter").map((s) => s.target)
      assert.deepStrictEqual([...params].sort(), ["sub.weight", "tied.weight", "w0"])
      assert.strictEqual(plain.stateDict.get("w0"), plain.stateDict.get("tied.weight"))
      assert.notStrictEqual(Module.getSubmodule(a, "sub"), undefined)
    }))

  it.effect("a parameter returned as an output, directly and inside a tuple", () =>
    Effect.gen(function*() {
      const bank = makeBank()
      const root = new Module.GraphModule(new Graph())
      const g = root.graph
      const x = g.placeholder("x", { meta: { val: T } })
      const direct = new Module.GraphModule(new Graph())
      direct.graph.placeholder("x", { meta: { val: T } })
      direct.graph.output(direct.graph.getAttr("w1", { meta: { val: valOf(registerState(direct, "w1", bank)) } }))
      Module.addSubmodule(root, "_run_on_gpu_0", direct)
      const pair = new Module.GraphModule(new Graph())
      const px = pair.graph.placeholder("x", { meta: { val: T } })
      const c = pair.graph.getAttr("_frozen_param0", { meta: { val: valOf(registerState(pair, "_frozen_param0", bank)) } })
      const r = pair.graph.callFunction("torch.ops.aten.relu.default", [px], {}, { meta: { val: T } })
      pair.graph.output(Argument.tuple(c, r))
      Module.addSubmodule(root, "_run_on_gpu_1", pair)
      Module.addSubmodule(root, "_run_on_acc_2", trtModule("_run_on_acc_2", { inputs: 1, outputs: 1, engine: engineBytes(2) }))
      const w = g.callModule("_run_on_gpu_0", [x], {}, { meta: { val: valOf(bank.tensors.get("w1")!.tensor) } })
      const p = g.callModule("_run_on_gpu_1", [x], {}, { meta: { val: [valOf(bank.tensors.get("_frozen_param0")!.tensor), T] } })
      const p1 = g.callFunction(GETITEM, [p, 1], {}, { meta: { val: T } })
      const p0 = g.callFunction(GETITEM, [p, 0], {}, { meta: { val: valOf(bank.tensors.get("_frozen_param0")!.tensor) } })
      const e = g.callModule("_run_on_acc_2", [p0], {}, { meta: { val: [T] } })
      g.output(Argument.tuple(w, p0, e, p1))
      const out = yield* checkMeaning(root)
      const w1 = Symbolic.weight(bank.tensors.get("w1")!.tensor)
      const c0 = Symbolic.weight(bank.tensors.get("_frozen_param0")!.tensor)
      assert.strictEqual(out, Symbolic.seq([
        w1,
        c0,
        Symbolic.engineOutput(Symbolic.engine(engineBytes(2)), 0, [c0]),
        Symbolic.app("torch.ops.aten.relu.default", [Symbolic.input(0)])
      ]))
      // the outputs that are state name their lifted placeholders
      const plain = yield* Exporter.exportModule(root)
      const outputs = plain.graphSignature.outputSpecs.map((s) => s.arg.name)
      const lifted = new Map(plain.graphSignature.inputSpecs.flatMap((s) => (s._tag === "UserInput" || s._tag === "Token" ? [] : [[s.target, s.arg.name] as const])))
      assert.strictEqual(outputs[0], lifted.get("w1"))
      assert.strictEqual(outputs[1], lifted.get("_frozen_param0"))
    }))
})

// ===== Samples =====

const samplesDir = nodePath.join(nodePath.dirname(url.fileURLToPath(import.meta.url)), "..", "fixtures", "samples")
const samples = fs.existsSync(samplesDir)
  ? fs.readdirSync(samplesDir).filter((d) => fs.existsSync(nodePath.join(samplesDir, d, "input.tgm")))
  : []

describe("meaning preservation, sample archives", () => {
  for (const sample of samples) {
    it.effect(sample, () =>
      Effect.gen(function*() {
        const gm = yield* Tgm.readFile(nodePath.join(samplesDir, sample, "input.tgm"))
        yield* checkMeaning(gm)
      }))
  }
})

// ===== The check itself =====

describe("the meaning check is not vacuous", () => {
  it.effect("it notices swapped engine inputs, a weight read from the wrong tensor, and a dropped output", () =>
    Effect.gen(function*() {
      const bank = makeBank()
      const root = new Module.GraphModule(new Graph())
      const g = root.graph
      const x = g.placeholder("x", { meta: { val: T } })
      const y = g.placeholder("y", { meta: { val: T } })
      const sub = new Module.GraphModule(new Graph())
      const sx = sub.graph.placeholder("x", { meta: { val: T } })
      const w = sub.graph.getAttr("w0", { meta: { val: valOf(registerState(sub, "w0", bank)) } })
      const v = sub.graph.getAttr("w1", { meta: { val: valOf(registerState(sub, "w1", bank)) } })
      const m = sub.graph.callFunction("torch.ops.aten.mul.Tensor", [sx, w], {}, { meta: { val: T } })
      sub.graph.output(sub.graph.callFunction("torch.ops.aten.add.Tensor", [m, v], {}, { meta: { val: T } }))
      Module.addSubmodule(root, "_run_on_gpu_1", sub)
      Module.addSubmodule(root, "_run_on_acc_0", trtModule("_run_on_acc_0", { inputs: 2, outputs: 1, engine: engineBytes(0) }))
      const e = g.callModule("_run_on_acc_0", [x, y], {}, { meta: { val: [T] } })
      const f = g.callModule("_run_on_gpu_1", [e], {}, { meta: { val: T } })
      g.output(Argument.tuple(f, e))
      const inputs = [Symbolic.input(0), Symbolic.input(1)]
      const expected = Symbolic.evalModule(root, inputs)
      const differs = (ep: ExportedProgram) => assert.notStrictEqual(Symbolic.evalProgram(ep, inputs), expected)

      const swapped = yield* Exporter.exportModule(root)
      const exec = swapped.graphModule.graph.findNodes("call_function", EXECUTE_ENGINE)[0]!
      const tuple = exec.args[0] as Argument.Tuple
      exec.args = [Argument.tuple(...[...tuple.items].reverse()), exec.args[1]!]
      differs(swapped)

      const retargeted = yield* Exporter.exportModule(root)
      const specs = retargeted.graphSignature.inputSpecs.map((s) =>
        s._tag === "Parameter" && s.target === "w0" ? { ...s, target: "w1" } : s._tag === "Parameter" && s.target === "w1" ? { ...s, target: "w0" } : s
      )
      differs({ ...retargeted, graphSignature: { ...retargeted.graphSignature, inputSpecs: specs } })

      const dropped = yield* Exporter.exportModule(root)
      const output = dropped.graphModule.graph.outputNode!
      output.args = [Argument.tuple(...(output.args[0] as Argument.Tuple).items.slice(0, 1))]
      differs(dropped)
    }))
})

// ===== Counterexamples found by the properties (bugs in src/passes; these fail until fixed) =====

const fallback = (
  over: Partial<Extract<PartitionedRecipe["segments"][number], { readonly kind: "fallback" }>>
): PartitionedRecipe["segments"][number] => ({
  kind: "fallback",
  inputs: [0],
  names: "generic",
  keyword: false,
  defaulted: "absent",
  state: [],
  sharedPlain: false,
  ops: [{ op: "relu", a: 0, b: 0 }],
  inner: null,
  result: { kind: "last" },
  reuse: null,
  ...over
})

// Each of these was a counterexample of the properties above; kept as regression tests.
describe("counterexamples", () => {
  it.effect("a fallback module that returns one of its own inputs (forward(x): return x, relu(x))", () =>
    Effect.gen(function*() {
      const recipe: PartitionedRecipe = {
        inputs: 1,
        names: "xyz",
        symIntInput: false, dynamicInput: false,
        segments: [fallback({ result: { kind: "tuple", items: [{ ref: 0 }, { ref: 1 }], getitems: "forward" } })],
        rootState: [],
        outputs: [1, 2]
      }
      const out = yield* checkMeaning(build(recipe))
      assert.strictEqual(out, Symbolic.seq([Symbolic.input(0), Symbolic.app("torch.ops.aten.relu.default", [Symbolic.input(0)])]))
    }))

  it.effect("a fallback module that returns its defaulted input, passed by keyword as a literal", () =>
    Effect.gen(function*() {
      const recipe: PartitionedRecipe = {
        inputs: 1,
        names: "xyz",
        symIntInput: false, dynamicInput: false,
        segments: [fallback({
          inputs: [],
          defaulted: "passed",
          result: { kind: "tuple", items: [{ ref: 0 }, { ref: 1 }], getitems: "forward" }
        })],
        rootState: [],
        outputs: [1]
      }
      const out = yield* checkMeaning(build(recipe))
      assert.strictEqual(out, Symbolic.seq([Symbolic.literal(JSON.stringify({ float: "3" }))]))
    }))

  // InlineTorchModules rule 5: nested graph modules were once hoisted to the root under their relative names,
  // so two fallback modules with different nested modules of one name could not both be inlined.
  it.effect("two fallback modules, each calling its own nested graph module named inner", () =>
    Effect.gen(function*() {
      const recipe: PartitionedRecipe = {
        inputs: 1,
        names: "xyz",
        symIntInput: false, dynamicInput: false,
        segments: [
          fallback({ inner: { name: "inner", a: 0, b: 0, op: "mul" }, ops: [{ op: "relu", a: 1, b: 0 }] }),
          fallback({ inner: { name: "inner", a: 0, b: 0, op: "add" }, ops: [{ op: "relu", a: 1, b: 0 }] })
        ],
        rootState: [],
        outputs: [1, 2]
      }
      const out = yield* checkMeaning(build(recipe))
      const x = Symbolic.input(0)
      const relu = (t: Symbolic.Term) => Symbolic.app("torch.ops.aten.relu.default", [t])
      // Both fallback modules read the root input (`inputs: [0]`).
      const mul = relu(Symbolic.app("torch.ops.aten.mul.Tensor", [x, x]))
      assert.strictEqual(out, Symbolic.seq([mul, relu(Symbolic.app("torch.ops.aten.add.Tensor", [x, x]))]))
    }))

  // ReplaceNoOpPlaceholders rule 5: the load side once re-set every getitem's meta to its output's meta,
  // undoing InlineTrtModules rule 8 (the getitem of a scalar output, read back with aten.item, is a 0-d
  // tensor; an execute_engine output is a Tensor).
  it.effect("a loaded cross-compiled program keeps the 0-d tensor meta of a scalar engine output", () =>
    Effect.gen(function*() {
      const recipe: PartitionedRecipe = {
        inputs: 1,
        names: "xyz",
        symIntInput: false, dynamicInput: false,
        segments: [{
          kind: "engine",
          inputs: [],
          outputs: ["symint"],
          getitems: "forward",
          bareVal: false,
          keywords: 0,
          engineState: false,
          reuse: null
        }],
        rootState: [],
        outputs: [1]
      }
      yield* checkMeaning(build(recipe))
    }))
})
