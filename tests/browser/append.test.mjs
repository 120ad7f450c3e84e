// The first test: an event sent with livctl shows in the page
// within a second; sent twice, it appears once. Over every transport.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Livd, launch, openDemo, newPage, waitLive, sync, TRANSPORTS } from './lib.mjs';

let livd, browser;
before(async () => {
  livd = await new Livd({ name: 'append' }).start();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await livd?.close();
});

for (const transport of TRANSPORTS) {
  describe(`append over ${transport}`, () => {
    test('livctl send shows in the page within a second, once when sent twice', async () => {
      const room = `/demo/append-${transport}`;
      const page = await openDemo(browser, livd, { room, name: 'alice', transport });
      assert.equal(await page.evaluate(() => LivePage.transport), transport);

      const t0 = Date.now();
      await livd.send('-l', room, 'append', 'target', '<p id="m1">hi</p>');
      await page.locator('#target #m1').waitFor({ timeout: 1000 });
      const took = Date.now() - t0;
      assert.ok(took < 1000, `took ${took} ms`);
      assert.equal(await page.locator('#m1').textContent(), 'hi');

      await livd.send('-l', room, 'append', 'target', '<p id="m1">hi</p>');
      await sync(page, livd, room);
      assert.equal(await page.locator('[id="m1"]').count(), 1);

      // The same id with new content replaces the element in place.
      await livd.send('-l', room, 'append', 'target', '<p id="m2">two</p>');
      await livd.send('-l', room, 'append', 'target', '<p id="m1">hi again</p>');
      await sync(page, livd, room);
      assert.deepEqual(await page.locator('#target > p').allTextContents(),
        ['hi again', 'two']);

      // Without an id, the same HTML twice is two lines: dedupe is by id.
      await livd.send('-l', room, 'append', 'target', '<p class="plain">x</p>');
      await livd.send('-l', room, 'append', 'target', '<p class="plain">x</p>');
      await sync(page, livd, room);
      assert.equal(await page.locator('#target p.plain').count(), 2);

      assert.deepEqual(page.errors, []);
      await page.close();
    });
  });
}

describe('a browser without WebSocket or EventSource', () => {
  test('falls back to the long-poll by itself', async () => {
    const room = '/demo/append-noes';
    const page = await newPage(browser);
    await page.addInitScript(() => {
      delete window.WebSocket;
      delete window.EventSource;
    });
    await page.goto(livd.url(`${room}?name=old`));
    await waitLive(page);
    assert.equal(await page.evaluate(() => LivePage.transport), 'longpoll');
    await livd.send('-l', room, 'append', 'target', '<p id="m1">hi</p>');
    await page.locator('#target #m1').waitFor({ timeout: 1000 });
    assert.deepEqual(page.errors, []);
    await page.close();
  });
});
