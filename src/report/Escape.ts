/**
 * Escaping for the report page: every text that comes from a program (node names, engine names, devices,
 * the file's name) goes through one of these before it is written into HTML, SVG or an inline script.
 *
 * @since 0.1.0
 */

/**
 * Text for HTML or SVG, in an element or a quoted attribute: `& < > " '` as character references.
 *
 * @since 0.1.0
 * @category encoding
 */
export const html = (s: string): string =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;")

/**
 * A value as JSON that may stand inside a `<script>` element: `<`, `>` and `&` as `\u003c`, `\u003e` and
 * `\u0026` (so that no `</script>` or `<!--` closes or changes the element), and U+2028 and U+2029 as
 * escapes. `JSON.parse` of the element's text gives the value back.
 *
 * @since 0.1.0
 * @category encoding
 */
export const scriptJson = (value: unknown): string =>
  JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)
