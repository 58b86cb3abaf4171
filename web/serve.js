// A tiny static server for the built folder, on 127.0.0.1 only (WebAssembly does not load from file://).
//
//   node serve.js [DIR] [--port N]        (npm start builds, then serves dist on port 8080)
//
// Any static host serves dist as well; it must send .wasm as application/wasm and .mjs/.js as JavaScript.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript', '.css': 'text/css',
  '.wasm': 'application/wasm', '.onnx': 'application/octet-stream', '.pb': 'application/octet-stream',
  '.bin': 'application/octet-stream',
  '.json': 'application/json', '.png': 'image/png', '.jpg': 'image/jpeg',
};

// Serve `root` at /, and each extra {prefix: folder} under its prefix (the tests' data).
// Resolves to the listening server; its URL is `http://127.0.0.1:${server.address().port}/`.
export function serve(root, { port = 0, mounts = {} } = {}) {
  const folders = [...Object.entries(mounts), ['/', root]].map(([prefix, folder]) => [prefix, path.resolve(folder)]);
  const server = http.createServer((request, response) => {
    let pathname;
    try {
      pathname = decodeURIComponent(new URL(request.url, 'http://127.0.0.1').pathname);
    } catch {
      return reply(response, 400, 'bad path');
    }
    if (pathname.endsWith('/')) pathname += 'index.html';
    const [prefix, folder] = folders.find(([start]) => pathname.startsWith(start));
    const file = path.join(folder, pathname.slice(prefix.length));
    const type = TYPES[path.extname(file)];
    if (request.method !== 'GET' && request.method !== 'HEAD') return reply(response, 405, 'only GET and HEAD');
    if (!file.startsWith(folder + path.sep) || !type) return reply(response, 404, 'not found');
    fs.stat(file, (error, stats) => {
      if (error || !stats.isFile()) return reply(response, 404, 'not found');
      response.writeHead(200, { 'Content-Type': type, 'Content-Length': stats.size, 'Cache-Control': 'no-cache' });
      if (request.method === 'HEAD') return response.end();
      fs.createReadStream(file).pipe(response);
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

function reply(response, code, text) {
  response.writeHead(code, { 'Content-Type': 'text/plain' });
  response.end(text);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const portAt = args.indexOf('--port');
  const port = portAt >= 0 ? Number(args.splice(portAt, 2)[1]) : 8080;
  const root = args[0] ?? path.join(path.dirname(fileURLToPath(import.meta.url)), 'dist');
  serve(root, { port }).then(
    (server) => console.log(`serving ${root} at http://127.0.0.1:${server.address().port}/ (Ctrl+C stops)`),
    (error) => { console.error(`serve: ${error.message}`); process.exitCode = 1; },
  );
}
