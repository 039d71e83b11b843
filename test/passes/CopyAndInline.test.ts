/**
 * The fused pass (`copyAndInline`) against the three passes it stands for, run one after another: the same
 * inlined module, node for node (names, ops, targets, arguments, metas, order; users as sets, the one
 * documented difference), the same module tree and state, the same exported program. Over random
 * partitioned modules, over modules restricted to what the fused walk handles (so that it does run, as the
 * last test checks), and over each case it leaves to the passes.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Argument from "../../src/graph/Argument.ts"
import { Graph } from "../../src/graph/Graph.ts"
import * as Module from "../../src/graph/Module.ts"
import type { Node } from "../../src/graph/Node.ts"
import { cleanup } from "../../src/passes/Cleanup.ts"
import * as CopyAndInline from "../../src/passes/CopyAndInline.ts"
import { deepCopy } from "../../src/passes/DeepCopy.ts"
import * as Exporter from "../../src/passes/Exporter.ts"
import { inlineTorchModules } from "../../src/passes/InlineTorchModules.ts"
import { inlineTrtModules } from "../../src/passes/InlineTrtModules.ts"
import * as Pass from "../../src/passes/Pass.ts"
import * as Pipeline from "../../src/passes/Pipeline.ts"
import type { ExportedProgram } from "../../src/program/ExportedProgram.ts"
import { build, engineBytes, PartitionedRecipe, tensorMeta, trtModule } from "../utils/PartitionedRecipe.ts"
import { asCompiled, line, specText } from "../utils/PassFixtures.ts"

// ===== Descriptions =====

// Objects (tensors, script objects, modules) by identity: the same object gets the same number in both
// descriptions of one comparison.
const identities = () => {
  const ids = new Map<unknown, number>()
  return (o: unknown): number => {
    let id = ids.get(o)
    if (id === undefined) ids.set(o, (id = ids.size))
    return id
  }
}

const json = (v: unknown): string => JSON.stringify(v, (_, x) => (typeof x === "bigint" ? `${x}n` : x))

/** A module as text: every node with its meta and users (as a set), then the module tree and its state. */
const describeModule = (gm: Module.GraphModule, id: (o: unknown) => number): Array<string> => {
  const out: Array<string> = []
  for (const node of gm.graph.nodes()) {
    const users = node.userList.map((u: Node) => u.name).sort()
    out.push(`${line(node)} kwargs=${json(Object.keys(node.kwargs))} meta=${json(node.meta)} users=${users.join(",")}`)
  }
  for (const [path, mod] of Module.namedModules(gm)) {
    const params = [...mod.parameters].map(([k, t]) => `${k}#${id(t)}`)
    const buffers = [...mod.buffers].map(([k, t]) => `${k}#${id(t)}${mod.nonPersistent.has(k) ? "(np)" : ""}`)
    const constants = [...mod.constants].map(([k, c]) => `${k}#${id(c._tag === "ScriptObject" ? c.state : c)}`)
    const kind = mod.kind === "trt_module" ? `trt(${mod.name})` : mod.kind
    out.push(`module ${path || "<root>"} ${kind} children=${[...mod.children.keys()]} p=${params} b=${buffers} c=${constants}`)
  }
  return out
}

/** An exported program as text: its graph, signature and state. */
const describeProgram = (ep: ExportedProgram, id: (o: unknown) => number): Array<string> => [
  ...[...ep.graphModule.graph.nodes()].map((n) => `${line(n)} meta=${json(n.meta)}`),
  ...ep.graphSignature.inputSpecs.map(specText),
  json(ep.graphSignature.outputSpecs),
  `state ${[...ep.stateDict].map(([k, t]) => `${k}#${id(t)}`)}`,
  `constants ${[...ep.constants].map(([k, c]) => `${k}#${id(c._tag === "ScriptObject" ? c.state : c)}`)}`
]

// ===== The two paths =====

const stepwise = (crossCompile: boolean) =>
  Pipeline.make(deepCopy).pipe(Pipeline.andThen(inlineTrtModules({ crossCompile })), Pipeline.andThen(inlineTorchModules))

let fusedRuns = 0
let allRuns = 0

/**
 * Runs both paths on a module: the fused walk directly and through the exporter, the passes one after
 * another; asserts they agree. Returns whether the fused walk ran.
 */
const compare = (gm: Module.GraphModule) =>
  Effect.gen(function*() {
    let fused = false
    for (const crossCompile of [false, true]) {
      const id = identities()
      const expected = yield* Effect.result(Pipeline.run(stepwise(crossCompile), asCompiled(gm)))
      const direct = CopyAndInline.attempt(gm, crossCompile)
      if (direct !== undefined) {
        fused = true
        assert.isTrue(expected._tag === "Success", "the fused walk ran where the passes fail")
        if (expected._tag === "Success") assert.deepStrictEqual(describeModule(direct, id), describeModule(expected.success, id))
      }
      // Through the pipelines: the same result, or the same error.
      const viaFusion = yield* Effect.result(Pass.apply(CopyAndInline.fusion({ crossCompile }).pass, asCompiled(gm)))
      assert.strictEqual(viaFusion._tag, expected._tag)
      if (viaFusion._tag === "Success" && expected._tag === "Success") {
        assert.deepStrictEqual(describeModule(viaFusion.success, id), describeModule(expected.success, id))
      } else if (viaFusion._tag === "Failure" && expected._tag === "Failure") {
        assert.strictEqual(viaFusion.failure.message, expected.failure.message)
      }
      const program = yield* Effect.result(Exporter.exportModule(gm, { crossCompile }))
      const programStepwise = yield* Effect.result(
        Pipeline.run(stepwise(crossCompile).pipe(Pipeline.andThen(cleanup), Pipeline.andThen(Exporter.toProgram)), asCompiled(gm))
      )
      assert.strictEqual(program._tag, programStepwise._tag)
      if (program._tag === "Success" && programStepwise._tag === "Success") {
        assert.deepStrictEqual(describeProgram(program.success, id), describeProgram(programStepwise.success, id))
      }
    }
    allRuns++
    if (fused) fusedRuns++
    return fused
  })

/** A recipe without what the fused walk leaves to the passes: scalars at engines, nested modules, root state. */
const fusable = (recipe: PartitionedRecipe): PartitionedRecipe => ({
  ...recipe,
  symIntInput: false,
  rootState: [],
  segments: recipe.segments.map((s) =>
    s.kind === "engine"
      ? { ...s, inputs: s.inputs.map((i) => ("ref" in i ? i : { ref: 0 })), outputs: s.outputs.map((o) => (o === "symint" ? "tensor" : o)) }
      : { ...s, inner: null, ops: s.ops.map((op) => (op.op === "sym_size" ? { ...op, op: "add" as const } : op)) }
  )
})

// ===== Tests =====

describe("copyAndInline: the same module as deepCopy, inlineTrtModules and inlineTorchModules", () => {
  it.effect.prop("over random partitioned modules (plain and cross-compile)", { recipe: PartitionedRecipe }, ({ recipe }) =>
    Effect.asVoid(compare(build(recipe))), { arbitrary: { runs: 150 } })

  it.effect.prop("over modules the fused walk handles", { recipe: PartitionedRecipe }, ({ recipe }) =>
    Effect.asVoid(compare(build(fusable(recipe)))), { arbitrary: { runs: 150 } })

  it("the fused walk ran for most of them (the comparisons above are not vacuous)", () => {
    assert.isAbove(allRuns, 0)
    assert.isAtLeast(fusedRuns / allRuns, 0.3, `${fusedRuns} of ${allRuns}`)
  })
})

const T = tensorMeta([2, 3])

/** x -> engine (1 input, 1 output) -> fallback (relu) -> output; `edit` changes it before the comparison. */
const small = (edit?: (gm: Module.GraphModule, nodes: { acc: Node; gpu: Node; sub: Module.GraphModule }) => void) => {
  const gm = new Module.GraphModule(new Graph())
  const g = gm.graph
  const x = g.placeholder("x", { meta: { val: T } })
  Module.addSubmodule(gm, "_run_on_acc_0", trtModule("_run_on_acc_0", { inputs: 1, outputs: 1, engine: engineBytes(0) }))
  const sub = new Module.GraphModule(new Graph())
  const p = sub.graph.placeholder("getitem", { meta: { val: T } })
  sub.graph.output(sub.graph.callFunction("torch.ops.aten.relu.default", [p], {}, { meta: { val: T } }))
  Module.addSubmodule(gm, "_run_on_gpu_1", sub)
  const acc = g.callModule("_run_on_acc_0", [x], {}, { meta: { val: [T] } })
  const gpu = g.callModule("_run_on_gpu_1", [acc], {}, { meta: { val: T } })
  g.output(Argument.tuple(gpu))
  edit?.(gm, { acc, gpu, sub })
  return gm
}

describe("copyAndInline: what it leaves to the passes, with the same result", () => {
  it.effect("a plain module is fused", () =>
    Effect.gen(function*() {
      assert.isTrue(yield* compare(small()))
    }))

  it.effect("dead code in the root graph is eliminated first, as inlineTorchModules does: a dead engine call's nodes only take their names, a dead fallback call is not inlined", () =>
    Effect.gen(function*() {
      const gm = small((gm, { acc }) => {
        const g = gm.graph
        g.insertingBefore(g.outputNode, () => {
          const again = g.callModule("_run_on_acc_0", [acc], {}, { meta: { val: [T] } })
          const fallback = g.callModule("_run_on_gpu_1", [again], {}, { meta: { val: T } })
          g.callFunction("torch.ops.aten.relu.default", [fallback], {}, { meta: { val: T } })
        })
      })
      assert.isTrue(yield* compare(gm))
      const out = CopyAndInline.attempt(gm, false)!
      // The live engine call names its nodes first (engine names go call by call, in graph order); the dead
      // one's took the next names (_run_on_acc_0_engine_1, ...). The dead fallback call was not inlined: the
      // one relu copied in is the live call's, named after the root's own dead relu_default.
      assert.deepStrictEqual([...out.graph.nodes()].map((n) => n.name), [
        "x", "_run_on_acc_0_engine", "execute_engine_default", "getitem", "relu_default_1", "output"
      ])
      for (const name of ["_run_on_acc_0_engine_1", "execute_engine_default_1", "getitem_1"]) assert.isTrue(out.graph.isNameUsed(name), name)
    }))

  it.effect("a scalar engine input (inlineTrtModules rule 8)", () =>
    Effect.gen(function*() {
      const gm = small((_, { acc }) => {
        acc.args = [3]
      })
      assert.isFalse(yield* compare(gm))
    }))

  it.effect("a fallback module that calls a module (nested inlining)", () =>
    Effect.gen(function*() {
      const gm = small((_, { sub }) => {
        const inner = new Module.GraphModule(new Graph())
        const q = inner.graph.placeholder("a", { meta: { val: T } })
        inner.graph.output(inner.graph.callFunction("torch.ops.aten.neg.default", [q], {}, { meta: { val: T } }))
        Module.addSubmodule(sub, "inner", inner)
        const relu = sub.graph.findNodes("call_function")[0]!
        const call = sub.graph.insertingAfter(relu, () => sub.graph.callModule("inner", [relu], {}, { meta: { val: T } }))
        sub.graph.outputNode!.args = [call]
      })
      assert.isFalse(yield* compare(gm))
    }))

  it.effect("a bad input: the passes' own error", () =>
    Effect.gen(function*() {
      const gm = small((_, { acc }) => {
        delete acc.meta.val
      })
      assert.isFalse(yield* compare(gm))
      const e = yield* Effect.flip(Exporter.exportModule(gm))
      assert.strictEqual(e.pass, "inlineTrtModules")
    }))
})

describe("copyAndInline in pipelines", () => {
  it("transform runs the fused pass; a pass put between deepCopy and inlineTrtModules keeps them apart", () => {
    const transform = Exporter.transform()
    assert.deepStrictEqual(Pipeline.names(transform), ["deepCopy", "inlineTrtModules", "inlineTorchModules", "cleanup"])
    assert.deepStrictEqual(Pipeline.plan(transform).map((p) => p.name), [CopyAndInline.NAME, "cleanup"])
    const [copy, inlineTrt, inlineTorch, clean] = transform.passes
    const noop = Pass.make({ name: "noop", upstream: "(user pass)", requires: copy!.ensures, ensures: copy!.ensures, run: Effect.succeed })
    const apart = Pipeline.make(copy!).pipe(
      Pipeline.andThen(noop),
      Pipeline.andThen(inlineTrt!),
      Pipeline.andThen(inlineTorch!),
      Pipeline.andThen(clean!),
      Pipeline.withFusion(CopyAndInline.fusion())
    )
    assert.deepStrictEqual(Pipeline.plan(apart).map((p) => p.name), ["deepCopy", "noop", "inlineTrtModules", "inlineTorchModules", "cleanup"])
    assert.deepStrictEqual(Pipeline.plan(Pipeline.unfused(transform)).map((p) => p.name), Pipeline.names(transform))
    // A pass after the three does not: the fusion is kept by andThen.
    const after = transform.pipe(Pipeline.andThen(noop))
    assert.deepStrictEqual(Pipeline.plan(after).map((p) => p.name), [CopyAndInline.NAME, "cleanup", "noop"])
  })
})
