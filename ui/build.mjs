// Builds the web console into ui/dist, which trawld serves at /ui:
//   dist/index.html              the page (revalidated on every load)
//   dist/favicon.svg
//   dist/assets/app-<hash>.js    one bundle: the console and uPlot (cached for good)
//   dist/assets/app-<hash>.css   its styles and uPlot's
// Run by scripts/install-ui.sh (npm ci, then `npm run build`). Nothing in the output
// refers to another origin: trawld's Content-Security-Policy would refuse it anyway.
import * as esbuild from 'esbuild';
import { mkdirSync, readFileSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, 'dist');
rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'assets'), { recursive: true });

const result = await esbuild.build({
  entryPoints: { app: join(here, 'src', 'main.js') },
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['chrome100', 'firefox100', 'safari15'],
  outdir: join(out, 'assets'),
  entryNames: '[name]-[hash]',
  metafile: true,
  legalComments: 'linked',
  logLevel: 'warning',
});

let js = null;
let css = null;
for (const [file, info] of Object.entries(result.metafile.outputs)) {
  if (info.entryPoint && file.endsWith('.js')) {
    js = basename(file);
    css = info.cssBundle ? basename(info.cssBundle) : null;
  }
}
if (!js || !css) throw new Error('build: no JavaScript or CSS bundle in the output');

const page = readFileSync(join(here, 'src', 'index.html'), 'utf8')
  .replace('%APP_JS%', '/ui/assets/' + js)
  .replace('%APP_CSS%', '/ui/assets/' + css);
writeFileSync(join(out, 'index.html'), page);
copyFileSync(join(here, 'src', 'favicon.svg'), join(out, 'favicon.svg'));
console.log(`ui: built dist/index.html, assets/${js}, assets/${css}`);
