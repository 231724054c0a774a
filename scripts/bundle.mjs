// The program as users run it: tsc's modules (dist/scripts/) and their npm
// dependencies in one file, dist/shimboot.mjs, with its source map beside it.
// One file loads in about 270 ms where node's loader takes about 400 ms for the
// 180 modules (most of them zod's) one at a time; every command pays that.
// The program imports zod as a namespace (`import * as z from "zod"`), so
// that esbuild keeps only what it uses: zod's 64 error-message locales and
// most of the rest go, half the bundle. Run after tsc (npm run build).
import { build } from "esbuild";

await build({
  entryPoints: ["dist/scripts/cli.js"],
  outfile: "dist/shimboot.mjs",
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  // tsc's maps are followed, so the bundle's map names the TypeScript (lib/internal-error.ts reads it for a bug's report)
  sourcemap: true,
  // commander is CommonJS: its require() calls need one in an ES module
  banner: { js: "import { createRequire as shimbootCreateRequire } from 'node:module'; const require = shimbootCreateRequire(import.meta.url);" },
  logLevel: "warning",
});
