import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Fixtures are built once per run with the real tools and cached on disk.
    globalSetup: ["test/fixtures/global-setup.ts"],
    testTimeout: 120_000,
    hookTimeout: 600_000,
    // Two cores: QEMU boots and mke2fs runs are CPU bound.
    maxWorkers: 2,
    minWorkers: 1,
  },
});
