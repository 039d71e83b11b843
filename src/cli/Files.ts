/**
 * The files of a command line: what a file is, told by its contents, and the checks a command makes before it
 * reads anything, so that a file of the wrong kind gets one sentence saying what it is and which command takes
 * it, and an output never replaces an input or a file of another kind. Every refusal here exits 2
 * (`CommandError.usage`).
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import * as fs from "node:fs"
import * as nodePath from "node:path"
import * as Zip from "../archive/zip/Zip.ts"
import * as CommandError from "./CommandError.ts"

// ===== Models =====

/**
 * The kinds of file trtx reads or writes.
 *
 * @since 0.1.0
 * @category models
 */
export type Kind = "tgm" | "pt2" | "html"

const described: Record<Kind, string> = {
  tgm: "a compiled module (.tgm)",
  pt2: "a torch.export program (.pt2)",
  html: "an HTML page"
}

const takenBy: Record<Kind, string> = {
  tgm: "trtx export, inspect, verify and report take it",
  pt2: "trtx inspect, verify and report take it, and trtx load a cross-compiled one",
  html: "a browser shows it"
}

const byExtension: Readonly<Record<string, Kind>> = { ".tgm": "tgm", ".pt2": "pt2", ".html": "html", ".htm": "html" }

// ===== Getters =====

/**
 * The kind a file's name says: its extension, or undefined for any other.
 *
 * @since 0.1.0
 * @category getters
 */
export const kindOfName = (path: string): Kind | undefined => byExtension[nodePath.extname(path).toLowerCase()]

const HEAD = 512
const ZIP = [0x50, 0x4b]
const HTML = /^(?:\ufeff)?\s*<(?:!doctype\s+html|html)[\s>]/i

const head = (path: string): Uint8Array | undefined => {
  let fd: number | undefined
  try {
    fd = fs.openSync(path, "r")
    const buf = new Uint8Array(HEAD)
    return buf.subarray(0, fs.readSync(fd, buf, 0, HEAD, 0))
  } catch {
    return undefined
  } finally {
    if (fd !== undefined) fs.closeSync(fd)
  }
}

/**
 * The kind of a file by its contents: a zip whose root holds `format.json` and `module.json` is a `.tgm`; one
 * whose entries are in one folder holding `archive_format` or a `models/` JSON file is a `.pt2` (torch's
 * layout); text that starts with an HTML doctype or tag is a page. Anything else, or a file that cannot be
 * read, is undefined: the command's reader then says what is wrong with it, located.
 *
 * @since 0.1.0
 * @category getters
 */
export const kindOfContents = (path: string): Effect.Effect<Kind | undefined> =>
  Effect.suspend(() => {
    const bytes = head(path)
    if (bytes === undefined) return Effect.succeed(undefined)
    if (bytes[0] === ZIP[0] && bytes[1] === ZIP[1]) {
      return Effect.scoped(Effect.map(Zip.open({ _tag: "File", path }), (zip) => {
        const names = [...zip.entries.keys()]
        if (zip.entries.has("format.json") && zip.entries.has("module.json")) return "tgm" as const
        const root = names[0]?.split("/")[0]
        const inRoot = root !== undefined && names.every((n) => n.startsWith(`${root}/`))
        return inRoot && names.some((n) => n === `${root}/archive_format` || /^[^/]+\/models\/[^/]+\.json$/.test(n))
          ? "pt2" as const
          : undefined
      })).pipe(Effect.orElseSucceed(() => undefined))
    }
    return Effect.succeed(HTML.test(new TextDecoder("latin1").decode(bytes)) ? "html" as const : undefined)
  })

// ===== Checks =====

/**
 * The kind of an input a command takes: by its contents, else by its name. A file whose contents are of a
 * kind the command does not take is refused, saying what it is and which commands take it; one of no kind
 * the command knows is refused unless the command takes one kind only (its reader then reports the fault).
 *
 * @since 0.1.0
 * @category checks
 */
export const input = (
  file: string,
  command: string,
  takes: ReadonlyArray<Kind>
): Effect.Effect<Kind, CommandError.CommandError> =>
  Effect.flatMap(kindOfContents(file), (contents) => {
    const kind = contents ?? kindOfName(file) ?? (takes.length === 1 ? takes[0] : undefined)
    if (kind === undefined) {
      return Effect.fail(CommandError.usage(file, `not ${takes.map((k) => described[k]).join(" or ")}: trtx ${command} takes one`))
    }
    if (takes.includes(kind)) return Effect.succeed(kind)
    return Effect.fail(CommandError.usage(
      file,
      `this is ${described[kind]}, but trtx ${command} takes ${takes.map((k) => described[k]).join(" or ")}; ${takenBy[kind]}`
    ))
  })

const sameFile = (a: string, b: string): boolean => {
  if (nodePath.resolve(a) === nodePath.resolve(b)) return true
  try {
    const sa = fs.statSync(a)
    const sb = fs.statSync(b)
    return sa.dev === sb.dev && sa.ino === sb.ino
  } catch {
    return false
  }
}

/**
 * The checks of an output before a command reads anything: not a directory, not one of the command's inputs
 * (by path or by inode: a link to the input is the input), not named as a file of another kind, and not an
 * existing file of another kind.
 *
 * @since 0.1.0
 * @category checks
 */
export const output = (
  file: string,
  command: string,
  writes: Kind,
  inputs: ReadonlyArray<string>
): Effect.Effect<void, CommandError.CommandError> =>
  Effect.suspend(() => {
    const writing = `trtx ${command} writes ${described[writes]}`
    let stat: fs.Stats | undefined
    try {
      stat = fs.statSync(file)
    } catch {
      stat = undefined
    }
    if (stat?.isDirectory() === true) return Effect.fail(CommandError.usage(file, "is a directory: name the file to write"))
    const input = inputs.find((i) => sameFile(i, file))
    if (input !== undefined) {
      return Effect.fail(CommandError.usage(file, `is the input: ${writing} and would replace it; name another file`))
    }
    const named = kindOfName(file)
    if (named !== undefined && named !== writes) {
      return Effect.fail(CommandError.usage(file, `names ${described[named]}, but ${writing}`))
    }
    if (stat === undefined) return Effect.void
    return Effect.flatMap(kindOfContents(file), (kind) =>
      kind === undefined || kind === writes
        ? Effect.void
        : Effect.fail(CommandError.usage(file, `is ${described[kind]}: ${writing} and would replace it; name another file`)))
  })
