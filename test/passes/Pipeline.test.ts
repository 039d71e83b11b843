/**
 * Pipelines of passes (`src/passes/Pipeline.ts`, `src/passes/Exporter.ts`): composition (types and order),
 * a user pass between `transform` and `toProgram`, reports, spans, the observer, typed errors for bad input,
 * and the caller's module left as it was.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Option, Tracer } from "effect"
import * as Encode from "../../src/archive/tgm/Encode.ts"
import * as Meta from "../../src/graph/Meta.ts"
import * as Module from "../../src/graph/Module.ts"
import { cleanup } from "../../src/passes/Cleanup.ts"
import { deepCopy } from "../../src/passes/DeepCopy.ts"
import { createExportedProgram } from "../../src/passes/ExportSignature.ts"
import * as Exporter from "../../src/passes/Exporter.ts"
import * as GraphState from "../../src/passes/GraphState.ts"
import { inlineTorchModules } from "../../src/passes/InlineTorchModules.ts"
import { inlineTrtModules } from "../../src/passes/InlineTrtModules.ts"
import { lift } from "../../src/passes/Lift.ts"
import * as Pass from "../../src/passes/Pass.ts"
import * as PassError from "../../src/passes/PassError.ts"
import * as Pipeline from "../../src/passes/Pipeline.ts"
import * as EngineRecord from "../../src/program/EngineRecord.ts"
import { EngineRecordError } from "../../src/program/EngineRecordError.ts"
import {
  addDanglingGetAttr,
  asCompiled,
  assertPassError,
  addPlainCall,
  hybrid,
  lines,
  multiOutputEngine,
  nodeNamed,
  ops,
  passError,
  record,
  singleEngine,
  trtModule,
  unorderedModule,
  weightedHybrid
} from "../utils/PassFixtures.ts"

const EXPORT_PASSES = ["deepCopy", "inlineTrtModules", "inlineTorchModules", "cleanup", "lift", "createExportedProgram"]
const GELU = "torch.ops.aten.gelu.default"

/** A user pass on inlined modules: every relu becomes a gelu. */
const reluToGelu: Pass.Pass<GraphState.InlinedModule, GraphState.InlinedModule> = Pass.make({
  name: "reluToGelu",
  upstream: "(user pass)",
  requires: GraphState.InlinedModule,
  ensures: GraphState.InlinedModule,
  changesInput: true,
  run: ({ module: gm }) =>
    PassError.attempt("reluToGelu", () => {
      const g = gm.graph
      for (const relu of g.findNodes("call_function", ops.RELU)) {
        const gelu = g.insertingBefore(relu, () => g.callFunction(GELU, relu.args, {}, { meta: Meta.copy(relu.meta) }))
        relu.replaceAllUsesWith(gelu)
        g.eraseNode(relu)
      }
      return gm
    })
})

describe("Pipeline: composition", () => {
  it("names: transform, toProgram and exportProgram list their passes in order", () => {
    const declared = ["deepCopy", "inlineTrtModules", "inlineTorchModules", "cleanup", "lift", "createExportedProgram"]
    assert.deepStrictEqual(Pipeline.names(Exporter.transform()), declared.slice(0, 4))
    assert.deepStrictEqual(Pipeline.names(Exporter.transform({ crossCompile: true })), declared.slice(0, 4))
    assert.deepStrictEqual(Pipeline.names(Exporter.toProgram), declared.slice(4))
    assert.deepStrictEqual(Pipeline.names(Exporter.exportProgram()), declared)
    const custom = Exporter.transform().pipe(Pipeline.andThen(reluToGelu), Pipeline.andThen(Exporter.toProgram))
    assert.deepStrictEqual(Pipeline.names(custom), [...declared.slice(0, 4), "reluToGelu", ...declared.slice(4)])
    assert.deepStrictEqual(Pipeline.names(Pipeline.make(lift)), ["lift"])
  })

  it("types: a pass whose input is not the previous output does not compose", () => {
    // Each line is a type error (checked by `tsc --noEmit`); at run time they would build pipelines that fail.
    // @ts-expect-error lift gives a LiftedModule, deepCopy takes a CompiledModule
    Pipeline.make(lift).pipe(Pipeline.andThen(deepCopy))
    // @ts-expect-error deepCopy gives a CompiledModule, lift takes an InlinedModule
    Pipeline.make(deepCopy).pipe(Pipeline.andThen(lift))
    // @ts-expect-error transform gives an InlinedModule, createExportedProgram takes a LiftedModule
    Exporter.transform().pipe(Pipeline.andThen(createExportedProgram))
    // Well-typed compositions, for contrast.
    const ok: Pipeline.Pipeline<GraphState.CompiledModule, GraphState.InlinedModule> = Pipeline.make(deepCopy).pipe(
      Pipeline.andThen(inlineTrtModules()),
      Pipeline.andThen(inlineTorchModules),
      Pipeline.andThen(cleanup)
    )
    const whole: Pipeline.Pipeline<GraphState.CompiledModule, GraphState.ExportedProgram> = ok.pipe(
      Pipeline.andThen(reluToGelu),
      Pipeline.andThen(Exporter.toProgram)
    )
    assert.strictEqual(whole.passes.length, 7)
  })

  it.effect("a user pass between Exporter.transform() and Exporter.toProgram runs, and its effect is in the program", () =>
    Effect.gen(function*() {
      const pipeline = Exporter.transform().pipe(Pipeline.andThen(reluToGelu), Pipeline.andThen(Exporter.toProgram))
      const ep = yield* Exporter.run(pipeline, hybrid().gm)
      assert.deepStrictEqual(ep.graphModule.graph.findNodes("call_function", ops.RELU), [])
      const gelu = nodeNamed(ep.graphModule, "gelu_default")
      assert.strictEqual(gelu.target, GELU)
      assert.deepStrictEqual(lines(ep.graphModule).slice(3, 7), [
        "execute_engine_default = call_function[torch.ops.tensorrt.execute_engine.default]((%x,), %_run_on_acc_0_engine_1)",
        "getitem = call_function[_operator.getitem](%execute_engine_default, 0)",
        `gelu_default = call_function[${GELU}](%getitem)`,
        "execute_engine_default_1 = call_function[torch.ops.tensorrt.execute_engine.default]((%gelu_default,), %_run_on_acc_2_engine_1)"
      ])
    }))
})

describe("Pipeline: reports, spans, observer", () => {
  it.effect("runWithReport reports every pass, in order, with node counts before and after", () =>
    Effect.gen(function*() {
      const { output, reports } = yield* Pipeline.runWithReport(Exporter.exportProgram(), yield* asCompiled(weightedHybrid().gm))
      assert.deepStrictEqual(
        reports.map((r) => [r.pass, r.nodesBefore, r.nodesAfter]),
        [
          // x, _run_on_gpu_0, _run_on_acc_1, output; then the engine call (get_attr, execute_engine, getitem)
          // and the fallback module's nodes (3 get_attrs, convolution, mul) in place of the two calls
          ["deepCopy", 4, 4],
          ["inlineTrtModules", 4, 6],
          ["inlineTorchModules", 6, 10],
          ["cleanup", 10, 10],
          ["lift", 10, 10], // 4 get_attrs become 4 placeholders
          ["createExportedProgram", 10, 10]
        ]
      )
      assert.isTrue(reports.every((r) => typeof r.millis === "number" && r.millis >= 0))
      assert.strictEqual(output.graphModule.graph.size, 10)
    }))

  it.effect("each pass runs in a span trtx.pass.<name> under trtx.pipeline, with trtx.nodes.before and trtx.nodes.after", () =>
    Effect.gen(function*() {
      const spans: Array<Tracer.NativeSpan> = []
      const tracer = Tracer.make({
        span(options) {
          const span = new Tracer.NativeSpan(options)
          spans.push(span)
          return span
        }
      })
      yield* Exporter.exportModule(weightedHybrid().gm).pipe(Effect.withTracer(tracer))
      const passSpans = spans.filter((s) => s.name.startsWith("trtx.pass."))
      assert.deepStrictEqual(passSpans.map((s) => s.name), EXPORT_PASSES.map((p) => `trtx.pass.${p}`))
      const pipeline = spans.find((s) => s.name === "trtx.pipeline")!
      assert.strictEqual(pipeline.attributes.get("trtx.passes"), EXPORT_PASSES.join(","))
      for (const span of passSpans) {
        const parent = Option.getOrUndefined(span.parent)
        assert.strictEqual(parent?._tag === "Span" ? parent.name : undefined, "trtx.pipeline", span.name)
        assert.strictEqual(span.status._tag, "Ended", span.name)
      }
      assert.deepStrictEqual(
        passSpans.map((s) => [s.attributes.get("trtx.nodes.before"), s.attributes.get("trtx.nodes.after")]),
        [[4, 4], [4, 6], [6, 10], [10, 10], [10, 10], [10, 10]]
      )
      assert.strictEqual(passSpans[4]!.attributes.get("trtx.pass.upstream"), "torch_tensorrt.dynamo._exporter.lift")
    }))

  it.effect("a PassObserver can be provided: it receives every pass's report, also under runWithReport", () =>
    Effect.gen(function*() {
      const seen: Array<Pass.PassReport> = []
      const observer = (report: Pass.PassReport) => Effect.sync(() => void seen.push(report))
      yield* Exporter.exportModule(singleEngine().gm).pipe(Effect.provideService(Pass.PassObserver, observer))
      assert.deepStrictEqual(seen.map((r) => r.pass), EXPORT_PASSES)
      assert.deepStrictEqual(seen.map((r) => [r.nodesBefore, r.nodesAfter]), [[3, 3], [3, 5], [5, 5], [5, 5], [5, 5], [5, 5]])
      seen.length = 0
      const { reports } = yield* Pipeline.runWithReport(Exporter.exportProgram(), yield* asCompiled(singleEngine().gm)).pipe(
        Effect.provideService(Pass.PassObserver, observer)
      )
      assert.deepStrictEqual(seen, [...reports])
    }))

  it.effect("with LintBetweenPasses, a pass whose output does not lint fails in its ensures phase; without, only the state is checked", () =>
    Effect.gen(function*() {
      const dangling = Pass.make({
        name: "dangling",
        upstream: "(user pass)",
        requires: GraphState.InlinedModule,
        ensures: GraphState.InlinedModule,
        changesInput: true,
        run: ({ module }) =>
          Effect.sync(() => {
            addDanglingGetAttr(module)
            return module
          })
      })
      const pipeline = Exporter.transform().pipe(Pipeline.andThen(dangling))
      const e = yield* passError(
        Exporter.run(pipeline, hybrid().gm).pipe(Effect.provideService(GraphState.LintBetweenPasses, true))
      )
      assertPassError(e, { pass: "dangling", phase: "ensures" })
      assert.include(e.detail, "nowhere")
      const out = yield* Exporter.run(pipeline, hybrid().gm).pipe(Effect.provideService(GraphState.LintBetweenPasses, false))
      assert.isTrue(lines(out.module).some((l) => l.startsWith("nowhere = get_attr[nowhere]")))
    }))
})

describe("Pipeline: typed errors for bad input", () => {
  it.effect("a TensorRT call without meta.val is a PassError of inlineTrtModules naming the call", () =>
    Effect.gen(function*() {
      const { gm, n } = hybrid()
      delete n("_run_on_acc_2").meta.val
      const e = yield* passError(Exporter.exportModule(gm))
      assertPassError(e, { pass: "inlineTrtModules", phase: "run", node: "_run_on_acc_2" })
    }))

  it.effect("a bad engine record (a wrong field count, an unsupported ABI) is a PassError whose cause is the located EngineRecordError", () =>
    Effect.gen(function*() {
      const fields = EngineRecord.encodeRaw(record("_run_on_acc_0", ["x"], ["output0"]))
      const cases: ReadonlyArray<readonly [Module.EngineInfo, EngineRecordError["reason"], EngineRecordError["field"], number]> = [
        [fields.slice(0, 9), "FieldCount", "SERIALIZATION_LEN", 9],
        [[...fields, "extra"], "FieldCount", "SERIALIZATION_LEN", 10],
        [["8", ...fields.slice(1)], "UnsupportedAbi", "ABI_TARGET", 0]
      ]
      for (const [info, reason, field, index] of cases) {
        for (const crossCompile of [false, true]) {
          const { gm } = singleEngine()
          gm.children.set("_run_on_acc_0", trtModule("_run_on_acc_0", ["x"], ["output0"], { packedEngineInfo: info }))
          const e = yield* passError(Exporter.exportModule(gm, { crossCompile }))
          assertPassError(e, { pass: "inlineTrtModules", phase: "run" })
          assert.instanceOf(e.cause, EngineRecordError)
          const cause = e.cause as EngineRecordError
          assert.strictEqual(cause._tag, "EngineRecordError")
          assert.strictEqual(cause.reason, reason)
          assert.strictEqual(cause.field, field)
          assert.strictEqual(cause.index, index)
          assert.strictEqual(cause.record, "_run_on_acc_0")
        }
      }
    }))

  it.effect("input that is not a compiled module is a PassError of the first pass's requires", () =>
    Effect.gen(function*() {
      const e = yield* passError(Exporter.exportModule(new Module.PlainModule() as unknown as Module.GraphModule))
      assertPassError(e, { pass: "deepCopy", phase: "requires" })
    }))

  // Regression (was a bug): the states no longer lint (lint runs inside the passes that upstream lints in), so a module whose
  // graph reads a node before defining it passes deepCopy's requires; deepCopy's `Effect.sync` then throws
  // the GraphError of graph_copy ("node relu was used before it was mapped") as a defect, not a PassError.
  it.effect("a module whose graph is out of topological order is a PassError, not a defect", () =>
    Effect.gen(function*() {
      const e = yield* passError(Exporter.exportModule(unorderedModule()))
      assert.strictEqual(e.pass, "deepCopy")
    }))
})

describe("GraphState: states are made only by their checking constructors", () => {
  it.effect("make checks the invariants and names the state; a value of the state's shape made otherwise is not a state", () =>
    Effect.gen(function*() {
      const { gm } = hybrid()
      const compiled = yield* GraphState.CompiledModule.make(gm)
      assert.isTrue(GraphState.CompiledModule.is(compiled))
      assert.strictEqual(compiled.module, gm)
      const e = yield* Effect.flip(GraphState.InlinedModule.make(gm))
      assert.instanceOf(e, GraphState.StateError)
      assert.strictEqual(e.state, "InlinedModule")
      assert.include(e.message, "not an InlinedModule: call_module _run_on_acc_0")
      // The same fields, made without the constructor: neither a state nor accepted by a pass.
      const forged = { _tag: "CompiledModule", module: gm }
      assert.isFalse(GraphState.CompiledModule.is(forged))
      assert.isFalse(GraphState.isGraphState(forged))
      assert.isTrue(GraphState.isGraphState(compiled))
      const refused = yield* passError(Pass.apply(deepCopy, forged as never))
      assertPassError(refused, { pass: "deepCopy", phase: "requires" })
      assert.include(refused.detail, "expected a CompiledModule")
    }))

  it.effect("make checks the module when it runs, not when the Effect is built", () =>
    Effect.gen(function*() {
      const { gm } = hybrid()
      const compiled = GraphState.CompiledModule.make(gm)
      addPlainCall(gm)
      const e = yield* Effect.flip(compiled)
      assert.strictEqual(e.state, "CompiledModule")
      assert.include(e.detail, "plain")
    }))

  it.effect("an input just made by makeInput is not checked again by the first pass (checked: true)", () =>
    Effect.gen(function*() {
      let checks = 0
      const counted: GraphState.Kind<GraphState.CompiledModule> = {
        tag: GraphState.CompiledModule.tag,
        make: (gm) => GraphState.CompiledModule.make(gm).pipe(Effect.tap(() => Effect.sync(() => checks++))),
        is: GraphState.CompiledModule.is,
        violation: (state) => {
          checks++
          return GraphState.CompiledModule.violation(state)
        }
      }
      const pipeline = Pipeline.make({ ...deepCopy, requires: counted })
      const input = yield* Pipeline.makeInput(pipeline, hybrid().gm)
      assert.strictEqual(checks, 1)
      yield* Pipeline.run(pipeline, input, { checked: true })
      assert.strictEqual(checks, 1)
      yield* Pipeline.run(pipeline, input)
      assert.strictEqual(checks, 2)
    }))

  it.effect("a state whose module changed after it was made is checked again by the pass it is given to", () =>
    Effect.gen(function*() {
      const { gm } = hybrid()
      const compiled = yield* GraphState.CompiledModule.make(gm)
      addPlainCall(gm)
      const e = yield* passError(Pass.apply(deepCopy, compiled))
      assertPassError(e, { pass: "deepCopy", phase: "requires" })
      assert.include(e.detail, "plain")
    }))

  it.effect("a user pass's output is made by the state it ensures: an output that breaks it fails the pass's ensures", () =>
    Effect.gen(function*() {
      const leavesACall = Pass.make({
        name: "leavesACall",
        upstream: "(user pass)",
        requires: GraphState.InlinedModule,
        ensures: GraphState.InlinedModule,
        changesInput: true,
        run: ({ module }) =>
          Effect.sync(() => {
            addPlainCall(module)
            return module
          })
      })
      const e = yield* passError(Exporter.run(Exporter.transform().pipe(Pipeline.andThen(leavesACall)), hybrid().gm))
      assertPassError(e, { pass: "leavesACall", phase: "ensures" })
      assert.include(e.detail, "call_module")
    }))
})

describe("Pipeline: the caller's module", () => {
  it.effect("Exporter.exportModule never changes the module it is given (plain and cross-compile)", () =>
    Effect.gen(function*() {
      for (const make of [hybrid, weightedHybrid, multiOutputEngine, singleEngine]) {
        for (const crossCompile of [false, true]) {
          const { gm } = make()
          const before = Encode.encodeRoot(gm)
          const json = JSON.stringify(before.root)
          yield* Exporter.exportModule(gm, { crossCompile })
          const after = Encode.encodeRoot(gm)
          assert.strictEqual(JSON.stringify(after.root), json)
          assert.deepStrictEqual([...after.entries.keys()], [...before.entries.keys()])
          for (const [name, bytes] of before.entries) assert.strictEqual(after.entries.get(name), bytes, name)
        }
      }
    }))

  it.effect("a failing export leaves the module as it was too", () =>
    Effect.gen(function*() {
      const { gm, n } = hybrid()
      delete n("_run_on_acc_2").meta.val
      const json = JSON.stringify(Encode.encodeRoot(gm).root)
      yield* passError(Exporter.exportModule(gm))
      assert.strictEqual(JSON.stringify(Encode.encodeRoot(gm).root), json)
    }))
})
