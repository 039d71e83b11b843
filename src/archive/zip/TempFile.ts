/**
 * The temporary files of atomic writes: how one is named, and how those that dead writes left behind are
 * recognised and removed.
 *
 * A write goes to a temporary file beside its output and is renamed over it at the end; a failed or
 * interrupted write removes its file, but a process killed outright (SIGKILL, the OOM killer) cannot. Its
 * file is then recognisable by its name, `.trtx-<pid>-<12 hex digits>.tmp`, and the next write into the same
 * directory removes it once that pid is no longer alive. Nothing else is ever removed: not a file of another
 * name, not a file of a live process (this one included), not a directory or a link.
 *
 * The name does not contain the output's name, so that it stays short (at most 31 bytes): an output name
 * of up to 255 bytes, the most a file system allows, can always be written.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs/promises"
import * as nodePath from "node:path"

// Seven digits hold every pid Linux can give (pid_max is at most 2^22); a longer one is not ours.
const pattern = /^\.trtx-([1-9]\d{0,6})-[0-9a-f]{12}\.tmp$/

/**
 * A new temporary name for a write by this process into `directory`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (directory: string): string =>
  nodePath.join(directory, `.trtx-${process.pid}-${randomBytes(6).toString("hex")}.tmp`)

/**
 * The pid of the process that made a temporary name, or undefined if the name is not one of ours.
 *
 * @since 0.1.0
 * @category getters
 */
export const ownerOf = (name: string): number | undefined => {
  const match = pattern.exec(name)
  return match === null ? undefined : Number(match[1])
}

// Whether a pid may be alive. Only ESRCH says it is not: EPERM is a live process of another user, and any
// other answer is taken as alive, so that a doubt keeps the file.
const alive = (pid: number): boolean => {
  if (pid === process.pid) return true
  try {
    process.kill(pid, 0)
    return true
  } catch (cause) {
    return (cause as NodeJS.ErrnoException).code !== "ESRCH"
  }
}

/**
 * Removes from `directory` the temporary files of writes whose process is gone. Best effort: it never
 * fails, and whatever it cannot list, inspect or remove is left as it is.
 *
 * **Gotchas**
 *
 * A pid is only meaningful in one pid namespace: processes in two containers that share a directory cannot
 * see each other's pids, and one could remove the other's temporary file mid-write (that write then fails
 * at its rename; no output is damaged).
 *
 * @since 0.1.0
 * @category destructors
 */
export const sweep = (directory: string): Effect.Effect<void> =>
  Effect.promise(async () => {
    let names: Array<string>
    try {
      names = await fs.readdir(directory)
    } catch {
      return
    }
    for (const name of names) {
      const pid = ownerOf(name)
      if (pid === undefined || alive(pid)) continue
      const path = nodePath.join(directory, name)
      try {
        // lstat: a link of that name is not followed, and neither it nor a directory is removed.
        if ((await fs.lstat(path)).isFile()) await fs.unlink(path)
      } catch {
        // Gone already (another write swept it), or not ours to remove: either way, nothing to do.
      }
    }
  })
