// Bundles the console: src/main.js → dist/app.js, src/app.css → dist/app.css
// and src/index.html → dist/index.html with ?v=<content hash> on both
// assets (the hash web/embed.go puts in the ETag, so versioned requests can
// be cached for good). `node build.mjs --watch` rebuilds on change.
import * as esbuild from 'esbuild';
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, 'dist');

const hash = (buf) => createHash('sha256').update(buf).digest('hex').slice(0, 16);

async function build() {
  const result = await esbuild.build({
    entryPoints: { app: join(here, 'src/main.js') },
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['es2020'],
    outdir: out,
    write: false,
    legalComments: 'none',
    logLevel: 'warning',
  });
  await mkdir(out, { recursive: true });
  const files = {};
  for (const f of result.outputFiles) files[f.path.slice(out.length + 1)] = f.contents;
  // main.js imports app.css, so esbuild writes app.js and app.css.
  for (const name of ['app.js', 'app.css']) {
    if (!files[name]) throw new Error(`esbuild wrote no ${name}`);
    await writeFile(join(out, name), files[name]);
  }
  let html = await readFile(join(here, 'src/index.html'), 'utf8');
  html = html
    .replace('/app.js', `/app.js?v=${hash(files['app.js'])}`)
    .replace('/app.css', `/app.css?v=${hash(files['app.css'])}`);
  await writeFile(join(out, 'index.html'), html);
  const kb = (n) => `${(n / 1024).toFixed(0)} KiB`;
  console.log(`web/dist: app.js ${kb(files['app.js'].length)}, app.css ${kb(files['app.css'].length)}`);
}

await build();
if (process.argv.includes('--watch')) {
  const { watch } = await import('node:fs');
  let timer;
  watch(join(here, 'src'), { recursive: true }, () => {
    clearTimeout(timer);
    timer = setTimeout(() => build().catch((e) => console.error(e.message)), 100);
  });
  console.log('watching web/src');
}
