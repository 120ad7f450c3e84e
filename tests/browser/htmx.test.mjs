// The htmx example page (share/livd/examples/htmx.html) with the real
// htmx.org and htmx-ext-sse from npm: hx-ext="sse", sse-connect and
// sse-swap, no script of livd's. Every shipped verb with id and html
// arguments reaches the element that swaps its id, and the page comes
// back after livd restarts with state_file, missing nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { openExample, startExamples, waitClients } from './lib.mjs';

let livd, browser;
before(async () => {
  ({ livd, browser } = await startExamples('htmx'));
});
after(async () => {
  await browser?.close();
  await livd?.close();
});

const items = (page) => page.$$eval('#messages > li', (lis) => lis.map((li) => li.innerHTML));

test('htmx: every verb with id and html reaches the element that swaps its id', async () => {
  const page = await openExample(browser, livd, 'htmx.html');
  await page.waitForFunction(() => window.htmx !== undefined);
  const verbs = ['append', 'prepend', 'before', 'after', 'update', 'replace'];
  for (const verb of verbs)
    await livd.send('-l', '/board', verb, 'messages', `<li>${verb}</li>`);
  // Not htmx's: no html argument.
  await livd.send('-l', '/board', 'text', 'notice', 'plain');
  await livd.send('-l', '/board', 'remove', 'notice');
  await livd.send('-l', '/board', 'update', 'notice', '<b>news</b>');
  await page.locator('#notice b').waitFor({ timeout: 5000 });
  await page.waitForFunction(() => document.querySelectorAll('#messages > li').length >= 6);
  assert.deepEqual(await items(page), verbs);
  assert.equal(await page.locator('#notice').innerHTML(), '<b>news</b>');
  assert.deepEqual(page.errors, []);
  assert.deepEqual(browser.cdnErrors, []);
  await page.close();
  await waitClients(livd, '/board', 0);
});

test('htmx: the page reconnects after livd restarts with state_file and misses nothing', async () => {
  const page = await openExample(browser, livd, 'htmx.html');
  await livd.send('-l', '/board', 'append', 'messages', '<li>before the restart</li>');
  await page.waitForFunction(() => document.querySelectorAll('#messages > li').length === 1);
  await livd.restart();
  // Sent before the page is back (EventSource retries after 2 s): it
  // must still get it, once.
  assert.deepEqual(await livd.clients('/board'), [], 'a stream is no client to restore');
  await livd.send('-l', '/board', 'append', 'messages', '<li>while away</li>');
  await page.waitForFunction(() => document.querySelectorAll('#messages > li').length === 2,
    null, { timeout: 15000 });
  await waitClients(livd, '/board', 1);
  await livd.send('-l', '/board', 'append', 'messages', '<li>after</li>');
  await page.waitForFunction(() => document.querySelectorAll('#messages > li').length === 3);
  assert.deepEqual(await items(page), ['before the restart', 'while away', 'after']);
  assert.deepEqual(browser.cdnErrors, []);
  await page.close();
});
