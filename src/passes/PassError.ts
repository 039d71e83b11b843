/**
 * The one error class of the exporter passes: which pass failed, in which phase (its input state, its own
 * work, or the state it promised), what invariant or rule was broken, and at which node.
 *
 * @since 0.1.0
 */
import { Effect, Schema } from "effect"
import { GraphError } from "../graph/GraphError.ts"

/**
 * @since 0.1.0
 * @category models
 */
export const PassPhase = Schema.Literals(["requires", "run", "ensures"])

/**
 * A failed pass. `cause` holds the underlying error where there is one (a `GraphError`, an
 * `EngineRecordError`).
 *
 * @since 0.1.0
 * @category errors
 */
export class PassError extends Schema.TaggedError<PassError>()("PassError", {
  pass: Schema.String,
  phase: PassPhase,
  detail: Schema.String,
  node: Schema.optionalKey(Schema.String),
  cause: Schema.optionalKey(Schema.Defect())
}) {
  override get message(): string {
    const at = this.node === undefined ? "" : ` (node ${this.node})`
    const phase = this.phase === "run" ? "" : ` (${this.phase === "requires" ? "input" : "output"} state)`
    return `${this.pass}${phase}${at}: ${this.detail}`
  }
}

/**
 * A failure of a pass's own work.
 *
 * @since 0.1.0
 * @category constructors
 */
export const run = (pass: string, detail: string, options?: { readonly node?: string; readonly cause?: unknown }): PassError =>
  new PassError({
    pass,
    phase: "run",
    detail,
    ...(options?.node === undefined ? {} : { node: options.node }),
    ...(options?.cause === undefined ? {} : { cause: options.cause })
  })

/**
 * Runs a pass's synchronous graph work, turning a thrown `GraphError` (or another `PassError`) into a
 * failure of the pass; anything else thrown is a bug and stays a defect.
 *
 * @since 0.1.0
 * @category constructors
 */
export const attempt = <A>(pass: string, f: () => A): Effect.Effect<A, PassError> =>
  Effect.suspend(() => {
    try {
      return Effect.succeed(f())
    } catch (e) {
      if (e instanceof PassError) return Effect.fail(e)
      if (e instanceof GraphError) return Effect.fail(run(pass, e.detail, { ...(e.node === undefined ? {} : { node: e.node }), cause: e }))
      throw e
    }
  })
