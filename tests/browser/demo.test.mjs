// The demo page itself: what livd serves, and how it looks. Saves
// out/demo.png (desktop) and out/demo-phone.png (a phone) for a person to
// look at.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { Livd, launch, openDemo, OUT } from './lib.mjs';

let livd, desktop, phone;
before(async () => {
  livd = await new Livd({ name: 'demo' }).start();
  desktop = await launch({ viewport: { width: 1000, height: 640 } });
  phone = await launch({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2,
    isMobile: true, hasTouch: true });
});
after(async () => {
  await desktop?.close();
  await phone?.close();
  await livd?.close();
});

test('GET /demo/ROOM is the seed page grown into a chat', async () => {
  const r = await fetch(livd.url('/demo/anything/at/all'));
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^text\/html/);
  const html = await r.text();
  assert.match(html, /<p id="target">Text goes here:<\/p>/);
  assert.match(html, /onchange="sendEvent\('append', 'target', this\.value\)/);
  assert.match(html, /<script src="\/livepage\.js"><\/script>/);
  assert.match(html, /<meta name="viewport" content="width=device-width, initial-scale=1">/);
});

test('the demo with two people in a room: screenshots, desktop and phone', async () => {
  const room = '/demo/room';
  const alice = await openDemo(desktop, livd, { room, name: 'alice' });
  const bob = await openDemo(phone, livd, { room, name: 'bob', transport: 'longpoll' });
  const say = async (page, text) => {
    await page.locator('#say input').fill(text);
    await page.locator('#say input').press('Enter');
  };
  await say(alice, 'Hi Bob, can you see this?');
  await bob.locator('#target .line').first().waitFor({ timeout: 2000 });
  await say(bob, 'Yes, it showed up right away.');
  await livd.send('-l', room, 'append', 'target', '<p id="m1"><b>livctl:</b> hello from the shell</p>');
  await say(alice, 'A long line to see how the chat wraps text that does not fit on one line of a narrow phone screen.');
  for (const page of [alice, bob]) {
    await page.locator('#target .line').nth(2).waitFor({ timeout: 2000 });
    await page.waitForFunction(() => document.querySelectorAll('#who li').length === 2,
      null, { timeout: 2000 });
    await page.locator('#say input').blur();
  }
  await alice.screenshot({ path: path.join(OUT, 'demo.png'), fullPage: true });
  await bob.screenshot({ path: path.join(OUT, 'demo-phone.png'), fullPage: true });

  // Readable on a phone: nothing wider than the screen, the input and its
  // button on screen, text no smaller than 16px where one types.
  const layout = await bob.evaluate(() => {
    const rect = (sel) => document.querySelector(sel).getBoundingClientRect().toJSON();
    return {
      scrollWidth: document.documentElement.scrollWidth,
      width: window.innerWidth,
      input: rect('#say input'),
      button: rect('#say button'),
      who: rect('aside'),
      chat: rect('#target'),
      inputFont: parseFloat(getComputedStyle(document.querySelector('#say input')).fontSize),
      bodyFont: parseFloat(getComputedStyle(document.body).fontSize),
    };
  });
  assert.ok(layout.scrollWidth <= layout.width, `page is ${layout.scrollWidth}px wide on a ${layout.width}px phone`);
  assert.ok(layout.button.right <= layout.width && layout.input.left >= 0);
  assert.ok(layout.inputFont >= 16 && layout.bodyFont >= 16);
  assert.ok(layout.who.bottom <= layout.chat.top, 'who is online comes first on a phone');
  assert.deepEqual(alice.errors, []);
  assert.deepEqual(bob.errors, []);
});
