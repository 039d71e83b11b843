/**
 * JSON entries of an archive: UTF-8 text, parsed, then decoded with a schema, every failure located at the
 * entry and the JSON path of its first fault.
 *
 * @since 0.1.0
 */
import { Effect, Result, Schema, SchemaIssue } from "effect"
import * as ArchiveError from "./ArchiveError.ts"

const utf8 = new TextDecoder("utf-8", { fatal: true })

/**
 * Formats a schema path as a JSON path: `$.graph.nodes[3].args[0]`.
 *
 * @since 0.1.0
 * @category getters
 */
export const formatPath = (path: ReadonlyArray<unknown>): string => {
  let out = "$"
  for (const seg of path) {
    const key = typeof seg === "object" && seg !== null && "key" in seg ? (seg as { key: unknown }).key : seg
    if (typeof key === "number") out += `[${key}]`
    else if (typeof key === "string" && /^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) out += `.${key}`
    else out += `[${JSON.stringify(String(key))}]`
  }
  return out
}

const formatter = SchemaIssue.makeFormatterStandardSchemaV1()

/**
 * Parses and decodes one JSON entry.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decode = <A>(
  schema: Schema.Codec<A, unknown>,
  bytes: Uint8Array,
  location: { readonly archive: string; readonly entry: string }
): Effect.Effect<A, ArchiveError.ArchiveError> =>
  Effect.suspend(() => {
    let value: unknown
    try {
      value = JSON.parse(utf8.decode(bytes))
    } catch (e) {
      return Effect.fail(ArchiveError.at(location, "BadJson", e instanceof Error ? e.message : String(e)))
    }
    const result = Schema.decodeUnknownResult(schema)(value)
    if (Result.isSuccess(result)) return Effect.succeed(result.success)
    const first = formatter(result.failure.issue).issues[0]
    return Effect.fail(
      ArchiveError.at({ ...location, path: formatPath(first?.path ?? []) }, "SchemaMismatch", first?.message ?? "invalid")
    )
  })

/**
 * JSON text of a value, as UTF-8 bytes.
 *
 * @since 0.1.0
 * @category encoding
 */
export const encode = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value))
