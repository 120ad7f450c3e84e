// examples/board, as its users run it: livd with the example's livd.yaml
// (ports and paths moved to this test's) and the Flask application, both
// started here. Two users log in with the app's own form (two browsers,
// two cookie jars); one posts and both see it; an empty post shows the
// application's reason; one closes the tab and the other sees them leave
// "Online now"; the clock comes through POST /api.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Livd, ROOT, OUT, launch, newPage, waitLive, sleep } from './lib.mjs';

const EXAMPLE = path.join(ROOT, 'examples/board');
let livd, app, appUrl, alice, bob, alicePage, bobPage;

async function freePort() {
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = server.address().port;
  server.close();
  await once(server, 'close');
  return port;
}

/* The example's livd.yaml, pointed at this test's app, secret and verbs. */
function config(appPort, dir) {
  const text = fs.readFileSync(path.join(EXAMPLE, 'livd.yaml'), 'utf8');
  const out = text
    .replaceAll('http://127.0.0.1:5080', `http://127.0.0.1:${appPort}`)
    .replace(/^secret_file: var\/secret/m, `secret_file: ${dir}/secret`)
    .replace(/^verbs: verbs.yaml/m, `verbs: ${EXAMPLE}/verbs.yaml`)
    .replace(/^(listen|socket|refresh):.*\n/gm, '');
  assert.ok(out.includes(`${appPort}/livd/input`) && out.includes(dir), out);
  return out;
}

async function startApp(port) {
  const log = fs.openSync(path.join(OUT, `board-app-${process.pid}.log`), 'w');
  const proc = spawn('/usr/bin/python3', [path.join(EXAMPLE, 'app.py')], {
    env: { ...process.env, BOARD_PORT: String(port), BOARD_LIVD: livd.base,
      BOARD_SECRET: path.join(livd.dir, 'secret'),
      BOARD_DB: path.join(livd.dir, 'board.db') },
    stdio: ['ignore', log, log],
  });
  fs.closeSync(log);
  proc.exited = once(proc, 'exit');
  const deadline = Date.now() + 15000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null)
      throw new Error(`app.py exited ${proc.exitCode}`);
    try {
      if ((await fetch(`http://127.0.0.1:${port}/login`)).ok)
        return proc;
    } catch {
      // not listening yet
    }
    await sleep(50);
  }
  throw new Error('app.py did not answer');
}

/* Log in with the app's form; the board page, live. */
async function logIn(context, name) {
  const page = await newPage(context);
  await page.goto(`${appUrl}/`);
  assert.match(page.url(), /\/login$/);
  await page.fill('input[name=name]', name);
  await Promise.all([page.waitForURL(`${appUrl}/`), page.click('button')]);
  await waitLive(page);
  return page;
}

const online = (page) => page.$$eval('#online li', (li) => li.map((e) => e.textContent));

async function waitOnline(page, names) {
  await page.waitForFunction((want) => JSON.stringify(
    [...document.querySelectorAll('#online li')].map((e) => e.textContent)) === want,
  JSON.stringify(names), { timeout: 5000 });
}

before(async () => {
  const appPort = await freePort();
  appUrl = `http://127.0.0.1:${appPort}`;
  livd = new Livd({ name: 'board' });
  fs.writeFileSync(path.join(livd.dir, 'secret'),
    Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64') + '\n',
    { mode: 0o600 });
  livd.config = config(appPort, livd.dir);
  await livd.start();
  app = await startApp(appPort);
  alice = await launch();
  bob = await launch();
  alicePage = await logIn(alice, 'alice');
  bobPage = await logIn(bob, 'bob');
});

after(async () => {
  await alice?.close();
  await bob?.close();
  if (app && app.exitCode === null) {
    app.kill('SIGTERM');
    await app.exited;
  }
  await livd?.close();
});

test('the connect hook names each page from its session cookie; both are online', async () => {
  assert.equal(await alicePage.evaluate(() => LivePage.principal), 'alice');
  assert.equal(await bobPage.evaluate(() => LivePage.principal), 'bob');
  assert.deepEqual((await livd.clients('/board')).map((c) => c.principal).sort(),
    ['alice', 'bob']);
  for (const page of [alicePage, bobPage])
    await waitOnline(page, ['alice', 'bob']);
  // No cookie, no page: the application's 401.
  const r = await fetch(livd.url('/connect'), { method: 'POST',
    body: new URLSearchParams({ location: '/board' }) });
  assert.equal(r.status, 401);
});

test('a post reaches both boards, stored and escaped by the application', async () => {
  await alicePage.fill('#text', 'hello <b>bob</b>');
  await alicePage.click('#post button');
  for (const page of [alicePage, bobPage])
    await page.locator('#messages li', { hasText: 'hello <b>bob</b>' })
      .waitFor({ timeout: 5000 });
  assert.equal(await alicePage.inputValue('#text'), '');
  assert.equal(await bobPage.locator('#messages li b').last().textContent(), 'alice');
  assert.equal(await bobPage.locator('#messages b', { hasText: 'bob' }).count(), 0);
  // The application stored it: a page loaded now renders it.
  const again = await newPage(bob);
  await again.goto(`${appUrl}/`);
  assert.match(await again.locator('#messages').textContent(), /hello <b>bob<\/b>/);
  await again.close();
  await waitOnline(alicePage, ['alice', 'bob']);
});

test('an empty or over-long post shows the application\'s reason, and nobody gets it', async () => {
  const before = await bobPage.locator('#messages li').count();
  await alicePage.fill('#text', '   ');
  await alicePage.click('#post button');
  await alicePage.waitForFunction(() =>
    document.getElementById('error').textContent === 'write something first',
  null, { timeout: 5000 });
  const refused = await alicePage.evaluate(() => LivePage.send('post', 'x'.repeat(300))
    .then(() => null, (e) => ({ status: e.status, reason: e.reason })));
  assert.deepEqual(refused, { status: 400,
    reason: 'a message has at most 280 characters (this one has 300)' });
  // A good post clears the error and arrives after nothing else.
  await alicePage.fill('#text', 'second');
  await alicePage.click('#post button');
  await bobPage.locator('#messages li', { hasText: 'second' }).waitFor({ timeout: 5000 });
  assert.equal(await bobPage.locator('#messages li').count(), before + 1);
  assert.equal(await alicePage.locator('#error').textContent(), '');
});

test('the clock and the count come every second through POST /api', async () => {
  const first = await bobPage.locator('#clock').textContent();
  await bobPage.waitForFunction((t) => {
    const now = document.getElementById('clock').textContent;
    return /^\d\d:\d\d:\d\d$/.test(now) && now !== t;
  }, first, { timeout: 5000 });
  await bobPage.waitForFunction(() =>
    document.getElementById('count').textContent === '2 messages', null, { timeout: 5000 });
});

test('closing a tab: the other sees them leave "Online now"', async () => {
  await waitOnline(alicePage, ['alice', 'bob']);
  assert.deepEqual(bobPage.errors, []);
  await bobPage.close();
  await waitOnline(alicePage, ['alice']);
  assert.deepEqual(await online(alicePage), ['alice']);
  assert.deepEqual(await livd.who('/board'), ['alice']);
  assert.deepEqual(alicePage.errors, []);
});
