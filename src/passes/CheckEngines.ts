/**
 * `checkEngines`: the load side's optional GPU check. Before `replaceNoOpPlaceholders` turns any
 * `no_op_placeholder_for_execute_engine` node back into an engine, every engine record of the program
 * (those in the no-op nodes and those already held as `tensorrt::Engine` constants) is decoded and checked
 * against this machine's GPUs and platform (`Compatibility`), so that an engine that cannot run here is
 * reported, by node and engine, before anything runs. Nothing is deserialized: TensorRT is not needed.
 *
 * Give it to `Exporter.load(program, { check: checkEngines })` and provide `Cuda.layer`. Where CUDA is
 * unavailable the pass fails with that reason: a check that could not be made is not a pass.
 *
 * @since 0.1.0
 */
import { Effect, Result } from "effect"
import { NO_OP_PLACEHOLDER } from "../program/Targets.ts"
import * as Compatibility from "../engine/Compatibility.ts"
import { Cuda } from "../engine/Cuda.ts"
import * as EngineRecord from "../program/EngineRecord.ts"
import * as GraphState from "./GraphState.ts"
import * as Pass from "./Pass.ts"
import * as PassError from "./PassError.ts"

const NAME = "checkEngines"

/**
 * @since 0.1.0
 * @category passes
 */
export const checkEngines: Pass.Pass<GraphState.ExportedProgram, GraphState.ExportedProgram, Cuda> = Pass.make({
  name: NAME,
  upstream: "torch_tensorrt.runtime (TRTEngine: get_most_compatible_device, platform check)",
  requires: GraphState.ExportedProgram,
  ensures: GraphState.ExportedProgram,
  changesInput: false,
  run: (ep) =>
    Effect.gen(function*() {
      const cuda = yield* Cuda
      const devices = yield* cuda.devices.pipe(
        Effect.mapError((e) => PassError.run(NAME, `cannot check the engines against this machine's GPU: ${e.message}`, { cause: e }))
      )
      const records: Array<{ readonly at: string; readonly record: Result.Result<EngineRecord.EngineRecord, unknown> }> = []
      for (const node of ep.graphModule.graph.findNodes("call_function", NO_OP_PLACEHOLDER)) {
        records.push({ at: node.name, record: EngineRecord.decodeBase64(node.args.slice(1), node.name) })
      }
      for (const [name, constant] of ep.constants) {
        if (constant._tag === "ScriptObject" && constant.classFqn === EngineRecord.ENGINE_CLASS_FQN) {
          records.push({ at: name, record: EngineRecord.decodeRaw(constant.state, name) })
        }
      }
      for (const { at, record } of records) {
        // A record that does not decode is the load pass's to report, with its field.
        if (Result.isFailure(record)) continue
        const chosen = Compatibility.select(record.success, devices)
        if (Result.isFailure(chosen)) {
          return yield* Effect.fail(PassError.run(NAME, chosen.failure.message, { node: at, cause: chosen.failure }))
        }
      }
      return ep
    })
})
