import * as path from "node:path"
import { defineConfig } from "vitest/config"

const src = path.join(import.meta.dirname, "src")

export default defineConfig({
  // The package's own entries, as a user imports them (examples/), resolved to the sources (tsconfig's paths).
  resolve: {
    alias: [
      { find: /^trtx$/, replacement: path.join(src, "index.ts") },
      { find: /^trtx\/(graph|passes|archive|program|engine)$/, replacement: path.join(src, "$1/index.ts") }
    ]
  },
  test: {
    include: ["test/**/*.test.ts"],
    // The suite lints every pass's output (fx's lint after every pass), on top of the state checks; and reads
    // every archive file entry by entry (archives given as bytes cover reading from memory).
    env: { TRTX_LINT_BETWEEN_PASSES: "1", TRTX_ZIP_READ_WHOLE_BYTES: "0" }
  }
})
