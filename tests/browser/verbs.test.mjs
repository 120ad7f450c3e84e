// Every dom rule and dedupe rule of the verbs file, a custom verb with and
// without dom, and livd's coalescing, over every transport. livd runs with
// a copy of the shipped verbs file plus custom verbs (-V).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { Livd, launch, openDemo, newPage, waitLive, sync, watch, mutations,
  verbsFile, TRANSPORTS } from './lib.mjs';

const CUSTOM = `
# Custom verbs for the browser tests.
ping:
  summary: no dom, so pages get a live:ping CustomEvent
  args: [word, count]

shout:
  summary: like append, but without dedupe
  args: [id, html]
  dom: beforeend

fill:
  summary: like update, but without dedupe or coalescing
  args: [id, html]
  dom: inner

stamp:
  summary: prepend, skipped when the same nodes are already first
  args: [id, html]
  dom: afterbegin
  dedupe: content

paint:
  summary: attr without dedupe
  args: [id, name, value]
  dom: attr
`;

// Elements for the events to work on, added to every page before its
// scripts run.
const FIXTURE = `
<div id="box">start</div>
<div id="wrap2"><div id="box2">old</div></div>
<div id="box3">going</div>
<p id="t1">text</p>
<ul id="list"><li id="first">first</li></ul>
<ul id="list2"></ul>
<div id="box4"></div>
<div id="log"></div>
<div id="cbox">c0</div><p id="ctext">t0</p><div id="clog"></div>
<div id="target2"></div>
`;

let livd, browser;
before(async () => {
  livd = await new Livd({ name: 'verbs', verbs: verbsFile(CUSTOM) }).start();
  browser = await launch();
  await browser.addInitScript((html) => {
    document.addEventListener('DOMContentLoaded', () => {
      const div = document.createElement('div');
      div.id = 'fixture';
      div.innerHTML = html;
      document.body.appendChild(div);
    });
  }, FIXTURE);
});
after(async () => {
  await browser?.close();
  await livd?.close();
});

for (const transport of TRANSPORTS) {
  describe(`verbs over ${transport}`, () => {
    let page, room;
    const send = (...args) => livd.send('-l', room, ...args);
    const html = (sel) => page.locator(sel).evaluate((el) => el.innerHTML);

    before(async () => {
      room = `/demo/verbs-${transport}`;
      page = await openDemo(browser, livd, { room, name: 'vera', transport });
    });
    after(async () => {
      assert.deepEqual(page.errors, []);
      await page.close();
    });

    test('the page has the verbs file, custom verbs and dedupe rules included', async () => {
      const verbs = await page.evaluate(() => LivePage.verbs);
      assert.equal(verbs.update.dedupe, 'content');
      assert.equal(verbs.append.dedupe, 'id');
      assert.deepEqual(verbs.ping.args, ['word', 'count']);
      assert.equal(verbs.ping.dom, undefined);
    });

    test('update sets innerHTML; the same content again changes nothing', async () => {
      await send('update', 'box', '<b class="x">one</b>');
      await sync(page, livd, room);
      assert.equal(await html('#box'), '<b class="x">one</b>');
      await watch(page, 'box');
      // Equal once parsed, though not the same string.
      await send('update', 'box', "<b class='x' >one</b>");
      await send('update', 'box', '<b class="x">one</b>');
      await sync(page, livd, room);
      assert.equal(await mutations(page, 'box'), 0);
      await send('update', 'box', '<i>two</i>');
      await sync(page, livd, room);
      assert.equal(await html('#box'), '<i>two</i>');
      assert.ok(await mutations(page, 'box') > 0);
    });

    test('replace sets outerHTML; the same element again changes nothing', async () => {
      await send('replace', 'box2', '<div id="box2" class="new">new</div>');
      await sync(page, livd, room);
      assert.equal(await html('#wrap2'), '<div id="box2" class="new">new</div>');
      await watch(page, 'wrap2');
      await send('replace', 'box2', '<div class="new" id="box2">new</div>');
      await sync(page, livd, room);
      assert.equal(await mutations(page, 'wrap2'), 0);
    });

    test('text sets textContent, never HTML; the same text again changes nothing', async () => {
      await send('text', 't1', '<i>not html</i> & more');
      await sync(page, livd, room);
      assert.equal(await page.locator('#t1').textContent(), '<i>not html</i> & more');
      assert.equal(await page.locator('#t1 i').count(), 0);
      await watch(page, 't1');
      await send('text', 't1', '<i>not html</i> & more');
      await sync(page, livd, room);
      assert.equal(await mutations(page, 't1'), 0);
    });

    test('attr sets an attribute; the same value again changes nothing', async () => {
      await send('attr', 'box', 'title', 'hello');
      await sync(page, livd, room);
      assert.equal(await page.locator('#box').getAttribute('title'), 'hello');
      await watch(page, 'box');
      await send('attr', 'box', 'title', 'hello');
      await sync(page, livd, room);
      assert.equal(await mutations(page, 'box'), 0);
      await send('attr', 'box', 'data-x', '1');
      await sync(page, livd, room);
      assert.equal(await page.locator('#box').getAttribute('data-x'), '1');
    });

    test('remove removes the element; again it is a no-op', async () => {
      await send('remove', 'box3');
      await sync(page, livd, room);
      assert.equal(await page.locator('#box3').count(), 0);
      await send('remove', 'box3');
      await sync(page, livd, room);
      assert.equal(await page.locator('#box3').count(), 0);
    });

    test('prepend, before, after: an id already in the page is not inserted twice', async () => {
      for (let i = 0; i < 2; i++) {
        await send('prepend', 'list', '<li id="p1">p1</li>');
        await send('before', 'list', '<p id="b1">b1</p>');
        await send('after', 'list', '<p id="a1">a1</p>');
      }
      await sync(page, livd, room);
      assert.deepEqual(await page.locator('#list li').allTextContents(), ['p1', 'first']);
      assert.equal(await page.locator('[id="b1"]').count(), 1);
      assert.equal(await page.locator('[id="a1"]').count(), 1);
      assert.equal(await page.locator('#list').evaluate((l) => l.previousElementSibling.id), 'b1');
      assert.equal(await page.locator('#list').evaluate((l) => l.nextElementSibling.id), 'a1');
    });

    test('a custom verb without dom arrives as a live:VERB CustomEvent', async () => {
      await page.evaluate(() => {
        window.__pings = [];
        document.addEventListener('live:ping', (e) => window.__pings.push(e.detail));
      });
      await send('ping', 'hello', '3');
      await page.waitForFunction(() => window.__pings.length === 1, null, { timeout: 2000 });
      const [detail] = await page.evaluate(() => window.__pings);
      assert.equal(detail.verb, 'ping');
      assert.equal(detail.word, 'hello');
      assert.equal(detail.count, '3');
      assert.equal(typeof detail.seq, 'number');
    });

    test('custom verbs with dom rules need no JavaScript; dedupe is what their entry says', async () => {
      // shout: beforeend without dedupe inserts the same id twice.
      await send('shout', 'list2', '<li id="s1">s</li>');
      await send('shout', 'list2', '<li id="s1">s</li>');
      // stamp: afterbegin with dedupe content skips the same nodes.
      await send('stamp', 'log', '<i>s</i>');
      await send('stamp', 'log', '<i>s</i>');
      await send('stamp', 'log', '<b>t</b>');
      await sync(page, livd, room);
      assert.equal(await page.locator('#list2 li').count(), 2);
      assert.equal(await html('#log'), '<b>t</b><i>s</i>');
      // fill: inner without dedupe changes the page even when equal.
      await send('fill', 'box4', '<b>z</b>');
      await sync(page, livd, room);
      await watch(page, 'box4');
      await send('fill', 'box4', '<b>z</b>');
      await sync(page, livd, room);
      assert.ok(await mutations(page, 'box4') > 0);
      // paint: attr without dedupe sets the same value again.
      await send('paint', 'box4', 'data-color', 'red');
      await sync(page, livd, room);
      assert.equal(await page.locator('#box4').getAttribute('data-color'), 'red');
      await watch(page, 'box4');
      await send('paint', 'box4', 'data-color', 'red');
      await sync(page, livd, room);
      assert.ok(await mutations(page, 'box4') > 0);
    });
  });

  describe(`coalescing over ${transport}`, () => {
    test('queued update/text events for one id reach a slow page as the newest only', async () => {
      const room = `/demo/coalesce-${transport}`;
      const page = await newPage(browser);
      // Hold the page's first socket, events or output request in the browser until
      // the events below are queued in livd.
      const stream = transport === 'sse' ? '**/client/*/events*' : '**/client/*/output*';
      let held, release;
      const holding = new Promise((resolve) => { held = resolve; });
      const released = new Promise((resolve) => { release = resolve; });
      if (transport === 'ws')
        await page.routeWebSocket('**/client/*/ws*', async (ws) => {
          held();
          await released;
          ws.connectToServer();
        });
      else
        await page.route(stream, async (route) => {
          held();
          await released;
          await route.continue();
        });
      await page.goto(livd.url(`${room}?name=slow&transport=${transport}`));
      await holding;
      await watch(page, 'cbox');
      await watch(page, 'ctext');
      await watch(page, 'clog');
      for (const v of ['c1', 'c2', 'c3'])
        await livd.send('-l', room, 'update', 'cbox', v);
      await livd.send('-l', room, 'text', 'ctext', 't1');
      await livd.send('-l', room, 'text', 'ctext', 't2');
      await livd.send('-l', room, 'append', 'clog', '<p>1</p>');
      await livd.send('-l', room, 'append', 'clog', '<p>2</p>');
      release();
      await waitLive(page);
      await sync(page, livd, room);
      assert.equal(await page.locator('#cbox').textContent(), 'c3');
      assert.equal(await page.locator('#ctext').textContent(), 't2');
      assert.equal(await mutations(page, 'cbox'), 1, 'cbox changed once');
      assert.equal(await mutations(page, 'ctext'), 1, 'ctext changed once');
      assert.equal(await page.locator('#clog p').count(), 2, 'append is not coalesced');
      assert.deepEqual(page.errors, []);
      await page.close();
    });
  });
}

describe('replays', () => {
  test('an answer delivered twice is applied once (seq dedupe, long-poll)', async () => {
    const room = '/demo/replay';
    const page = await newPage(browser);
    let armed = false, saved = null;
    await page.route('**/client/*/output*', async (route) => {
      if (saved) {
        const body = saved;
        saved = null;
        await route.fulfill({ status: 200, contentType: 'application/json', body });
        return;
      }
      const response = await route.fetch();
      const body = await response.text();
      if (armed && JSON.parse(body).events.length) {
        armed = false;
        saved = body;
      }
      await route.fulfill({ response, body });
    });
    await page.goto(livd.url(`${room}?name=rita&transport=longpoll`));
    await waitLive(page);
    armed = true;
    await livd.send('-l', room, 'append', 'target2', '<p class="r">r</p>');
    await sync(page, livd, room);
    assert.equal(saved, null, 'the answer was replayed');
    assert.equal(await page.locator('#target2 p.r').count(), 1);
    assert.deepEqual(page.errors, []);
    await page.unrouteAll({ behavior: 'ignoreErrors' });
    await page.close();
  });

  test('an answer lost on the wire is sent again by livd and applied once', async () => {
    const room = '/demo/lost';
    const page = await newPage(browser);
    let armed = false, lost = 0;
    await page.route('**/client/*/output*', async (route) => {
      const response = await route.fetch();
      const body = await response.text();
      if (armed && JSON.parse(body).events.length) {
        armed = false;
        lost++;
        await route.abort('connectionreset');
        return;
      }
      await route.fulfill({ response, body });
    });
    await page.goto(livd.url(`${room}?name=lou&transport=longpoll`));
    await waitLive(page);
    armed = true;
    await livd.send('-l', room, 'append', 'target2', '<p class="l">l</p>');
    await page.locator('#target2 p.l').waitFor({ timeout: 3000 });
    await sync(page, livd, room);
    assert.equal(lost, 1);
    assert.equal(await page.locator('#target2 p.l').count(), 1);
    // a failed request is logged by chromium as a console error
    assert.deepEqual(page.errors.filter((e) => !/ERR_CONNECTION_RESET/.test(e)), []);
    await page.unrouteAll({ behavior: 'ignoreErrors' });
    await page.close();
  });
});

describe('a verb added while the page is open', () => {
  test('livctl reload: the page learns the new verb from /verbs.json by itself', async () => {
    const room = '/demo/late';
    const page = await openDemo(browser, livd, { room, name: 'lena', transport: 'longpoll' });
    fs.appendFileSync(livd.verbs, `
late:
  summary: added while the page was open
  args: [id, html]
  dom: afterbegin
  dedupe: id
`);
    await livd.ctlOk('reload');
    await livd.send('-l', room, 'late', 'target', '<p id="late">late</p>');
    await livd.send('-l', room, 'late', 'target', '<p id="late">late</p>');
    await page.locator('#late').waitFor({ timeout: 2000 });
    await sync(page, livd, room);
    assert.equal(await page.locator('[id="late"]').count(), 1);
    assert.equal(await page.locator('#target').evaluate((t) => t.firstElementChild.id), 'late');
    assert.deepEqual(page.errors, []);
    await page.close();
  });
});
