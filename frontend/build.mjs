// Builds Tokui's front-end assets from npm packages and frontend/ into src/tokui/web/static/tokui/.
// Run by `make assets` during set-up; the output is never committed.
import { build } from "esbuild";
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "src/tokui/web/static/tokui");
mkdirSync(join(out, "vendor"), { recursive: true });

await build({
  entryPoints: { app: join(root, "frontend/app/main.js"), "app-style": join(root, "frontend/app/main.css") },
  bundle: true,
  minify: true,
  sourcemap: false,
  target: ["es2020"],
  outdir: out,
  loader: { ".woff": "file", ".woff2": "file" },
  logLevel: "info",
});

// The tracking tag runs on the shop's pages, not in Tokui: its own small file, no dependencies, older browsers too.
await build({
  entryPoints: { "tracker/tokui": join(root, "frontend/tracker/tokui.js") },
  bundle: true,
  minify: true,
  sourcemap: false,
  format: "iife",
  target: ["es2017"],
  outdir: out,
  logLevel: "info",
});

// The mail editor (GrapesJS + newsletter preset) is about 1 MB: only the template editor page loads it.
// Its CSS (GrapesJS's included) comes out as editor/editor.css next to it.
await build({
  entryPoints: { "editor/editor": join(root, "frontend/editor/index.js") },
  bundle: true,
  minify: true,
  sourcemap: false,
  format: "iife",
  target: ["es2020"],
  outdir: out,
  loader: { ".woff": "file", ".woff2": "file" },
  logLevel: "info",
});

// ECharts is large and only needed on chart pages: ship it as its own file.
copyFileSync(join(root, "node_modules/echarts/dist/echarts.min.js"), join(out, "vendor/echarts.min.js"));
copyFileSync(join(root, "frontend/app/favicon.svg"), join(out, "favicon.svg"));
