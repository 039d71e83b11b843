/**
 * The CLI's own failures, with the exit code each one means. One rule for every command: 0 the work is done,
 * 1 the work failed (a file that is broken, a program that does not export, a page or archive that cannot be
 * written), 2 the command cannot start (a bad command line, a file of the wrong kind, an output that would
 * replace an input or a file of another kind). The archive, pass and schema errors of the library exit 1.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * A failure of the command line, naming what it is about: a file, or a flag of the command line.
 *
 * @since 0.1.0
 * @category models
 */
export class CommandError extends Schema.TaggedError<CommandError>()("CommandError", {
  subject: Schema.String,
  detail: Schema.String,
  exitCode: Schema.Literals([1, 2]),
  /** Text the detail points into (a schema string of a `--schemas` file), for the CLI to draw a caret under. */
  pointed: Schema.optionalKey(Schema.Struct({ text: Schema.String, offset: Schema.Number }))
}) {
  override get message(): string {
    return `${this.subject}: ${this.detail}`
  }
}

/**
 * The command cannot start: exit 2.
 *
 * @since 0.1.0
 * @category constructors
 */
export const usage = (subject: string, detail: string): CommandError => new CommandError({ subject, detail, exitCode: 2 })

/**
 * The work failed: exit 1.
 *
 * @since 0.1.0
 * @category constructors
 */
export const failed = (subject: string, detail: string): CommandError => new CommandError({ subject, detail, exitCode: 1 })
