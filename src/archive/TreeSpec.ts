/**
 * Pytree treespecs as torch writes them (`torch.utils._pytree.treespec_dumps`, protocol 1): JSON text of
 * `[1, node]`. Both archive formats hold them as strings: a `.tgm` graph's `in_spec` / `out_spec`
 * (`shared/spec/compiled-module-archive.md`) and a `.pt2` `ModuleCallSignature`'s (`shared/spec/pt2-format.md`).
 *
 * A reader checks the text here, once, for both formats: it must parse (by `Json.parseText`'s rules, so a
 * treespec nested thousands deep is refused before anything recurses over it) and be a treespec, as
 * `treespec_loads` requires. The program keeps the text as it was written (torch's `", "` / `": "`
 * separators), so that writing it back gives the same bytes, and the `.pt2` writer may trust it.
 *
 * @since 0.1.0
 */
import { Result, Schema } from "effect"
import * as Json from "./Json.ts"

// ===== Models =====

/**
 * One node of a treespec: a leaf is `{type: null, context: null, children_spec: []}`; otherwise `type` names
 * the container (`"builtins.tuple"`, `"builtins.dict"`, ...) and `context` is whatever its serializer gives,
 * usually a JSON-encoded string (`"null"`, `"[\"z\"]"`).
 *
 * @since 0.1.0
 * @category models
 */
export interface TreeSpecNode {
  readonly type: string | null
  readonly context: Schema.Json
  readonly children_spec: ReadonlyArray<TreeSpecNode>
}
/** @since 0.1.0 @category models */
export const TreeSpecNode: Schema.Codec<TreeSpecNode> = Schema.Struct({
  type: Schema.NullOr(Schema.String),
  context: Schema.Json,
  children_spec: Schema.Array(Schema.suspend((): Schema.Codec<TreeSpecNode> => TreeSpecNode))
})

/**
 * The parsed text of a treespec string: `[1, node]`.
 *
 * @since 0.1.0
 * @category models
 */
export const TreeSpec = Schema.Tuple([Schema.Literal(1), TreeSpecNode])
/** @since 0.1.0 @category models */
export type TreeSpec = typeof TreeSpec.Type

// ===== Decoding =====

const EXPECTED = "a pytree treespec, JSON text of [1, {type, context, children_spec}]"

/**
 * The treespec a string holds, or why it holds none (in words, with the JSON path inside the text).
 *
 * @since 0.1.0
 * @category decoding
 */
export const parse = (text: string): Result.Result<TreeSpec, string> => {
  const json = Json.parseText(text)
  if (Result.isFailure(json)) return Result.fail(`${EXPECTED}, but ${Json.textFaultMessage(json.failure)}`)
  const spec = Json.decodeValue(TreeSpec, json.success)
  if (Result.isFailure(spec)) return Result.fail(`${EXPECTED}, but at ${spec.failure.path}: ${spec.failure.detail}`)
  return Result.succeed(spec.success)
}

/**
 * A treespec string, checked by {@link parse} and kept as its text.
 *
 * @since 0.1.0
 * @category models
 */
export const TreeSpecString = Schema.String.check(
  Schema.makeFilter((s) => {
    const r = parse(s)
    return Result.isSuccess(r) || r.failure
  })
)
