// Serves services/console/ from disk in front of a running tokenledger, so
// console edits can be tried against the real API without rebuilding the
// binary. Development only.
//
//   node tests/e2e/dev/console-proxy.mjs http://127.0.0.1:8080 [port]

import { createServer, request } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';

const CONSOLE_DIR = fileURLToPath(new URL('../../../services/console/', import.meta.url));
const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.svg': 'image/svg+xml' };
const upstream = new URL(process.argv[2] || 'http://127.0.0.1:8080');

const server = createServer(async (req, res) => {
  const { pathname } = new URL(req.url, 'http://localhost');
  if (pathname.startsWith('/console/')) {
    const rel = normalize(pathname.slice('/console/'.length) || 'index.html');
    if (!rel.startsWith('..') && TYPES[extname(rel)]) {
      try {
        const body = await readFile(join(CONSOLE_DIR, rel));
        res.writeHead(200, { 'Content-Type': TYPES[extname(rel)], 'Cache-Control': 'no-cache' });
        return res.end(body);
      } catch { /* fall through to the server's 404 */ }
    }
  }
  const forward = request({ host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers },
    (answer) => {
      res.writeHead(answer.statusCode, answer.headers);
      answer.pipe(res);
    });
  forward.on('error', () => {
    res.writeHead(502);
    res.end();
  });
  req.pipe(forward);
});

server.listen(Number(process.argv[3] || 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port} (API: ${upstream.origin})`);
});
