import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // The suite lints every pass's output (fx's lint after every pass), on top of the state checks.
    env: { TRTX_LINT_BETWEEN_PASSES: "1" }
  }
})
