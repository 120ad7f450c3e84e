// The demo as a chat: two pages in one room, over both transports. Typing
// into one appears in the other; livctl who and the who-is-online list
// show both; closing a page (sendBeacon to /close) removes it.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Livd, launch, openDemo, sync, sleep, TRANSPORTS } from './lib.mjs';

let livd, browser;
before(async () => {
  livd = await new Livd({ name: 'chat' }).start();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await livd?.close();
});

const whoList = (page) => page.locator('#who li').allTextContents();

for (const transport of TRANSPORTS) {
  describe(`chat over ${transport}`, () => {
    const room = `/demo/chat-${transport}`;
    let alice, bob;

    before(async () => {
      alice = await openDemo(browser, livd, { room, name: 'alice', transport });
      bob = await openDemo(browser, livd, { room, name: 'bob', transport });
    });
    after(async () => {
      for (const page of [alice, bob])
        if (!page.isClosed())
          await page.close();
    });

    test('typing into one page (fill + Enter) appears in the other', async () => {
      const input = alice.locator('#say input');
      await input.fill('hello from alice');
      await input.press('Enter');
      await bob.locator('#target', { hasText: 'hello from alice' }).waitFor({ timeout: 2000 });
      // The sender sees it too (scope: location), and the input is cleared.
      await alice.locator('#target', { hasText: 'hello from alice' }).waitFor({ timeout: 2000 });
      assert.equal(await input.inputValue(), '');
      // Each line is its own element.
      assert.deepEqual(await bob.locator('#target .line').allTextContents(), ['hello from alice']);
    });

    test('the Send button sends; typed HTML arrives as text', async () => {
      await bob.locator('#say input').fill('<b>bold?</b> & <img src=x onerror=alert(1)>');
      await bob.locator('#say button').click();
      await alice.locator('#target .line', { hasText: '<b>bold?</b>' }).waitFor({ timeout: 2000 });
      assert.equal(await alice.locator('#target b, #target img').count(), 0);
      assert.deepEqual(await alice.locator('#target .line').allTextContents(),
        ['hello from alice', '<b>bold?</b> & <img src=x onerror=alert(1)>']);
    });

    test('livctl who and the who-is-online list show both principals', async () => {
      assert.deepEqual(await livd.who(room), ['alice', 'bob']);
      for (const page of [alice, bob]) {
        await page.waitForFunction(() => document.querySelectorAll('#who li').length === 2,
          null, { timeout: 2000 });
        assert.deepEqual(await whoList(page), ['alice', 'bob']);
      }
      assert.equal(await alice.locator('#who li.me').textContent(), 'alice');
      assert.equal(await bob.locator('#who li.me').textContent(), 'bob');
      assert.equal(await alice.locator('#status').textContent(), 'alice');
    });

    test('a second page of the same principal: closing it keeps the principal online', async () => {
      const alice2 = await openDemo(browser, livd, { room, name: 'alice', transport });
      assert.deepEqual(await livd.who(room), ['alice', 'bob']);
      assert.equal((await livd.clients(room)).length, 3);
      await alice2.close();
      for (let i = 0; i < 20 && (await livd.clients(room)).length > 2; i++)
        await sleep(100);
      assert.equal((await livd.clients(room)).length, 2);
      await sync(bob, livd, room);
      assert.deepEqual(await whoList(bob), ['alice', 'bob']);
    });

    test('closing a page removes it from livctl who and from the list', async () => {
      const t0 = Date.now();
      await bob.close();
      await alice.waitForFunction(() => document.querySelectorAll('#who li').length === 1,
        null, { timeout: 3000 });
      assert.deepEqual(await whoList(alice), ['alice']);
      // sendBeacon, not the presence timeout (2 × refresh + 5 s = 7 s)
      assert.ok(Date.now() - t0 < 3000);
      assert.deepEqual(await livd.who(room), ['alice']);
      // alice still receives
      await livd.send('-l', room, 'append', 'target', '<p id="after-bob">still here</p>');
      await alice.locator('#after-bob').waitFor({ timeout: 1000 });
      assert.deepEqual(alice.errors, []);
    });
  });
}

describe('presence across transports', () => {
  test('an SSE page and a long-poll page in one room see each other', async () => {
    const room = '/demo/mixed';
    const carol = await openDemo(browser, livd, { room, name: 'carol' });
    const dave = await openDemo(browser, livd, { room, name: 'dave', transport: 'longpoll' });
    await carol.waitForFunction(() => document.querySelectorAll('#who li').length === 2,
      null, { timeout: 2000 });
    await dave.locator('#say input').fill('from the long-poll');
    await dave.locator('#say input').press('Enter');
    await carol.locator('#target .line', { hasText: 'from the long-poll' }).waitFor({ timeout: 2000 });
    await carol.locator('#say input').fill('from the stream');
    await carol.locator('#say input').press('Enter');
    await dave.locator('#target .line', { hasText: 'from the stream' }).waitFor({ timeout: 2000 });
    await carol.close();
    await dave.waitForFunction(() => document.querySelectorAll('#who li').length === 1,
      null, { timeout: 3000 });
    assert.deepEqual(await livd.who(room), ['dave']);
    await dave.close();
    // The last page gone: nobody is online there.
    for (let i = 0; i < 20 && (await livd.who(room)).length; i++)
      await sleep(100);
    assert.deepEqual(await livd.who(room), []);
  });
});
