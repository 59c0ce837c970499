// Builds the renderer into dist/renderer/ (what the Electron window and the browser host load):
// one bundled script, one stylesheet, icons, and an index.html whose CSP forbids inline scripts.
// Also bundles the renderer's unit tests (renderer/**/*.test.ts) for Node into dist/renderer-tests/,
// where scripts/run-tests.sh finds them with the rest.
import { build } from 'esbuild';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'dist/renderer');
const production = process.env.NODE_ENV !== 'development' && !process.argv.includes('--dev');

// No 'unsafe-inline' anywhere: React sets the progress bar's width through the CSSOM, which
// style-src does not govern.
const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self' ws://127.0.0.1:*",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

await build({
  entryPoints: [path.join(root, 'renderer/main.tsx')],
  outfile: path.join(out, 'app.js'),
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: ['chrome120'],
  jsx: 'automatic',
  minify: production,
  sourcemap: production ? false : 'linked',
  define: { 'process.env.NODE_ENV': JSON.stringify(production ? 'production' : 'development') },
  logLevel: 'warning',
});

copyFileSync(path.join(root, 'renderer/styles.css'), path.join(out, 'app.css'));
for (const dir of ['renderer/icons', 'assets']) {
  const from = path.join(root, dir);
  if (!existsSync(from)) continue;
  for (const name of readdirSync(from)) {
    if (/\.(svg|png|ico)$/.test(name) && !name.startsWith('screenshot')) copyFileSync(path.join(from, name), path.join(out, name));
  }
}
const html = readFileSync(path.join(root, 'renderer/index.html'), 'utf8').replace('%CSP%', CSP);
writeFileSync(path.join(out, 'index.html'), html);

// Renderer unit tests: stores and pure logic, run by node:test like every other test.
const testDir = path.join(root, 'dist/renderer-tests');
rmSync(testDir, { recursive: true, force: true });
const tests = [];
(function collect(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) collect(full);
    else if (/\.test\.tsx?$/.test(entry.name)) tests.push(full);
  }
})(path.join(root, 'renderer'));
if (tests.length > 0) {
  await build({
    entryPoints: tests,
    outdir: testDir,
    outbase: path.join(root, 'renderer'),
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: ['node20'],
    jsx: 'automatic',
    sourcemap: 'inline',
    external: ['node:*'],
    logLevel: 'warning',
  });
}
console.log(`renderer built into ${path.relative(root, out)}/ (${production ? 'production' : 'development'})${tests.length ? `, ${tests.length} test file(s)` : ''}`);
