// Bundles the console into OUTDIR (default ../build/console):
//   OUTDIR/index.html, OUTDIR/assets/<name>-<hash>.{js,css}, and a .gz (level 9)
// beside every text file. index.html refers to the assets by absolute path
// and holds no inline script or style (dpqld's Content-Security-Policy forbids
// both). Run through scripts/console-build, which installs the pinned packages.
import * as esbuild from 'esbuild';
import { mkdirSync, readFileSync, rmSync, writeFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync, constants } from 'node:zlib';

const here = dirname(fileURLToPath(import.meta.url));
const out = resolve(process.argv[2] ?? join(here, '..', 'build', 'console'));

rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'assets'), { recursive: true });

const result = await esbuild.build({
  entryPoints: { app: join(here, 'src', 'main.js') },
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
  outdir: join(out, 'assets'),
  entryNames: '[name]-[hash]',
  chunkNames: 'chunk-[hash]',
  splitting: true, // the editor is loaded by the query page only (import())
  assetNames: '[name]-[hash]',
  metafile: true,
  legalComments: 'linked',
  logLevel: 'warning',
});

let js, css;
for (const [file, meta] of Object.entries(result.metafile.outputs)) {
  if (!meta.entryPoint?.endsWith('src/main.js') || !file.endsWith('.js')) continue; // chunks load themselves
  js = '/' + relative(out, resolve(file)).split('\\').join('/');
  if (meta.cssBundle) css = '/' + relative(out, resolve(meta.cssBundle)).split('\\').join('/');
}
if (!js || !css) throw new Error('build.mjs: esbuild produced no JS or CSS bundle');

const template = readFileSync(join(here, 'src', 'index.html'), 'utf8');
writeFileSync(join(out, 'index.html'), template.replace('%APP_JS%', js).replace('%APP_CSS%', css));

// .gz beside every text file.
const text = /\.(html|js|css|svg|txt|json|map)$/;
function walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (text.test(name)) writeFileSync(path + '.gz', gzipSync(readFileSync(path), { level: constants.Z_BEST_COMPRESSION }));
  }
}
walk(out);
console.log(`console built into ${out} (${js}, ${css})`);
