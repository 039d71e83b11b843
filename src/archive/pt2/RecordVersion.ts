/**
 * The version record every zip that torch's `PyTorchStreamReader` opens must hold: `<root>/.data/version`,
 * or failing that the legacy `<root>/version`, whose leading digits (parsed like `std::stoull`) must be a
 * version from 1 to 10 (kMinSupportedFileFormatVersion to kMaxSupportedFileFormatVersion in torch 2.11). Both
 * a `.pt2` archive and the nested zip of each custom object are checked by it.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { type ArchiveError, at, type Location } from "../ArchiveError.ts"
import type * as Zip from "../zip/Zip.ts"

// caffe2/serialize/versions.h: kMinSupportedFileFormatVersion = 1, kMaxSupportedFileFormatVersion = 0xA.
const minVersion = 1
const maxVersion = 10

/**
 * Checks the version record under `root` (which ends with `/`). `locate` gives the location of an entry of
 * this zip in errors (a nested zip is located inside its outer entry).
 *
 * @since 0.1.0
 * @category decoding
 */
export const check = (
  zip: Zip.ZipReader,
  root: string,
  locate: (entry: string) => Location
): Effect.Effect<void, ArchiveError> =>
  Effect.gen(function*() {
    const name = [`${root}.data/version`, `${root}version`].find((n) => zip.entries.has(n))
    if (name === undefined) {
      const detail = `neither ${root}.data/version nor ${root}version is present`
      return yield* Effect.fail(at(locate(`${root}version`), "MissingEntry", detail))
    }
    const bad = (detail: string) => Effect.fail(at(locate(name), "UnsupportedVersion", detail))
    // A version record is a few digits; a large one is refused before it is read.
    if (zip.entries.get(name)!.uncompressedSize > 32) return yield* bad("the record is not a number")
    const bytes = yield* Effect.mapError(zip.readJson(name), (e) => at(locate(e.entry ?? name), e.fault, e.detail))
    const text = String.fromCharCode(...bytes)
    // Parsed like std::stoull: leading white space, digits, anything after them ignored.
    const digits = /^\s*\+?(\d+)/.exec(text)
    if (digits === null) return yield* bad(`${JSON.stringify(text)} is not a number`)
    const version = Number(digits[1])
    if (version < minVersion || version > maxVersion) {
      return yield* bad(`version ${digits[1]}; torch 2.11 reads ${minVersion} to ${maxVersion}`)
    }
  })
