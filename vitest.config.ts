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
    // The suite lints every pass's output (fx's lint after every pass), on top of the state checks.
    env: { TRTX_LINT_BETWEEN_PASSES: "1" }
  }
})
