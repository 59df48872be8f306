/**
 * The page's files: the HTML and CSS as written (src/dashboard/page/, shipped in the package),
 * the page's scripts as tsc compiled them (dist/src/dashboard/page/), and uPlot's dist files
 * from node_modules, resolved at run time, so the page needs no CDN and works offline.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const packageRoot = fileURLToPath(new URL('../../../', import.meta.url)); // from dist/src/dashboard/
const pageSource = `${packageRoot}src/dashboard/page/`;
const pageScripts = fileURLToPath(new URL('./page/', import.meta.url));

const types: Record<string, string> = {
  html: 'text/html; charset=utf-8', css: 'text/css; charset=utf-8', js: 'text/javascript; charset=utf-8', png: 'image/png',
};

/** The file behind a URL path, or undefined: only these names, never a path the client builds. */
function fileFor(path: string): string | undefined {
  if (path === '/' || path === '/index.html') return `${pageSource}index.html`;
  if (path === '/dashboard.css') return `${pageSource}dashboard.css`;
  if (path === '/vendor/uPlot.iife.min.js') return require.resolve('uplot/dist/uPlot.iife.min.js');
  if (path === '/vendor/uPlot.min.css') return require.resolve('uplot/dist/uPlot.min.css');
  const script = /^\/js\/([a-z-]+\.js)$/.exec(path);
  return script ? `${pageScripts}${script[1]}` : undefined;
}

export interface Asset { body: Buffer; type: string }

export async function asset(path: string): Promise<Asset | undefined> {
  const file = fileFor(path);
  if (!file) return undefined;
  try {
    return { body: await readFile(file), type: types[file.slice(file.lastIndexOf('.') + 1)] ?? 'application/octet-stream' };
  } catch {
    return undefined;
  }
}
