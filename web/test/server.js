// web/serve.js against hostile and unlucky requests, with no browser: each request below once
// stopped the server or slipped past it (issue 24). After every one, the server must still answer.
//
//   node test/server.js        ends with `server: N passed, M failed` and exit code 1 if any failed
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { serve, serveCommand } from '../serve.js';

const results = [];
function check(name, passed, detail = '') {
  results.push(passed);
  console.log(`${passed ? 'ok  ' : 'FAIL'} ${name}${detail ? `: ${detail}` : ''}`);
}

// One raw HTTP/1.1 request (the path sent as written, no client-side normalising); resolves to
// { status, headers, body } or { error } when the connection fails or closes without a whole answer.
function request(port, target, { method = 'GET', host = '127.0.0.1', headers = {} } = {}) {
  const extra = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join('');
  return new Promise((resolve) => {
    const socket = net.connect(port, host, () => socket.write(`${method} ${target} HTTP/1.1\r\nHost: ${host}:${port}\r\n${extra}Connection: close\r\n\r\n`));
    const chunks = [];
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', (error) => resolve({ error: error.code ?? error.message }));
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const [head, ...rest] = text.split('\r\n\r\n');
      const [statusLine, ...lines] = head.split('\r\n');
      const status = Number(statusLine.split(' ')[1]);
      if (!status) return resolve({ error: 'no answer' });
      const headers = Object.fromEntries(lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
      const body = Buffer.from(rest.join('\r\n\r\n'), 'latin1');
      const whole = headers['content-length'] === undefined || body.length === Number(headers['content-length']);
      resolve(whole ? { status, headers, body } : { error: `${status}, then the body stopped short` });
    });
  });
}

async function main() {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'lstm-digits-serve-'));
  fs.writeFileSync(path.join(root, 'index.html'), '<!doctype html><title>t</title>');
  fs.writeFileSync(path.join(root, 'app.js'), 'export {};');
  // A file that stat calls a regular file but no read can get: this process' own memory map.
  fs.symlinkSync('/proc/self/mem', path.join(root, 'unreadable.bin'));
  const bigScript = Buffer.from(`export const numbers = [${Array.from({ length: 3000 }, (_, i) => i * i).join(', ')}];\n`);
  fs.writeFileSync(path.join(root, 'big.js'), bigScript);
  fs.writeFileSync(path.join(root, 'big.js.br'), zlib.brotliCompressSync(bigScript));
  fs.writeFileSync(path.join(root, 'big.js.gz'), zlib.gzipSync(bigScript));
  const server = await serve(root);
  const { port } = server.address();
  const stillUp = async (after) => {
    const answer = await request(port, '/');
    check(`still serving after ${after}`, answer.status === 200 && answer.body.toString().includes('<title>t</title>'), answer.error ?? `HTTP ${answer.status}`);
  };
  try {
    const page = await request(port, '/');
    check('the page comes with Content-Security-Policy', /script-src 'self'/.test(page.headers?.['content-security-policy'] ?? ''),
      page.headers?.['content-security-policy'] ?? 'no such header');
    for (const target of ['/', '/app.js', '/missing.js']) {
      const answer = await request(port, target);
      check(`${target} comes with X-Content-Type-Options: nosniff`, answer.headers?.['x-content-type-options'] === 'nosniff',
        `HTTP ${answer.status}, ${answer.headers?.['x-content-type-options'] ?? 'no such header'}`);
    }
    for (const [target, expected] of [['/a%00.html', 400], ['/%E0%A4%A.html', 400], ['/../../etc/passwd', 404],
      ['/..%2f..%2fetc%2fpasswd', 404], ['/index.html/', 404], [`/${'a'.repeat(5000)}.js`, 404]]) {
      const answer = await request(port, target);
      check(`GET ${target.slice(0, 40)} is refused`, answer.status === expected, answer.error ?? `HTTP ${answer.status}, expected ${expected}`);
      await stillUp(`GET ${target.slice(0, 40)}`);
    }
    const unreadable = await request(port, '/unreadable.bin');
    check('a file that cannot be read is an error, not a crash', unreadable.status === 500 || unreadable.error !== undefined,
      unreadable.error ?? `HTTP ${unreadable.status}`);
    await stillUp('a file that cannot be read');
    const post = await request(port, '/', { method: 'POST' });
    check('POST is refused', post.status === 405, post.error ?? `HTTP ${post.status}`);

    // Compressed copies (build.js writes FILE.br and FILE.gz) go to a browser that accepts them.
    for (const [accept, encoding] of [['gzip, deflate, br, zstd', 'br'], ['gzip', 'gzip'], ['br;q=0, gzip', 'gzip'], ['', undefined]]) {
      const answer = await request(port, '/big.js', { headers: accept ? { 'Accept-Encoding': accept } : {} });
      const sent = answer.headers?.['content-encoding'];
      const body = answer.body && (sent === 'br' ? zlib.brotliDecompressSync(answer.body) : sent === 'gzip' ? zlib.gunzipSync(answer.body) : answer.body);
      check(`Accept-Encoding ${JSON.stringify(accept)}: ${encoding ?? 'the file as it is'}`,
        sent === encoding && body?.equals(bigScript) && answer.headers?.vary === 'Accept-Encoding',
        answer.error ?? `HTTP ${answer.status}, ${answer.headers['content-encoding'] ?? 'no encoding'}, ${answer.body.length} bytes for ${bigScript.length}`);
    }
    // What a browser already has is not sent again: its ETag answers 304, one per encoding.
    const first = await request(port, '/big.js', { headers: { 'Accept-Encoding': 'br' } });
    const again = await request(port, '/big.js', { headers: { 'Accept-Encoding': 'br', 'If-None-Match': first.headers.etag } });
    const other = await request(port, '/big.js', { headers: { 'Accept-Encoding': 'gzip', 'If-None-Match': first.headers.etag } });
    check('a file the browser has, by its ETag, is answered 304 and no body', again.status === 304 && again.body.length === 0 && other.status === 200,
      `${first.headers.etag}: HTTP ${again.status} (${again.body?.length} bytes); as gzip HTTP ${other.status}`);
  } finally {
    server.close();
  }

  // --host: on every interface, so a phone on the same network can open the page; the command says where.
  const lan = Object.values(os.networkInterfaces()).flat().find((address) => address.family === 'IPv4' && !address.internal);
  const everywhere = await serve(root, { host: '0.0.0.0' });
  try {
    const target = lan?.address ?? '127.0.0.1';
    const answer = await request(everywhere.address().port, '/', { host: target });
    check(`--host 0.0.0.0 answers on ${target}`, answer.status === 200, answer.error ?? `HTTP ${answer.status}`);
  } finally {
    everywhere.close();
  }
  const said = await serveCommand([root, '--host', '0.0.0.0', '--port', '0'], { quiet: true });
  said.server.close();
  check('the command prints a URL a phone can open, and why the camera needs https there',
    said.lines.some((line) => /http:\/\/\d+\.\d+\.\d+\.\d+:\d+\//.test(line)) && said.lines.some((line) => /https/.test(line)), said.lines.join(' | '));

  // --cert/--key: https, which a phone's browser needs before it opens the camera for a page not on localhost.
  const key = path.join(root, 'key.pem'), cert = path.join(root, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=lstm-digits test',
    '-keyout', key, '-out', cert], { stdio: 'ignore' });
  const secure = await serveCommand([root, '--port', '0', '--cert', cert, '--key', key], { quiet: true });
  try {
    const status = await new Promise((resolve) => {
      https.get({ host: '127.0.0.1', port: secure.server.address().port, path: '/', rejectUnauthorized: false }, (response) => {
        response.resume();
        resolve(response.statusCode);
      }).on('error', (error) => resolve(error.code));
    });
    check('--cert and --key serve https', status === 200, String(status));
  } finally {
    secure.server.close();
  }
  const broken = await serveCommand([root, '--cert', path.join(root, 'none.pem'), '--key', key], { quiet: true });
  check('a missing certificate is one line naming the file', broken.server === null && broken.lines.length === 1 && broken.lines[0].includes('none.pem'),
    broken.lines.join(' | '));
  fs.rmSync(root, { recursive: true, force: true });
}

main().then(
  () => {
    const failed = results.filter((passed) => !passed).length;
    console.log(`server: ${results.length - failed} passed, ${failed} failed`);
    process.exitCode = failed || !results.length ? 1 : 0;
  },
  (error) => {
    console.error(`server: ${error.stack}`);
    process.exitCode = 1;
  },
);
