// The demo over WebSocket, its input on the same socket, and its fallback
// when a proxy in front of livd drops Upgrade (to Server-Sent Events) or
// lets no stream through at all (to the long-poll).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { once } from 'node:events';
import { Livd, launch, newPage, waitLive } from './lib.mjs';

let livd, browser;

/*
 * A proxy to livd that forwards every request, but an upgrade's without
 * its Upgrade and Connection headers, as a proxy that knows nothing of
 * WebSocket does; with refuse, event streams are answered 502 too.
 */
async function proxy(refuse) {
  const forward = (req, res) => {
    const headers = { ...req.headers };
    delete headers.upgrade;
    delete headers.connection;
    const up = http.request({ host: '127.0.0.1', port: livd.port,
      method: req.method, path: req.url, headers }, (r) => {
      res.writeHead(r.statusCode, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  };
  const server = http.createServer((req, res) => {
    if (refuse && req.url.includes('/events')) {
      res.writeHead(502).end();
      return;
    }
    forward(req, res);
  });
  // The upgrade goes to livd as a plain GET; its answer comes back.
  server.on('upgrade', (req, socket) => {
    const res = new http.ServerResponse(req);
    res.assignSocket(socket);
    res.shouldKeepAlive = false;
    forward(req, res);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  server.url = (p) => `http://127.0.0.1:${server.address().port}${p}`;
  return server;
}

before(async () => {
  livd = await new Livd({ name: 'ws' }).start();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await livd?.close();
});

/* Open the demo at url; the page records its sockets and its requests. */
async function open(url) {
  const page = await newPage(browser);
  page.sockets = [];
  page.requested = [];
  page.on('websocket', (ws) => {
    const s = { url: ws.url(), sent: [], received: [] };
    ws.on('framesent', (f) => s.sent.push(f.payload));
    ws.on('framereceived', (f) => s.received.push(f.payload));
    page.sockets.push(s);
  });
  page.on('request', (r) => page.requested.push(`${r.method()} ${r.url()}`));
  await page.goto(url);
  await waitLive(page);
  return page;
}

describe('the demo over WebSocket', () => {
  test('events come as frames and input goes on the same socket', async () => {
    const room = '/demo/ws-input';
    const page = await open(livd.url(`${room}?name=wendy`));
    assert.equal(await page.evaluate(() => LivePage.transport), 'ws');
    assert.equal(page.sockets.length, 1);
    assert.match(page.sockets[0].url, /^ws:\/\/127\.0\.0\.1:\d+\/client\/[0-9a-f]{32}\/ws/);

    await livd.send('-l', room, 'append', 'target', '<p id="w1">from livctl</p>');
    await page.locator('#target #w1').waitFor({ timeout: 1000 });

    // The demo's input box: sendEvent on the socket, no POST /input.
    await page.locator('input[type="text"]').first().fill('typed here');
    await page.locator('input[type="text"]').first().dispatchEvent('change');
    await page.waitForFunction(() => document.getElementById('target')
      .textContent.includes('typed here'), null, { timeout: 2000 });
    assert.ok(page.sockets[0].sent.some((f) => f.includes('"verb":"append"')),
      page.sockets[0].sent.join('\n'));
    assert.ok(!page.requested.some((u) => u.includes('/input')),
      page.requested.join('\n'));

    // A refusal comes back on the socket and rejects the promise.
    const refused = await page.evaluate(() =>
      LivePage.send('update', 'target', 'x').then(() => 'sent', (e) => e.message));
    assert.match(refused, /^livepage: update: .*update/);
    assert.ok(page.sockets[0].received.some((f) => f.includes('"status":403')));
    assert.deepEqual(page.errors, []);
    await page.close();
  });
});

describe('behind a proxy that drops Upgrade', () => {
  test('the page falls back to Server-Sent Events, input by POST', async () => {
    const server = await proxy(false);
    try {
      const room = '/demo/ws-fallback';
      const page = await open(server.url(`${room}?name=fred`));
      assert.equal(await page.evaluate(() => LivePage.transport), 'sse');
      assert.ok(page.requested.some((u) => u.includes('/events')),
        page.requested.join('\n'));
      await livd.send('-l', room, 'append', 'target', '<p id="f1">through</p>');
      await page.locator('#target #f1').waitFor({ timeout: 2000 });
      await page.evaluate(() => LivePage.send('append', 'target', 'posted'));
      await page.waitForFunction(() => document.getElementById('target')
        .textContent.includes('posted'), null, { timeout: 2000 });
      assert.ok(page.requested.some((u) => u.includes('/input')));
      await page.close();
    } finally {
      server.close();
    }
  });

  test('and with no event stream either, to the long-poll', async () => {
    const server = await proxy(true);
    try {
      const room = '/demo/ws-fallback2';
      const page = await open(server.url(`${room}?name=greta`));
      assert.equal(await page.evaluate(() => LivePage.transport), 'longpoll');
      await livd.send('-l', room, 'append', 'target', '<p id="g1">polled</p>');
      await page.locator('#target #g1').waitFor({ timeout: 3000 });
      await page.close();
    } finally {
      server.close();
    }
  });

  test('transport "ws" forced: no fallback, the page keeps trying', async () => {
    const server = await proxy(false);
    try {
      const page = await newPage(browser);
      await page.goto(server.url('/demo/ws-forced?name=hal&transport=ws'));
      await page.waitForFunction(() => window.LivePage && LivePage.uuid, null,
        { timeout: 5000 });
      await new Promise((r) => setTimeout(r, 1500));
      assert.notEqual(await page.evaluate(() => LivePage.status), 'live');
      assert.equal(await page.evaluate(() => LivePage.transport), 'ws');
      await page.close();
    } finally {
      server.close();
    }
  });
});
