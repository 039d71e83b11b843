/**
 * Pipelines: passes composed in order, each pass's output the next one's input, checked by the types and,
 * at run time, by each pass's states. A pipeline is a value: users insert their own passes (say between
 * inlining and lifting) and run the whole inside their own Effect programs.
 *
 * @since 0.1.0
 */
import { Effect, Pipeable, Ref } from "effect"
import type * as GraphState from "./GraphState.ts"
import * as Pass from "./Pass.ts"
import { PassError } from "./PassError.ts"

// ===== Models =====

/**
 * Passes from `I` to `O`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Pipeline<I extends GraphState.GraphState, out O extends GraphState.GraphState, out R = never>
  extends Pipeable.Pipeable
{
  /** The state the first pass requires. */
  readonly requires: GraphState.Kind<I>
  readonly passes: ReadonlyArray<Pass.Pass<any, any, any>>
  /** Phantom: keeps `I` and `O` in the type. */
  readonly "~types"?: (i: I) => O
  readonly "~services"?: R
}

// ===== Constructors =====

/**
 * A pipeline of one pass.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = <I extends GraphState.GraphState, O extends GraphState.GraphState, R>(
  pass: Pass.Pass<I, O, R>
): Pipeline<I, O, R> => fromPasses(pass.requires, [pass])

const PipelineProto = {
  pipe(this: unknown) {
    return Pipeable.pipeArguments(this, arguments)
  }
}

const fromPasses = <I extends GraphState.GraphState, O extends GraphState.GraphState, R>(
  requires: GraphState.Kind<I>,
  passes: ReadonlyArray<Pass.Pass<any, any, any>>
): Pipeline<I, O, R> => Object.assign(Object.create(PipelineProto), { requires, passes })

// ===== Combinators =====

/**
 * Appends a pass, or a pipeline, whose input is this pipeline's output.
 *
 * @since 0.1.0
 * @category combinators
 */
export const andThen = <O extends GraphState.GraphState, O2 extends GraphState.GraphState, R2>(
  next: Pass.Pass<O, O2, R2> | Pipeline<O, O2, R2>
) =>
<I extends GraphState.GraphState, R>(self: Pipeline<I, O, R>): Pipeline<I, O2, R | R2> =>
  fromPasses(self.requires, "passes" in next ? [...self.passes, ...next.passes] : [...self.passes, next])

/**
 * The names of the passes, in order.
 *
 * @since 0.1.0
 * @category getters
 */
export const names = (self: Pipeline<any, any, any>): Array<string> => self.passes.map((p) => p.name)

// ===== Running =====

/**
 * How a pipeline runs.
 *
 * @since 0.1.0
 * @category models
 */
export interface RunOptions {
  /** The input was just made by {@link makeInput}: the first pass does not check it again. */
  readonly checked?: boolean
}

/**
 * The pipeline's input, made from what it is made of (a module read from a `.tgm`, say) by the state its
 * first pass requires; a module that is not that state fails as that pass's input.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeInput = <I extends GraphState.GraphState, O extends GraphState.GraphState, R>(
  self: Pipeline<I, O, R>,
  parts: GraphState.PartsOf<I>
): Effect.Effect<I, PassError> =>
  self.requires.make(parts).pipe(
    Effect.mapError((e) => new PassError({ pass: self.passes[0]!.name, phase: "requires", detail: e.detail }))
  )

/**
 * Runs a pipeline on an input, pass after pass. The run's span lists the passes.
 *
 * @since 0.1.0
 * @category combinators
 */
export const run = <I extends GraphState.GraphState, O extends GraphState.GraphState, R>(
  self: Pipeline<I, O, R>,
  input: I,
  options?: RunOptions
): Effect.Effect<O, PassError, R> => {
  const planned = self.passes
  return Effect.suspend(() => {
    let state: Effect.Effect<unknown, PassError, any> = Effect.succeed(input)
    let ensured: GraphState.Kind<any> | undefined = options?.checked === true ? self.requires : undefined
    for (const pass of planned) {
      // The previous pass has just made its output with the state this one requires: no need to check it again.
      const checked = ensured === pass.requires
      state = Effect.flatMap(state, (value) => Pass.apply(pass, value, { checked }))
      ensured = pass.ensures
    }
    return state as Effect.Effect<O, PassError, R>
  }).pipe(Effect.withSpan("trtx.pipeline", { attributes: { "trtx.passes": planned.map((p) => p.name).join(",") } }))
}

/**
 * Runs a pipeline and returns, with its output, what each pass did (nodes before and after, milliseconds).
 *
 * @since 0.1.0
 * @category combinators
 */
export const runWithReport = <I extends GraphState.GraphState, O extends GraphState.GraphState, R>(
  self: Pipeline<I, O, R>,
  input: I,
  options?: RunOptions
): Effect.Effect<{ readonly output: O; readonly reports: ReadonlyArray<Pass.PassReport> }, PassError, R> =>
  Effect.gen(function*() {
    const reports = yield* Ref.make<ReadonlyArray<Pass.PassReport>>([])
    const outer = yield* Pass.PassObserver
    const output = yield* run(self, input, options).pipe(
      Effect.provideService(Pass.PassObserver, (report) =>
        Ref.update(reports, (rs) => [...rs, report]).pipe(Effect.andThen(outer(report))))
    )
    return { output, reports: yield* Ref.get(reports) }
  })
