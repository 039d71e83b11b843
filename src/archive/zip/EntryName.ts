/**
 * The rule for entry names that trtx reads and writes, one for both sides: a name is refused when extracting
 * it could escape the archive's folder or land on the same path as another name.
 *
 * @since 0.1.0
 */

/**
 * Why a name is unsafe to extract, or undefined. Stricter than yauzl: empty and "." segments and NUL are
 * refused too, so that no two different names can land on the same path.
 *
 * @since 0.1.0
 * @category validation
 */
export const problem = (name: string): string | undefined => {
  if (name === "") return "empty name"
  if (name.includes("\0")) return "NUL in name"
  if (name.includes("\\")) return "backslash in name"
  if (name.startsWith("/") || /^[A-Za-z]:/.test(name)) return "absolute path"
  const segments = (name.endsWith("/") ? name.slice(0, -1) : name).split("/")
  if (segments.includes("..")) return "parent segment (..)"
  if (segments.includes("")) return "empty segment"
  if (segments.includes(".")) return "current-directory segment (.)"
  return undefined
}
