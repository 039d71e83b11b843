/**
 * A pass: a named, typed step from one module state to the next, as a value (torch.fx's `PassBase` with
 * `requires` / `ensures`, ir-py's pass contracts). Running a pass checks its input against the state it
 * requires, does its work, then makes its output with the state it ensures; a broken state fails with a
 * `PassError` naming the pass, the phase and the invariant. Each run is a span (`trtx.pass.<name>`) with the
 * node counts before and after as attributes, and is reported to the {@link PassObserver}.
 *
 * @since 0.1.0
 */
import { Clock, Context, Effect } from "effect"
import * as GraphState from "./GraphState.ts"
import { PassError } from "./PassError.ts"

// ===== Models =====

/**
 * A pass from state `I` to state `O`. Its run returns what `O` is made of (`GraphState.PartsOf<O>`);
 * `apply` makes the state with `ensures.make`, so a pass, trtx's or a user's, cannot return a state that
 * was not checked.
 *
 * @since 0.1.0
 * @category models
 */
export interface Pass<I extends GraphState.GraphState, O extends GraphState.GraphState, R = never> {
  readonly name: string
  /** The upstream function the pass mirrors (`torch_tensorrt.dynamo._exporter.lift`). */
  readonly upstream: string
  readonly requires: GraphState.Kind<I>
  readonly ensures: GraphState.Kind<O>
  /**
   * Whether the pass changes the module it is given (ir-py's `changes_input`): `true`, it works on its
   * input's module and returns that module, changed (`Pass.apply` holds it to returning it); `false`, it
   * leaves its input as it was (`test/passes/Modes.test.ts` holds each of trtx's passes to its word).
   */
  readonly changesInput: boolean
  readonly run: (input: I) => Effect.Effect<GraphState.PartsOf<O>, PassError, R>
}

/**
 * What one pass run did.
 *
 * @since 0.1.0
 * @category models
 */
export interface PassReport {
  readonly pass: string
  readonly nodesBefore: number | undefined
  readonly nodesAfter: number | undefined
  readonly millis: number
}

/**
 * Receives a report after each pass run; by default nobody listens. Provide it to collect timings (the CLI
 * prints them).
 *
 * @since 0.1.0
 * @category services
 */
export const PassObserver = Context.Reference<(report: PassReport) => Effect.Effect<void>>("trtx/PassObserver", {
  defaultValue: () => () => Effect.void
})

// ===== Constructors =====

/**
 * Makes a pass.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = <I extends GraphState.GraphState, O extends GraphState.GraphState, R = never>(
  options: Pass<I, O, R>
): Pass<I, O, R> => options

// ===== Running =====

/**
 * Runs a pass on an input: requires, run, ensures, in a span, reported to the observer.
 *
 * @since 0.1.0
 * @category combinators
 */
export const apply = <I extends GraphState.GraphState, O extends GraphState.GraphState, R>(
  pass: Pass<I, O, R>,
  input: I,
  options?: {
    /** The input was just made by the previous pass of a pipeline: do not check it again. */
    readonly checked?: boolean
  }
): Effect.Effect<O, PassError, R> =>
  Effect.gen(function*() {
    const start = yield* Clock.currentTimeNanos
    const before = nodeCount(input)
    const output = yield* checkedRun(pass, input, options?.checked === true)
    const after = GraphState.moduleOf(output).graph.size
    yield* Effect.annotateCurrentSpan("trtx.nodes.after", after)
    const observer = yield* PassObserver
    const end = yield* Clock.currentTimeNanos
    yield* observer({ pass: pass.name, nodesBefore: before, nodesAfter: after, millis: Number(end - start) / 1e6 })
    return output
  }).pipe(Effect.withSpan(`trtx.pass.${pass.name}`, {
    attributes: { "trtx.pass.upstream": pass.upstream, "trtx.nodes.before": nodeCount(input) ?? -1 }
  }))

// The input's size, where it is a state (a caller without types may hand anything; `requires` refuses it).
const nodeCount = (input: unknown): number | undefined =>
  GraphState.isGraphState(input) ? GraphState.moduleOf(input).graph.size : undefined

const checkedRun = <I extends GraphState.GraphState, O extends GraphState.GraphState, R>(
  pass: Pass<I, O, R>,
  input: I,
  inputChecked: boolean
): Effect.Effect<O, PassError, R> =>
  Effect.gen(function*() {
    if (!inputChecked) {
      const detail = pass.requires.is(input)
        ? pass.requires.violation(input)
        : `expected a ${pass.requires.tag}, made by GraphState.${pass.requires.tag}.make`
      if (detail !== undefined) return yield* Effect.fail(new PassError({ pass: pass.name, phase: "requires", detail }))
    }
    const parts = yield* pass.run(input)
    const output = yield* pass.ensures.make(parts).pipe(
      Effect.mapError((e) => new PassError({ pass: pass.name, phase: "ensures", detail: e.detail }))
    )
    const module = GraphState.moduleOf(output)
    if (pass.changesInput && module !== GraphState.moduleOf(input)) {
      return yield* Effect.fail(new PassError({
        pass: pass.name,
        phase: "ensures",
        detail: "the pass says it changes its input, but returned another module than the one it was given"
      }))
    }
    if (yield* GraphState.LintBetweenPasses) {
      const lint = GraphState.lintMessage(module)
      if (lint !== undefined) return yield* Effect.fail(new PassError({ pass: pass.name, phase: "ensures", detail: lint }))
    }
    return output
  })
