// A tiny static server for the built folder (WebAssembly does not load from file://).
//
//   node serve.js [DIR] [--port N] [--host ADDRESS] [--cert FILE --key FILE]
//   npm start                                 builds, then serves dist on http://127.0.0.1:8080/
//   npm start -- --host 0.0.0.0               also on this machine's network, for a phone to open
//
// 127.0.0.1 by default: only this machine can open the page. On the network, a phone's browser
// opens the page but not its camera: getUserMedia needs https or localhost. --cert and --key serve
// https (README: "Try it on a phone"). Every answer carries a Content-Security-Policy and nosniff,
// and no request can stop the server: a bad path is 400 or 404, a file that fails to read is 500.
// Any static host serves dist as well; it must send .wasm as application/wasm and .mjs/.js as JavaScript.
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream';
import { fileURLToPath } from 'node:url';

export const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript', '.css': 'text/css',
  '.wasm': 'application/wasm', '.onnx': 'application/octet-stream', '.pb': 'application/octet-stream',
  '.bin': 'application/octet-stream',
  '.json': 'application/json', '.webmanifest': 'application/manifest+json', '.png': 'image/png', '.jpg': 'image/jpeg',
};
// Copies of a file that build.js compressed beforehand, by the Accept-Encoding name they answer to.
const ENCODINGS = [['br', '.br'], ['gzip', '.gz']];

// The page runs only its own files: scripts, styles and fetches from this server, WebAssembly
// compiled from them, images from the user's files (blob:) and the camera's stream.
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'", "script-src 'self' 'wasm-unsafe-eval'", "style-src 'self'", "img-src 'self' data: blob:",
  "media-src 'self' blob: mediastream:", "connect-src 'self'", "object-src 'none'", "base-uri 'none'",
  "form-action 'none'", "frame-ancestors 'none'",
].join('; ');
const SECURITY_HEADERS = { 'Content-Security-Policy': CONTENT_SECURITY_POLICY, 'X-Content-Type-Options': 'nosniff' };

// Serve `root` at /, and each extra {prefix: folder} under its prefix (the tests' data), on `host`
// (127.0.0.1 unless asked), over https when `tls` holds {cert, key}. A file's compressed copy
// (FILE.br, FILE.gz) is sent to a browser that accepts it; an ETag lets a browser keep what it has.
// `log({ path, status, encoding, bytes })` hears every answer. Resolves to the listening server.
export function serve(root, { port = 0, host = '127.0.0.1', mounts = {}, tls = null, log = () => {} } = {}) {
  const folders = [...Object.entries(mounts), ['/', root]].map(([prefix, folder]) => [prefix, path.resolve(folder)]);
  const answer = (request, response) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return reply(response, 405, 'only GET and HEAD');
    let pathname;
    try {
      pathname = decodeURIComponent(new URL(request.url, 'http://127.0.0.1').pathname);
    } catch {
      return reply(response, 400, 'bad path');
    }
    if (pathname.includes('\0')) return reply(response, 400, 'bad path');
    if (pathname.endsWith('/')) pathname += 'index.html';
    const [prefix, folder] = folders.find(([start]) => pathname.startsWith(start));
    const file = path.join(folder, pathname.slice(prefix.length));
    const type = TYPES[path.extname(file)];
    if (!file.startsWith(folder + path.sep) || !type) return reply(response, 404, 'not found');
    const encodings = [...ENCODINGS.filter(([name]) => accepts(request.headers['accept-encoding'], name)), [null, '']];
    const tryEncoding = ([[encoding, suffix], ...others]) => fs.stat(file + suffix, (error, stats) => {
      if (error || !stats.isFile()) return others.length ? tryEncoding(others) : reply(response, 404, 'not found');
      const tag = `"${stats.size.toString(36)}-${Math.floor(stats.mtimeMs).toString(36)}${encoding ? `-${encoding}` : ''}"`;
      const headers = { ...SECURITY_HEADERS, 'Content-Type': type, 'Cache-Control': 'no-cache', ETag: tag, Vary: 'Accept-Encoding' };
      if (encoding) headers['Content-Encoding'] = encoding;
      if (request.headers['if-none-match'] === tag) {
        log({ path: pathname, status: 304, encoding, bytes: 0 });
        return response.writeHead(304, headers).end();
      }
      const source = fs.createReadStream(file + suffix);
      source.once('open', () => {
        response.writeHead(200, { ...headers, 'Content-Length': stats.size });
        log({ path: pathname, status: 200, encoding, bytes: request.method === 'HEAD' ? 0 : stats.size });
        if (request.method === 'HEAD') return source.destroy(), response.end();
        // Errors after the headers (a read that fails, a client that leaves) close this one answer.
        pipeline(source, response, () => {});
      });
      source.once('error', () => response.headersSent || reply(response, 500, 'cannot read the file'));
    });
    tryEncoding(encodings);
  };
  const handler = (request, response) => {
    try {
      answer(request, response);
    } catch {
      if (!response.headersSent) reply(response, 500, 'server error');
      else response.destroy();
    }
  };
  const server = tls ? https.createServer(tls, handler) : http.createServer(handler);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

// Whether an Accept-Encoding header takes `encoding` (listed, and not with q=0).
function accepts(header = '', encoding) {
  return String(header).split(',').some((part) => {
    const [name, ...parameters] = part.trim().split(';').map((piece) => piece.trim());
    const q = parameters.find((parameter) => parameter.startsWith('q='));
    return name === encoding && !(q && Number(q.slice(2)) === 0);
  });
}

function reply(response, code, text) {
  response.writeHead(code, { ...SECURITY_HEADERS, 'Content-Type': 'text/plain; charset=utf-8' });
  response.end(text);
}

// The command: resolves to { server, lines }, the lines it printed (one line and server null when
// it could not start). `quiet` keeps the lines from the console (for tests).
export async function serveCommand(argv, { quiet = false } = {}) {
  const args = [...argv];
  const option = (flag, fallback) => (args.includes(flag) ? args.splice(args.indexOf(flag), 2)[1] : fallback);
  const port = Number(option('--port', 8080));
  const host = option('--host', '127.0.0.1');
  const [certFile, keyFile] = [option('--cert'), option('--key')];
  const root = args[0] ?? path.join(path.dirname(fileURLToPath(import.meta.url)), 'dist');
  const lines = [];
  const say = (line) => lines.push(line) && !quiet && console.log(line);
  let server = null;
  try {
    if (!certFile !== !keyFile) throw new Error('--cert and --key go together');
    const tls = certFile && { cert: readOrSay(certFile, 'certificate'), key: readOrSay(keyFile, 'key') };
    server = await serve(root, { port, host, tls });
  } catch (error) {
    lines.push(`serve: ${error.message}`);
    if (!quiet) console.error(lines[0]);
    process.exitCode = 1;
    return { server, lines };
  }
  const scheme = certFile ? 'https' : 'http';
  const { port: bound } = server.address();
  const everywhere = host === '0.0.0.0' || host === '::';
  say(`serving ${root} at ${scheme}://${everywhere ? '127.0.0.1' : host}:${bound}/ (Ctrl+C stops)`);
  if (everywhere) {
    const addresses = Object.values(os.networkInterfaces()).flat().filter((a) => a.family === 'IPv4' && !a.internal);
    for (const { address } of addresses) say(`on this network: ${scheme}://${address}:${bound}/`);
    if (!certFile) say('a phone opens the page there, but its camera only over https: see README, "Try it on a phone"');
  }
  return { server, lines };
}

function readOrSay(file, what) {
  try {
    return fs.readFileSync(file);
  } catch (error) {
    throw new Error(`${file}: cannot read the ${what} (${error.code ?? error.message})`);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) serveCommand(process.argv.slice(2));
