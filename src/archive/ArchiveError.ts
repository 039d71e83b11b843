/**
 * The one error class of the archive domain (`.tgm` and, later, `.pt2`): every fault found while reading
 * or writing an archive, located as precisely as the fault allows.
 *
 * A location is the archive (its file name or a label), the zip entry, the JSON path inside that entry
 * (`$.children._run_on_acc_0.graph.nodes[3].args[0]`) and the graph node, each where one applies.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * The closed set of archive faults.
 *
 * @since 0.1.0
 * @category models
 */
export const ArchiveFault = Schema.Literals([
  "ReadFailed", // the file system refused a read: no such file, a directory, no permission
  "CorruptZip", // the container itself is unreadable: truncated, bad signatures, bad offsets, bad CRC
  "HostileEntryName", // an entry name that is absolute, climbs with `..`, or is otherwise unsafe
  "DuplicateEntry", // two entries with the same name
  "EntryTooLarge", // declared sizes that cannot be true (zip bombs) or exceed the reader's limits
  "MissingEntry", // an entry the format requires, or one a record points to, is absent
  "BadJson", // an entry that must be JSON does not parse
  "SchemaMismatch", // JSON that parses but does not have the format's shape
  "UnsupportedVersion", // a format or version this reader does not know
  "DanglingReference", // a `{"node": n}` naming no earlier node of the same graph
  "UnresolvedTarget", // a `call_module` / `get_attr` target missing from the module tree
  "StorageTooSmall", // a tensor view reaching past its storage's bytes
  "DuplicateName", // two nodes of one graph with the same name
  "BadPickle", // pickle data (a custom object's data.pkl) that is malformed or uses what the decoder refuses
  "Unserializable", // a program the writer cannot express in the archive's format
  "WriteFailed" // the file system refused a write; nothing was left behind
])

/**
 * @since 0.1.0
 * @category models
 */
export type ArchiveFault = typeof ArchiveFault.Type

/**
 * A located archive fault.
 *
 * @since 0.1.0
 * @category errors
 */
export class ArchiveError extends Schema.TaggedError<ArchiveError>()("ArchiveError", {
  archive: Schema.String,
  fault: ArchiveFault,
  entry: Schema.optionalKey(Schema.String),
  path: Schema.optionalKey(Schema.String),
  node: Schema.optionalKey(Schema.String),
  detail: Schema.String
}) {
  /**
   * `archive: entry at path (node n): detail`, each part present only where it is known.
   */
  override get message(): string {
    let where = this.archive
    if (this.entry !== undefined) where += `: ${this.entry}`
    if (this.path !== undefined) where += ` at ${this.path}`
    if (this.node !== undefined) where += ` (node ${this.node})`
    return `${where}: ${this.fault}: ${this.detail}`
  }
}

/**
 * The location fields of an {@link ArchiveError}, for code that builds errors as it descends.
 *
 * @since 0.1.0
 * @category models
 */
export interface Location {
  readonly archive: string
  readonly entry?: string
  readonly path?: string
  readonly node?: string
}

/**
 * Builds an {@link ArchiveError} at a location.
 *
 * @since 0.1.0
 * @category constructors
 */
export const at = (location: Location, fault: ArchiveFault, detail: string): ArchiveError =>
  new ArchiveError({ ...location, fault, detail })
