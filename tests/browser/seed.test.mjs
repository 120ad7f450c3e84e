// The seed's page, as its README prints it (less prototype.js): a
// server-rendered uuid in livePageUUID, <body onload="startClient()">, and
// an input whose onchange calls sendEvent('append', 'target', this.value).
// The page is served at livd's origin by the test (page.route).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Livd, launch, newPage, sleep, TRANSPORTS } from './lib.mjs';

const seedPage = (uuid, start) => `<html>
    <head>
        <script type="text/javascript">var livePageUUID = '${uuid}';</script>
        <script src="/livepage.js" type="text/javascript"></script>
    </head>
    <body onload="${start}">
    <p>Input some text.</p>
    <input onchange="sendEvent('append', 'target', this.value)" type="text" />
    <p id="target">Text goes here:</p>
    </body>
</html>`;

let livd, browser;
before(async () => {
  livd = await new Livd({ name: 'seed' }).start();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await livd?.close();
});

for (const transport of TRANSPORTS) {
  describe(`the seed's page over ${transport}`, () => {
    test("sendEvent('append', 'target', this.value) works as written", async () => {
      const where = `/seed-${transport}`;
      const uuid1 = (await livd.ctlOk('connect', '-l', where, '-p', 'zorg.member.uwe')).trim();
      const uuid2 = (await livd.ctlOk('connect', '-l', where, '-p', 'zorg.member.dominik')).trim();
      assert.match(uuid1, /^[0-9a-f]{32}$/);
      const start = transport === 'ws' ? 'startClient()' :
        `startClient({transport: '${transport}'})`;
      const page = await newPage(browser);
      await page.route(`**${where}`, (route) => route.fulfill({
        status: 200, contentType: 'text/html', body: seedPage(uuid1, start) }));
      await page.goto(livd.url(where));
      await page.waitForFunction(() => window.LivePage && LivePage.status === 'live',
        null, { timeout: 5000 });
      assert.equal(await page.evaluate(() => LivePage.uuid), uuid1);

      // manager.whoIsOnline(where)
      assert.deepEqual(await livd.who(where), ['zorg.member.dominik', 'zorg.member.uwe']);

      await page.locator('input').fill('42');
      await page.locator('input').press('Tab');	// change fires on blur too
      await page.locator('#target', { hasText: '42' }).waitFor({ timeout: 2000 });
      assert.equal(await page.locator('#target').textContent(), 'Text goes here:42');

      // The other page's output, as the seed's doctest reads it.
      assert.equal(await livd.ctlOk('poll', uuid2), 'append target\n42\n');

      // input?verb=change&argument=42: a verb without dom is a live:change
      // for every page at the location, the sender's included.
      await page.evaluate(() => {
        window.__changes = [];
        document.addEventListener('live:change', (e) => window.__changes.push(e.detail.argument));
      });
      await page.evaluate(() => sendEvent('change', 42));
      await page.waitForFunction(() => window.__changes.length === 1, null, { timeout: 2000 });
      assert.deepEqual(await page.evaluate(() => window.__changes), ['42']);
      assert.equal(await livd.ctlOk('poll', uuid2), 'change\n42\n');

      // livd refuses what browsers may not send, and the promise says why.
      const refused = await page.evaluate(() =>
        sendEvent('update', 'target', 'x').then(() => 'sent', (e) => e.message));
      assert.match(refused, /^livepage: update: .*update/);
      const unknown = await page.evaluate(() =>
        sendEvent('special', 42).then(() => 'sent', (e) => e.message));
      assert.equal(unknown, "livepage: unknown verb 'special'");

      // An event from the server side reaches the page too.
      await livd.send('-c', uuid1, 'append', 'target', '<p>43</p>');
      await page.locator('#target p', { hasText: '43' }).waitFor({ timeout: 1000 });
      // (chromium logs the refused request)
      assert.deepEqual(page.errors.filter((e) => !/status of 403/.test(e)), []);
      await page.close();
      // pagehide closed the server-rendered client
      for (let i = 0; i < 20 && (await livd.who(where)).length > 1; i++)
        await sleep(100);
      assert.deepEqual(await livd.who(where), ['zorg.member.dominik']);
    });
  });
}
