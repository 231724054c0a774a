import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // the JSON report lets .ci/run print a plain "N passed, M failed" line
    reporters: ["default", ["json", { outputFile: ".cache/vitest-report.json" }]],
    // Fixtures are built once per run with the real tools and cached on disk.
    globalSetup: ["test/fixtures/global-setup.ts"],
    testTimeout: 120_000,
    hookTimeout: 600_000,
    // Two cores: QEMU boots and mke2fs runs are CPU bound.
    maxWorkers: 2,
    minWorkers: 1,
  },
});
