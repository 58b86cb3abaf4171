// The service worker: the page and its model work offline once they have loaded. It keeps every
// file of the site (build.js writes their list and the build's version into BUILD below) in a cache
// named after the build, answers from that cache first, and drops the caches of older builds. The
// files listed as lazy (number.onnx) it keeps the first time the page fetches them. A new
// build changes this file, so the browser installs it and fetches the new files; a file the browser
// already holds (HTTP ETag) is not downloaded again.
const BUILD = { version: 'unbuilt', files: [] }; // build.js replaces this line

const CACHE = `lstm-digits-${BUILD.version}`;

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(BUILD.files)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  const older = (name) => name.startsWith('lstm-digits-') && name !== CACHE;
  event.waitUntil(caches.keys()
    .then((names) => Promise.all(names.filter(older).map((name) => caches.delete(name))))
    .then(() => self.clients.claim()));
});

self.addEventListener('fetch', (event) => {
  const { request } = event;
  if (request.method !== 'GET' || new URL(request.url).origin !== self.location.origin) return;
  const lazy = BUILD.lazy?.some((file) => new URL(file, self.registration.scope).pathname === new URL(request.url).pathname);
  event.respondWith(caches.open(CACHE).then(async (cache) => {
    const kept = await cache.match(request, { ignoreSearch: true });
    if (kept) return kept;
    const response = await fetch(request);
    if (lazy && response.ok) await cache.put(request, response.clone());
    return response;
  }));
});
