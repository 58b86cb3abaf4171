// The page offline: its service worker (sw.js).

// Once the page works, its service worker (sw.js) keeps its files: the next visit works offline.
// Resolves to true once the worker is active (it has kept every file), false when the browser has
// none or it could not keep them (then the footer says so).
export async function keepForOffline(showStatus) {
  if (!('serviceWorker' in navigator)) return false;
  try {
    const registration = await navigator.serviceWorker.register('sw.js');
    const worker = registration.installing ?? registration.waiting ?? registration.active;
    await new Promise((resolve, reject) => {
      const settle = () => {
        if (worker.state === 'activated') resolve();
        if (worker.state === 'redundant') reject(new Error('not every file could be kept'));
      };
      worker.addEventListener('statechange', settle);
      settle();
    });
  } catch (error) {
    showStatus(`${document.getElementById('status').textContent} (It will not work offline: ${error.message}.)`);
    return false;
  }
  return true;
}
