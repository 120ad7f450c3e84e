// The Turbo example page (share/livd/examples/turbo.html) with the real
// @hotwired/turbo from npm: <turbo-stream-source> and no script of
// livd's. Every shipped verb with a turbo action reaches the page, and
// the page comes back after livd restarts with state_file, missing
// nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { openExample, startExamples, waitClients } from './lib.mjs';

let livd, browser;
before(async () => {
  ({ livd, browser } = await startExamples('turbo'));
});
after(async () => {
  await browser?.close();
  await livd?.close();
});

const items = (page) => page.$$eval('#messages > li',
  (lis) => lis.map((li) => `${li.id}:${li.innerHTML}`));

test('turbo: every verb with a turbo action reaches a Turbo page', async () => {
  const page = await openExample(browser, livd, 'turbo.html');
  await page.waitForFunction(() => window.Turbo !== undefined);
  await livd.send('-l', '/board', 'append', 'messages', '<li id="m1">one</li>');
  await livd.send('-l', '/board', 'prepend', 'messages', '<li id="m0">zero</li>');
  await livd.send('-l', '/board', 'before', 'm1', '<li id="b1">before</li>');
  await livd.send('-l', '/board', 'after', 'm1', '<li id="a1">after</li>');
  await livd.send('-l', '/board', 'update', 'm1', '<b>one!</b>');
  await livd.send('-l', '/board', 'replace', 'm0', '<li id="z">zero, replaced</li>');
  await livd.send('-l', '/board', 'text', 'title', '<Board> & "co"');
  await livd.send('-l', '/board', 'attr', 'title', 'class', 'big');	// not Turbo's
  await livd.send('-l', '/board', 'remove', 'a1');
  await livd.send('-l', '/board', 'append', 'messages', '<li id="end">end</li>');
  await page.locator('#end').waitFor({ timeout: 5000 });
  assert.deepEqual(await items(page), ['z:zero, replaced', 'b1:before',
    'm1:<b>one!</b>', 'end:end']);
  assert.equal(await page.locator('#title').textContent(), '<Board> & "co"');
  assert.equal(await page.locator('#title').getAttribute('class'), null);
  assert.deepEqual(page.errors, []);
  assert.deepEqual(browser.cdnErrors, []);
  await page.close();
  await waitClients(livd, '/board', 0);
});

test('turbo: the page reconnects after livd restarts with state_file and misses nothing', async () => {
  const page = await openExample(browser, livd, 'turbo.html');
  await livd.send('-l', '/board', 'append', 'messages', '<li id="r1">before the restart</li>');
  await page.locator('#r1').waitFor({ timeout: 5000 });
  const port = livd.port;
  await livd.restart();
  assert.equal(livd.port, port);
  // Sent before the page is back (EventSource retries after 2 s): it
  // must still get it, once.
  assert.deepEqual(await livd.clients('/board'), [], 'a stream is no client to restore');
  await livd.send('-l', '/board', 'append', 'messages', '<li id="r2">while away</li>');
  await page.locator('#r2').waitFor({ timeout: 15000 });
  await waitClients(livd, '/board', 1);
  await livd.send('-l', '/board', 'append', 'messages', '<li id="r3">after</li>');
  await page.locator('#r3').waitFor({ timeout: 5000 });
  assert.deepEqual(await items(page), ['r1:before the restart', 'r2:while away',
    'r3:after']);
  assert.deepEqual(browser.cdnErrors, []);
  await page.close();
});
