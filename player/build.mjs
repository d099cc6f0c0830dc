// Builds the web player into dist/, the one folder the origin serves at /player/ and the wheel ships:
//   dist/index.html, dist/page.js, dist/page.css        the /player/ page
//   dist/hlsgate-player.js, dist/hlsgate-player.css     the widget (window.HlsGatePlayer) and its own styles
//   dist/vendor/hls.min.js, dist/vendor/hls.js-LICENSE  hls.js's distributed file with its licence
// The scripts are bundles of the ES modules under src/ (one classic script each, ES2020). `npm run build`
// (make, .ci/run and the wheel build run it); nothing in dist/ is committed.
import {build} from "esbuild";
import {copyFile, mkdir, rm} from "node:fs/promises";
import {dirname, join} from "node:path";
import {fileURLToPath} from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, "dist");
const hlsJs = join(here, "node_modules", "hls.js");

const BUNDLES = {"src/index.js": "hlsgate-player.js", "src/page.js": "page.js"};
const COPIES = {"src/index.html": "index.html", "src/hlsgate-player.css": "hlsgate-player.css", "src/page.css": "page.css"};
const VENDOR = {"dist/hls.min.js": "hls.min.js", "LICENSE": "hls.js-LICENSE"};
// The names the origin serves from dist/ (hls_server/player.py ASSET_PATTERN), besides index.html and vendor/.
const SERVED_NAME = /^[a-z0-9-]{1,64}\.(?:js|css|svg|ico|png)$/;

for (const name of [...Object.values(BUNDLES), ...Object.values(COPIES)]) {
  if (name !== "index.html" && !SERVED_NAME.test(name)) throw new Error(`dist/${name}: the origin would not serve it`);
}
await rm(dist, {recursive: true, force: true});
await mkdir(join(dist, "vendor"), {recursive: true});
for (const [entry, out] of Object.entries(BUNDLES)) {
  await build({
    entryPoints: [join(here, entry)], outfile: join(dist, out), bundle: true, format: "iife",
    target: "es2020", minify: false, legalComments: "none", logLevel: "warning",
  });
}
for (const [source, out] of Object.entries(COPIES)) await copyFile(join(here, source), join(dist, out));
for (const [source, out] of Object.entries(VENDOR)) await copyFile(join(hlsJs, source), join(dist, "vendor", out));
