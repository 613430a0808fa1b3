// A loopback stand-in for a Voyado Elevate cluster: records every request
// and answers 204 (or what `answer` returns).
import { createServer } from 'node:http';

export async function startCluster(answer = () => 204) {
  const requests = [];
  const waiters = [];
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url, 'http://cluster');
      const r = { method: req.method, path: url.pathname, query: Object.fromEntries(url.searchParams), rawQuery: url.search,
        headers: req.headers, rawHeaders: req.rawHeaders, body: Buffer.concat(chunks).toString('utf8') };
      requests.push(r);
      res.statusCode = answer(r);
      res.end();
      for (const w of waiters.splice(0)) w();
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: server.address().port,
    requests,
    /** Resolves once n requests arrived (or rejects after ms). */
    async waitFor(n, ms = 10000) {
      const deadline = Date.now() + ms;
      while (requests.length < n) {
        if (Date.now() > deadline) throw new Error(`cluster got ${requests.length} of ${n} requests`);
        await new Promise((r) => { waiters.push(r); setTimeout(r, 100); });
      }
    },
    close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(r); }),
  };
}
