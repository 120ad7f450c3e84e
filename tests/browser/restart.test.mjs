// Surviving the network: livd restarted under the page, a client livd
// forgot (404), a stream livd ended, and failing requests (backoff with
// jitter). Over both transports where it applies.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Livd, launch, openDemo, newPage, waitLive, sleep, TRANSPORTS } from './lib.mjs';

let livd, browser;
before(async () => {
  livd = await new Livd({ name: 'restart' }).start();
  browser = await launch();
  // Count what livepage.js tells the page, across reloads of the page.
  await browser.addInitScript(() => {
    window.__live = { reconnects: 0, statuses: [] };
    document.addEventListener('live:reconnect', () => window.__live.reconnects++);
    document.addEventListener('live:status', (e) => window.__live.statuses.push(e.detail.status));
  });
});
after(async () => {
  await browser?.close();
  await livd?.close();
});

/* The page's document, uuid and status; null while it is navigating. */
async function pageState(page) {
  try {
    return await page.evaluate(() => ({
      doc: performance.timeOrigin,
      uuid: window.LivePage && LivePage.uuid,
      status: window.LivePage && LivePage.status,
      reconnects: window.__live.reconnects,
    }));
  } catch {
    return null;
  }
}

/*
 * Wait until the page is live with a uuid the (new) livd knows, and stays
 * so (same document, same uuid) for a second: a page that reconnects with
 * a cursor livd has no history for is sent a reload, and it reloads.
 */
async function waitSettled(page, location, timeout = 15000) {
  const deadline = Date.now() + timeout;
  let last = null;
  while (Date.now() < deadline) {
    const s = await pageState(page);
    const known = s && s.status === 'live' &&
      (await livd.clients(location)).some((c) => c.uuid === s.uuid);
    if (known && last && last.doc === s.doc && last.uuid === s.uuid)
      return s;
    last = known ? s : null;
    await sleep(known ? 1000 : 100);
  }
  throw new Error(`page did not settle: ${JSON.stringify(await pageState(page))}`);
}

for (const transport of TRANSPORTS) {
  describe(`restart over ${transport}`, () => {
    test('livd restarted under the page: it comes back by itself and gets the next event', async (t) => {
      const room = `/demo/restart-${transport}`;
      const page = await openDemo(browser, livd, { room, name: 'alice', transport });
      const before = await pageState(page);
      const port = livd.port;
      await livd.restart();
      assert.equal(livd.port, port, 'the new livd listens where the old one did');
      const after = await waitSettled(page, room);
      assert.notEqual(after.uuid, before.uuid);
      t.diagnostic(after.doc === before.doc ? 'the page reconnected' : 'the page reloaded');
      const t0 = Date.now();
      await livd.send('-l', room, 'append', 'target', '<p id="r1">after the restart</p>');
      await page.locator('#r1').waitFor({ timeout: 1000 });
      t.diagnostic(`the next event took ${Date.now() - t0} ms`);
      assert.deepEqual(await livd.who(room), ['alice']);
      assert.equal(await page.locator('#status').textContent(), 'alice');
      await page.close();
    });

    test('livd forgot the client (404): it connects again from its cursor and gets what it missed', async () => {
      const room = `/demo/forgot-${transport}`;
      const page = await openDemo(browser, livd, { room, name: 'bob', transport });
      const before = await pageState(page);
      // Hold the page's next connect until an event was sent in between.
      let held, release;
      const holding = new Promise((resolve) => { held = resolve; });
      const released = new Promise((resolve) => { release = resolve; });
      await page.route('**/connect', async (route) => {
        held();
        await released;
        await route.continue();
      });
      const r = await fetch(livd.url(`/client/${before.uuid}/close`), { method: 'POST' });
      assert.equal(r.status, 200);
      await holding;
      assert.deepEqual(await livd.who(room), []);
      await livd.send('-l', room, 'append', 'target', '<p id="missed">sent while away</p>');
      release();
      await page.locator('#missed').waitFor({ timeout: 3000 });
      const after = await pageState(page);
      assert.equal(after.doc, before.doc, 'no reload: livd handed over what was missed');
      assert.equal(after.reconnects, 1, 'live:reconnect fired once');
      assert.notEqual(after.uuid, before.uuid);
      await waitLive(page);
      assert.deepEqual(await livd.who(room), ['bob']);
      await page.unrouteAll({ behavior: 'ignoreErrors' });
      await page.close();
    });
  });
}

describe('the event stream', () => {
  test('a stream livd ends is resumed with Last-Event-ID; events sent meanwhile arrive once', async () => {
    const room = '/demo/stream';
    const page = await openDemo(browser, livd, { room, name: 'erin' });
    const before = await pageState(page);
    const seq = await page.evaluate(() => LivePage.seq);
    // A long-poll on the same uuid releases the stream (SPEC: a second poll
    // releases the first); abort it at once.
    const ctl = new AbortController();
    const poll = fetch(livd.url(`/client/${before.uuid}/output?since=${seq}`),
      { signal: ctl.signal }).catch(() => {});
    await page.waitForFunction(() => LivePage.status === 'offline', null, { timeout: 2000 });
    ctl.abort();
    await poll;
    await livd.send('-l', room, 'append', 'target', '<p class="meanwhile">one</p>');
    await livd.send('-l', room, 'append', 'target', '<p class="meanwhile">two</p>');
    await page.locator('#target p.meanwhile').nth(1).waitFor({ timeout: 5000 });
    await waitLive(page);
    const after = await pageState(page);
    assert.equal(after.uuid, before.uuid, 'the same client');
    assert.equal(after.doc, before.doc);
    assert.deepEqual(await page.locator('#target p.meanwhile').allTextContents(), ['one', 'two']);
    await page.close();
  });
});

describe('backoff', () => {
  test('failing polls are retried after growing, jittered delays; then events flow again', async () => {
    const room = '/demo/backoff';
    const FAILS = 3;
    const pages = [];
    for (const name of ['fay', 'gus']) {
      const page = await newPage(browser);
      page.times = [];
      page.failing = false;
      await page.route('**/client/*/output*', async (route) => {
        if (page.failing && page.times.length < FAILS + 1) {
          page.times.push(Date.now());
          if (page.times.length <= FAILS) {
            await route.abort('connectionrefused');
            return;
          }
        }
        await route.continue();
      });
      await page.goto(livd.url(`${room}?name=${name}&transport=longpoll`));
      await waitLive(page);
      pages.push(page);
    }
    // The held polls are answered idle within a refresh (1 s); the next ones fail.
    for (const page of pages)
      page.failing = true;
    for (const page of pages)
      await page.waitForFunction(() => LivePage.status === 'live' &&
        window.__live.statuses.includes('offline'), null, { timeout: 10000 });
    await livd.send('-l', room, 'append', 'target', '<p id="back">back</p>');
    for (const page of pages) {
      await page.locator('#back').waitFor({ timeout: 2000 });
      assert.equal(page.times.length, FAILS + 1);
      const gaps = page.times.slice(1).map((t, i) => t - page.times[i]);
      gaps.forEach((gap, k) => {
        const step = 500 * 2 ** k;
        assert.ok(gap >= step / 2 - 50 && gap <= step + 250,
          `retry ${k + 1} after ${gap} ms, not within [${step / 2}, ${step}]: ${gaps}`);
      });
      page.gaps = gaps;
    }
    // Jitter: two pages that failed together did not retry in lockstep.
    assert.ok(pages[0].gaps.some((g, k) => Math.abs(g - pages[1].gaps[k]) > 5),
      `${pages[0].gaps} vs ${pages[1].gaps}`);
    for (const page of pages) {
      await page.unrouteAll({ behavior: 'ignoreErrors' });
      await page.close();
    }
  });
});

describe('back and forward', () => {
  for (const transport of TRANSPORTS) {
    test(`over ${transport}: leaving closes the client; going back makes a live page again`, async () => {
      const room = `/demo/back-${transport}`;
      const page = await openDemo(browser, livd, { room, name: 'hana', transport });
      await page.goto('about:blank');
      for (let i = 0; i < 20 && (await livd.who(room)).length; i++)
        await sleep(100);
      assert.deepEqual(await livd.who(room), [], 'pagehide closed the client');
      await page.goBack();
      await waitLive(page);
      assert.deepEqual(await livd.who(room), ['hana']);
      await livd.send('-l', room, 'append', 'target', '<p id="back-again">back</p>');
      await page.locator('#back-again').waitFor({ timeout: 2000 });
      assert.deepEqual(page.errors, []);
      await page.close();
    });

    // livd sends its pages with Cache-Control: no-store, so chromium never
    // keeps them in its back/forward cache; the events a cached page gets
    // are played to it here.
    test(`over ${transport}: a page back from the back/forward cache connects again from its cursor`, async () => {
      const room = `/demo/bfcache-${transport}`;
      const page = await openDemo(browser, livd, { room, name: 'ivy', transport });
      const before = await pageState(page);
      await page.evaluate(() => window.dispatchEvent(
        new PageTransitionEvent('pagehide', { persisted: true })));
      for (let i = 0; i < 20 && (await livd.who(room)).length; i++)
        await sleep(100);
      assert.deepEqual(await livd.who(room), []);
      assert.equal(await page.evaluate(() => LivePage.status), 'stopped');
      await livd.send('-l', room, 'append', 'target', '<p id="away">sent while away</p>');
      await page.evaluate(() => window.dispatchEvent(
        new PageTransitionEvent('pageshow', { persisted: true })));
      await page.locator('#away').waitFor({ timeout: 3000 });
      await waitLive(page);
      const after = await pageState(page);
      assert.equal(after.doc, before.doc);
      assert.equal(after.reconnects, 1);
      assert.notEqual(after.uuid, before.uuid);
      assert.deepEqual(await livd.who(room), ['ivy']);
      assert.equal((await livd.clients(room)).length, 1, 'one client: the transport runs once');
      await livd.send('-l', room, 'append', 'target', '<p id="again">again</p>');
      await page.locator('#again').waitFor({ timeout: 1000 });
      // the 404 that told the page to connect again
      assert.deepEqual(page.errors.filter((e) => !/status of 404/.test(e)), []);
      await page.close();
    });
  }
});
