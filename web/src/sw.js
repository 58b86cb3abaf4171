// The service worker: the page and its model work offline once they have loaded. It keeps every
// file of the site (build.js writes their list and the build's version into BUILD below) in a cache
// named after the build, answers from that cache first, and drops the caches of older builds. A new
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
  event.respondWith(caches.open(CACHE)
    .then((cache) => cache.match(request, { ignoreSearch: true }))
    .then((kept) => kept ?? fetch(request)));
});
