// A page served from one origin (http://localhost:P, a small static
// server here) with livd on another (http://127.0.0.1:L), allowed_origins
// naming the page's: it connects, receives over WebSocket, SSE and
// long-poll, sends input, and its preflights pass. A page of an origin
// not listed gets nowhere.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import { once } from 'node:events';
import { Livd, launch, newPage, waitLive, sleep } from './lib.mjs';

let livd, context, app, other;

/* A static server of one page that uses livd at base; listens on every
 * address, so that http://localhost:PORT/ reaches it. */
async function pageServer() {
  const server = http.createServer((req, res) => {
    const html = `<!doctype html><meta charset="utf-8"><title>app</title>
<p id="target"></p>
<script src="${livd.base}/livepage.js"></script>
<script>
const q = new URLSearchParams(location.search);
LivePage.start({base: ${JSON.stringify(livd.base)}, location: "/app",
  principal: q.get("name"), transport: q.get("transport") || "auto"});
</script>`;
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(html);
  });
  server.listen(0);
  await once(server, 'listening');
  server.origin = `http://localhost:${server.address().port}`;
  return server;
}

before(async () => {
  // livd's port is known once it runs, the page's before: start livd on
  // a placeholder config, then restart it with the page's origin.
  livd = new Livd({ name: 'cors' });
  await livd.start();
  app = await pageServer();
  other = await pageServer();
  livd.config = `allowed_origins: [${app.origin}]\nlog_level: debug\n`;
  await livd.restart();
  context = await launch();
});
after(async () => {
  await context?.close();
  app?.close();
  other?.close();
  await livd?.close();
});

/* Open the app page as name over transport; the URLs it asked for. */
async function openApp(server, name, transport) {
  const page = await newPage(context);
  page.requested = [];
  page.on('request', (r) => page.requested.push(`${r.method()} ${r.url()}`));
  await page.goto(`${server.origin}/?name=${name}&transport=${transport}`);
  return page;
}

for (const [transport, route] of [['sse', '/events'], ['longpoll', '/output']]) {
  test(`a page of an allowed origin connects, receives (${route}) and posts`, async () => {
    const name = `p${transport}`;
    const page = await openApp(app, name, transport);
    await waitLive(page);
    assert.ok(page.requested.some((u) => u.includes(route)),
      `no ${route} in ${page.requested.join('\n')}`);
    // From livctl to the page, over the transport.
    await livd.send('-l', '/app', 'append', 'target', `<b id="ctl-${name}">hi</b>`);
    await page.locator(`#ctl-${name}`).waitFor({ timeout: 3000 });
    // From the page, with its credentials, and back to it (as text:
    // livd escapes what a browser sends).
    await page.evaluate((n) => LivePage.send('append', 'target', `said by ${n}`),
      name);
    await page.waitForFunction((n) => document.getElementById('target')
      .textContent.includes(`said by ${n}`), name, { timeout: 3000 });
    assert.deepEqual(page.errors, []);
    await page.close();
  });
}

test('a page of an allowed origin runs over a WebSocket to livd\'s origin', async () => {
  const page = await newPage(context);
  const sockets = [];
  page.on('websocket', (ws) => sockets.push(ws.url()));
  await page.goto(`${app.origin}/?name=pws&transport=auto`);
  await waitLive(page);
  assert.equal(await page.evaluate(() => LivePage.transport), 'ws');
  assert.ok(sockets.length > 0 && sockets.every((u) =>
    u.startsWith(`ws://127.0.0.1:${livd.port}/client/`)), sockets.join('\n'));
  await livd.send('-l', '/app', 'append', 'target', '<b id="ctl-pws">hi</b>');
  await page.locator('#ctl-pws').waitFor({ timeout: 3000 });
  await page.evaluate(() => LivePage.send('append', 'target', 'said by pws'));
  await page.waitForFunction(() => document.getElementById('target')
    .textContent.includes('said by pws'), null, { timeout: 3000 });
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('a request that needs a preflight passes it', async () => {
  const page = await openApp(app, 'zed', 'auto');
  await waitLive(page);
  // Authorization is no simple header: the browser asks first.
  const status = await page.evaluate(async (base) => {
    const r = await fetch(`${base}/connect`, {
      method: 'POST', mode: 'cors', credentials: 'include',
      headers: { Authorization: 'Bearer none',
        'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'location=/app&principal=pre',
    });
    return r.status;
  }, livd.base);
  assert.equal(status, 200);
  assert.match(fs.readFileSync(livd.logPath, 'utf8'), /debug: OPTIONS \/connect/);
  assert.ok((await livd.clients('/app')).some((c) => c.principal === 'pre'));
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('a page of another origin does not get through', async () => {
  const page = await openApp(other, 'eve', 'auto');
  await sleep(2000);
  assert.notEqual(await page.evaluate(() => LivePage.status), 'live');
  assert.ok(!(await livd.clients('/app')).some((c) => c.principal === 'eve'));
  // The browser itself refuses the answer: no CORS header for it.
  const error = await page.evaluate(async (base) => {
    try {
      await fetch(`${base}/verbs.json`, { mode: 'cors' });
      return 'read';
    } catch (e) {
      return e.name;
    }
  }, livd.base);
  assert.equal(error, 'TypeError');
  await page.close();
});
