/**
 * `npm run playground`: builds the browser bundle and the page (scripts/build-browser.ts) and serves
 * dist/playground on http://127.0.0.1:8080 (PORT to change it). Responses carry COOP/COEP headers so
 * the page is cross-origin isolated (SharedArrayBuffer, gpu.js webasm threads).
 */
import { createServer, type Server } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildPlayground, describeBuild, PLAYGROUND_OUT } from '../../scripts/build-browser.js';

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.map': 'application/json', '.json': 'application/json', '.png': 'image/png', '.svg': 'image/svg+xml',
};

export interface RunningServer {
  readonly url: string;
  close(): Promise<void>;
}

/** Serves `root` (default dist/playground) on 127.0.0.1; port 0 picks a free one. */
export async function startServer(options: { port?: number; root?: string } = {}): Promise<RunningServer> {
  const root = resolve(options.root ?? PLAYGROUND_OUT);
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    const file = normalize(join(root, path.endsWith('/') ? `${path}index.html` : path));
    if (file !== root && !file.startsWith(root + sep)) { res.writeHead(403).end('forbidden'); return; }
    readFile(file).then((body) => {
      res.writeHead(200, {
        'Content-Type': MIME[extname(file)] ?? 'application/octet-stream',
        'Cross-Origin-Opener-Policy': 'same-origin',
        'Cross-Origin-Embedder-Policy': 'require-corp',
        'Cache-Control': 'no-store',
      }).end(body);
    }, () => { res.writeHead(404, { 'Content-Type': 'text/plain' }).end(`not found: ${path}`); });
  });
  await new Promise<void>((ok, fail) => { server.once('error', fail); server.listen(options.port ?? 0, '127.0.0.1', ok); });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () => new Promise<void>((ok) => { server.closeAllConnections(); server.close(() => ok()); }),
  };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const report = await buildPlayground();
  console.log(`built: ${describeBuild(report)}`);
  const { url } = await startServer({ port: Number(process.env.PORT ?? 8080) });
  console.log(`moegrad playground: ${url}  (Ctrl-C to stop)`);
}
