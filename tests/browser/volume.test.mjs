// What goes over the wire: many events at once, a big one, and text that
// is not ASCII, in both directions, over both transports.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { Livd, launch, openDemo, sync, BUILD, TRANSPORTS } from './lib.mjs';

let livd, browser;
before(async () => {
  livd = await new Livd({ name: 'volume' }).start();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await livd?.close();
});

/* livctl send -l LOCATION - with these lines on stdin. */
function sendLines(location, lines) {
  return new Promise((resolve, reject) => {
    const child = execFile(path.join(BUILD, 'livctl'), ['-s', livd.socket, 'send', '-l', location, '-'],
      { maxBuffer: 1 << 20 }, (err, stdout, stderr) => err ? reject(new Error(stderr)) : resolve());
    child.stdin.end(lines.join('\n') + '\n');
  });
}

for (const transport of TRANSPORTS) {
  describe(`volume over ${transport}`, () => {
    const room = `/demo/volume-${transport}`;
    let page;
    before(async () => {
      page = await openDemo(browser, livd, { room, name: 'vic', transport });
    });
    after(async () => {
      assert.deepEqual(page.errors, []);
      await page.close();
    });

    test('a thousand events sent at once arrive, all and in order', async () => {
      const N = 1000;
      const lines = [];
      for (let i = 0; i < N; i++)
        lines.push(`append target <p class="n">${i}</p>`);
      await sendLines(room, lines);
      await page.waitForFunction((n) => document.querySelectorAll('#target p.n').length >= n,
        N, { timeout: 10000 });
      await sync(page, livd, room);
      const got = await page.locator('#target p.n').allTextContents();
      assert.equal(got.length, N);
      assert.ok(got.every((t, i) => t === String(i)), 'in order');
    });

    test('a 200 KB event arrives whole', async () => {
      const body = 'x'.repeat(200 * 1024);
      await sendLines(room, [`update target <p id="big">${body}</p>`]);
      await page.locator('#big').waitFor({ timeout: 3000 });
      assert.equal((await page.locator('#big').textContent()).length, body.length);
    });

    test('UTF-8 both ways: livctl to the page, and typed in the page', async () => {
      const text = 'héllo ✓ 日本語 😀 "quotes" & <tags>';
      await livd.send('-l', room, 'update', 'target', '<p id="u"></p>');
      await livd.send('-l', room, 'text', 'u', text);
      await page.waitForFunction((t) => document.getElementById('u')?.textContent === t,
        text, { timeout: 2000 });
      await page.locator('#say input').fill(text);
      await page.locator('#say input').press('Enter');
      await page.locator('#target .line').waitFor({ timeout: 2000 });
      assert.equal(await page.locator('#target .line').textContent(), text);
    });
  });
}
