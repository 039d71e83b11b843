/**
 * `replaceNoOpPlaceholders`: the load side of cross-compiled programs, upstream
 * `replace_execute_engine_no_op_node` (`torch_tensorrt/dynamo/_exporter.py`). Every
 * `tensorrt::no_op_placeholder_for_execute_engine(inputs, *record)` becomes
 * `tensorrt::execute_engine(inputs, engine)` on the engine the record describes, and, unlike upstream, the
 * engines are lifted and the signature updated, so the result is a valid exported program that can be
 * saved again (upstream's fails with "Invalid get_attr type").
 *
 * Rules (one test each):
 * 1. No-op nodes are found by target (upstream: a substring of the node's name). A program without any is
 *    returned unchanged (upstream asserted).
 * 2. A no-op node without `meta.val` fails, naming that node (upstream named a stale variable: "output").
 * 3. Each record is decoded and validated (field count, ABI, device, bindings, base64) before anything
 *    changes (upstream built the engine blindly).
 * 4. Each distinct record is registered once, as a constant under its NAME; a NAME already taken gets the
 *    next free `_k` suffix (upstream overwrote silently). Dead no-ops are removed first, so their engines
 *    are never registered or lifted.
 * 5. The `execute_engine` node keeps the no-op's `meta.val`; every `getitem` keeps its own meta, which the
 *    export set from its own index (upstream reassigned them in users order).
 * 6. The engines are lifted as custom-object inputs after the existing lifted inputs, as the plain export
 *    lifts them (same placeholder names), then dead code is eliminated and the graph linted.
 * 7. The program given is not changed: the pass works on a copy (upstream mutated it in place).
 *
 * @since 0.1.0
 */
import { Result } from "effect"
import * as DeadCode from "../graph/DeadCode.ts"
import * as GraphModule from "../graph/GraphModule.ts"
import * as Lint from "../graph/Lint.ts"
import type { Val } from "../graph/Meta.ts"
import * as Module from "../graph/Module.ts"
import type { Node } from "../graph/Node.ts"
import * as EngineRecord from "../program/EngineRecord.ts"
import * as ExportedProgram from "../program/ExportedProgram.ts"
import * as Signature from "../program/Signature.ts"
import * as GraphState from "./GraphState.ts"
import { EXECUTE_ENGINE, NO_OP_PLACEHOLDER } from "../program/Targets.ts"
import * as Lift from "./Lift.ts"
import * as Pass from "./Pass.ts"
import * as PassError from "./PassError.ts"

const NAME = "replaceNoOpPlaceholders"

/**
 * @since 0.1.0
 * @category passes
 */
export const replaceNoOpPlaceholders: Pass.Pass<GraphState.ExportedProgram, GraphState.ExportedProgram> = Pass.make({
  name: NAME,
  upstream: "torch_tensorrt.dynamo._exporter.replace_execute_engine_no_op_node",
  requires: GraphState.ExportedProgram,
  ensures: GraphState.ExportedProgram,
  changesInput: false,
  run: (ep) => PassError.attempt(NAME, () => replace(ep))
})

const replace = (given: ExportedProgram.ExportedProgram): ExportedProgram.ExportedProgram => {
  if (given.graphModule.graph.findNodes("call_function", NO_OP_PLACEHOLDER, { sort: false }).length === 0) return given
  // Work on a copy, as the export does: the program given stays valid (upstream changed it in place).
  const ep = { ...given, graphModule: GraphModule.deepCopy(given.graphModule) }
  const gm = ep.graphModule
  const g = gm.graph
  // Dead no-ops first (upstream's closing dead-code elimination, moved ahead): a dead engine is never
  // registered, named or lifted.
  DeadCode.eliminateDeadCode(g, { lint: false })
  const noOps = g.findNodes("call_function", NO_OP_PLACEHOLDER)
  // Decode every record first, so that a bad one leaves the program untouched.
  const records = noOps.map((noOp) => {
    if (noOp.meta.val === undefined) {
      throw PassError.run(NAME, `metadata info is missing for the node: ${noOp.name}`, { node: noOp.name })
    }
    const decoded = EngineRecord.decodeBase64(noOp.args.slice(1), noOp.name)
    if (Result.isFailure(decoded)) {
      throw PassError.run(NAME, decoded.failure.message, { node: noOp.name, cause: decoded.failure })
    }
    return decoded.success
  })
  const attrs: Array<Node> = []
  // One constant per distinct record (a module called twice gives two no-ops with one record); distinct
  // records that share a NAME get `_k` suffixes. A record is keyed by its engine's base64 text as it is, then
  // by its other fields joined: joined into one key, the engine would be copied (384 MiB of text at most).
  const constantOf = new Map<string, Map<string, string>>()
  noOps.forEach((noOp, i) => {
    const record = records[i]!
    const fields = noOp.args.slice(1) as ReadonlyArray<string>
    const engine = fields[EngineRecord.ENGINE_IDX]!
    let byFields = constantOf.get(engine)
    if (byFields === undefined) constantOf.set(engine, byFields = new Map())
    const key = fields.filter((_, j) => j !== EngineRecord.ENGINE_IDX).join("\u0000")
    let name = byFields.get(key)
    if (name === undefined) {
      name = record.name
      for (let k = 1; Module.hasAttribute(gm, name) || ep.constants.has(name); k++) name = `${record.name}_${k}`
      byFields.set(key, name)
      Module.setConstant(gm, name, { _tag: "ScriptObject", classFqn: EngineRecord.ENGINE_CLASS_FQN, state: EngineRecord.encodeRaw(record) })
    }
    const constant = name
    const outputs = noOp.meta.val as Val
    const exec = g.insertingBefore(noOp, () => {
      const attr = g.getAttr(constant)
      attrs.push(attr)
      return g.callFunction(EXECUTE_ENGINE, [noOp.args[0] ?? null, attr], {}, { meta: { val: outputs } })
    })
    // The getitems keep their own metas: the export gave each its index's (upstream reassigned them in
    // users order; resetting them here would also undo the 0-d tensor metas of scalar outputs).
    noOp.replaceAllUsesWith(exec)
    g.eraseNode(noOp)
  })
  const userSpecs = ep.graphSignature.inputSpecs.filter((s) => s._tag === "UserInput")
  const firstUser = userSpecs.length === 0
    ? undefined
    : g.findNodes("placeholder").find((ph) => ph.name === userSpecs[0]!.arg.name)
  const lifted: Lift.Lifted = { specs: [], stateDict: new Map(ep.stateDict), constants: new Map(ep.constants) }
  Lift.liftGetAttrs(gm, attrs, firstUser, lifted, NAME)
  Lint.lint(g)
  return ExportedProgram.make({
    ...ep,
    graphSignature: {
      inputSpecs: [...Signature.liftedInputs(ep.graphSignature), ...lifted.specs, ...userSpecs],
      outputSpecs: ep.graphSignature.outputSpecs
    },
    constants: lifted.constants
  })
}
