/**
 * The one error class of engine records: every reason a TensorRT engine record
 * (`TorchTensorRTModule._pack_engine_info()`, torchbind `tensorrt::Engine.__getstate__()`) is refused, located
 * at the field that is wrong.
 *
 * A location is the record's label (where it came from: an engine name, a module path, an archive entry),
 * the field's name as upstream's `SerializedInfoIndex` spells it without `_IDX`, and its index.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * The closed set of reasons a record is refused.
 *
 * @since 0.1.0
 * @category models
 */
export const EngineRecordReason = Schema.Literals([
  "FieldCount", // the number of fields disagrees with the record's ABI (SERIALIZATION_LEN)
  "UnsupportedAbi", // an ABI version other than the layouts this port knows ("7" and "10")
  "BadField", // a field of the wrong kind: bytes outside ENGINE, or a string at ENGINE in the raw form
  "BadDevice", // DEVICE is not `gpu%major%minor%type%name` in canonical form
  "BadBindings", // a `%`-joined binding-name list with an empty item
  "BadFlag", // a boolean field (or the allocation strategy) that is not exactly "0" or "1"
  "BadPlatform", // TARGET_PLATFORM is not one of the C++ runtime's platform names
  "BadBase64", // ENGINE in the base64 form is not canonical RFC 4648 base64 with `=` padding
  "BadAliasedIo", // ALIASED_IO is not `out@in@kind` records joined with `%`, or names no such binding
  "BindingMismatch", // the record's binding names differ from those of the module that holds it
  "TooLarge" // ENGINE is too large for its base64 form: a string (MAX_BASE64_ENGINE_BYTES) or pickled text (MAX_BASE64_TEXT_ENGINE_BYTES)
])

/**
 * @since 0.1.0
 * @category models
 */
export type EngineRecordReason = typeof EngineRecordReason.Type

/**
 * The fields of the longest layout (ABI "10"), by index: upstream's `SerializedInfoIndex` names without
 * `_IDX`. Shorter layouts are prefixes of it.
 *
 * @since 0.1.0
 * @category models
 */
export const RECORD_FIELDS = [
  "ABI_TARGET",
  "NAME",
  "DEVICE",
  "ENGINE",
  "INPUT_BINDING_NAMES",
  "OUTPUT_BINDING_NAMES",
  "HW_COMPATIBLE",
  "SERIALIZED_METADATA",
  "TARGET_PLATFORM",
  "REQUIRES_OUTPUT_ALLOCATOR",
  "RESOURCE_ALLOCATION_STRATEGY",
  "REQUIRES_NATIVE_MULTIDEVICE",
  "ALIASED_IO"
] as const

/**
 * The fields of a record by name (upstream's `SerializedInfoIndex` without `_IDX`), plus `SERIALIZATION_LEN`
 * for a record whose length is wrong past the fields its ABI defines.
 *
 * @since 0.1.0
 * @category models
 */
export const EngineRecordField = Schema.Literals([...RECORD_FIELDS, "SERIALIZATION_LEN"])

/**
 * @since 0.1.0
 * @category models
 */
export type EngineRecordField = typeof EngineRecordField.Type

/**
 * A located engine-record fault.
 *
 * @since 0.1.0
 * @category errors
 */
export class EngineRecordError extends Schema.TaggedError<EngineRecordError>()("EngineRecordError", {
  reason: EngineRecordReason,
  field: EngineRecordField,
  index: Schema.Int,
  detail: Schema.String,
  record: Schema.optionalKey(Schema.String)
}) {
  /**
   * `record: FIELD [index]: reason: detail`, with `engine record` standing in for an unlabelled record.
   */
  override get message(): string {
    return `${this.record ?? "engine record"}: ${this.field} [${this.index}]: ${this.reason}: ${this.detail}`
  }
}
