// Helpers for livd's browser tests: a livd of the test's own (port 0, a
// socket in a temporary directory), livctl, and headless Debian chromium
// driven by playwright-core.
import { chromium } from 'playwright-core';
import { spawn, execFile } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(here, '../..');
export const BUILD = path.resolve(ROOT, process.env.LIVD_BUILD || 'build');
export const OUT = path.join(here, 'out');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

fs.mkdirSync(OUT, { recursive: true });

let livdCount = 0;

// Everything temporary goes under one directory, removed at exit; the
// livds this process started are stopped if it ends without doing so.
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'livd-browser-'));
const running = new Set();
process.on('exit', () => {
  for (const proc of running)
    proc.kill('SIGKILL');
  fs.rmSync(TMP, { recursive: true, force: true });
});
const tmpdir = (prefix) => fs.mkdtempSync(path.join(TMP, prefix));

/*
 * One livd, started on a free port with its own control socket; config is
 * livd.yaml text of its own.
 */
export class Livd {
  constructor({ verbs, refresh = 1, name = 'livd', config } = {}) {
    this.dir = tmpdir('livd-');
    this.socket = path.join(this.dir, 'livd.sock');
    this.verbs = verbs;
    this.config = config;
    this.refresh = refresh;
    this.port = 0;
    this.logPath = path.join(OUT, `${name}-${process.pid}-${++livdCount}.log`);
    this.proc = null;
  }

  get base() {
    return `http://127.0.0.1:${this.port}`;
  }

  url(p) {
    return this.base + p;
  }

  /* Start (on the same port as before, if it ran before); wait for status. */
  async start() {
    const args = ['-l', `127.0.0.1:${this.port}`, '-s', this.socket,
      '-r', String(this.refresh)];
    if (this.verbs)
      args.push('-V', this.verbs);
    if (this.config) {
      const file = path.join(this.dir, 'livd.yaml');
      fs.writeFileSync(file, this.config);
      args.push('-c', file);
    }
    const log = fs.openSync(this.logPath, 'a');
    fs.writeSync(log, `--- livd ${args.join(' ')}\n`);
    const proc = spawn(path.join(BUILD, 'livd'), args,
      { cwd: ROOT, stdio: ['ignore', log, log] });
    fs.closeSync(log);
    this.proc = proc;
    running.add(proc);
    proc.exited = once(proc, 'exit');
    proc.exited.then(() => running.delete(proc));
    const deadline = Date.now() + 10000;
    while (Date.now() < deadline) {
      if (proc.exitCode !== null || proc.signalCode !== null)
        throw new Error(`livd exited at start:\n${this.logTail()}`);
      const r = await this.ctl('status');
      const m = r.code === 0 && /^listen: .*:(\d+)$/m.exec(r.stdout);
      if (m) {
        this.port = Number(m[1]);
        return this;
      }
      await sleep(30);
    }
    throw new Error(`livd did not answer status:\n${this.logTail()}`);
  }

  /* SIGTERM, as an operator would; livd must exit 0. */
  async stop() {
    const proc = this.proc;
    if (!proc)
      return;
    this.proc = null;
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await proc.exited;
      clearTimeout(timer);
    }
    if (proc.exitCode !== 0)
      throw new Error(`livd exited with ${proc.exitCode ?? proc.signalCode} ` +
        `after SIGTERM:\n${this.logTail()}`);
  }

  async restart() {
    await this.stop();
    await this.start();
  }

  /* Stop and remove the temporary directory. */
  async close() {
    try {
      await this.stop();
    } finally {
      fs.rmSync(this.dir, { recursive: true, force: true });
    }
  }

  logTail() {
    try {
      return fs.readFileSync(this.logPath, 'utf8').split('\n').slice(-20).join('\n');
    } catch {
      return '';
    }
  }

  /* livctl -s SOCKET ARGS...: {code, stdout, stderr}, never throws. */
  ctl(...args) {
    return new Promise((resolve) => {
      execFile(path.join(BUILD, 'livctl'), ['-s', this.socket, ...args],
        { timeout: 10000 }, (err, stdout, stderr) => {
          resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0,
            stdout, stderr });
        });
    });
  }

  /* livctl ARGS..., which must succeed: its stdout. */
  async ctlOk(...args) {
    const r = await this.ctl(...args);
    if (r.code !== 0)
      throw new Error(`livctl ${args.join(' ')}: exit ${r.code}: ${r.stderr}`);
    return r.stdout;
  }

  send(...args) {
    return this.ctlOk('send', ...args);
  }

  async who(location) {
    return (await this.ctlOk('who', location)).split('\n').filter(Boolean);
  }

  /* [{uuid, principal, location}] */
  async clients(location) {
    const out = await this.ctlOk('clients', ...(location ? [location] : []));
    return out.split('\n').filter(Boolean).map((line) => {
      const [uuid, principal, loc] = line.split(' ');
      return { uuid, principal, location: loc };
    });
  }
}

/*
 * A copy of the shipped verbs file with more verbs appended (YAML text);
 * returns its path.
 */
export function verbsFile(extra) {
  const dir = tmpdir('verbs-');
  const file = path.join(dir, 'verbs.yaml');
  fs.writeFileSync(file,
    fs.readFileSync(path.join(ROOT, 'share/livd/verbs.yaml'), 'utf8') + '\n' + extra);
  return file;
}

// A page fulfilled by page.route has no address: Chromium's local network
// checks would count it public and block its WebSocket to 127.0.0.1.
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu',
  '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync',
  '--disable-features=LocalNetworkAccessChecks'];

/*
 * Headless chromium with a fresh, empty user data directory. Returns the
 * browser context; close() also removes the directory.
 */
export async function launch(options = {}) {
  const dir = tmpdir('chromium-');
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1000, height: 700 },
    ...options,
  });
  const close = context.close.bind(context);
  context.close = async () => {
    try {
      await close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  };
  return context;
}

/*
 * A new page whose console errors and uncaught exceptions are collected
 * in page.errors (tests assert it stays empty).
 */
export async function newPage(context) {
  const page = await context.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error')
      page.errors.push(`console: ${m.text()}`);
  });
  return page;
}

/*
 * Open the demo at ROOM as NAME over TRANSPORT ('ws' is the default,
 * 'sse', 'longpoll' the seed's) and wait until livepage.js is live.
 */
export async function openDemo(context, livd, { room = '/demo/room', name, transport } = {}) {
  const q = new URLSearchParams();
  if (name)
    q.set('name', name);
  if (transport && transport !== 'ws')
    q.set('transport', transport);
  const page = await newPage(context);
  await page.goto(livd.url(room + (q.size ? `?${q}` : '')));
  await waitLive(page);
  return page;
}

/* Wait until LivePage says it is live (connected and receiving). */
export async function waitLive(page, timeout = 5000) {
  await page.waitForFunction(() => window.LivePage && LivePage.status === 'live',
    null, { timeout });
}

/*
 * Watch an element for DOM changes: page-side counter of mutation records
 * under the element with that id (or the whole body).
 */
export async function watch(page, id) {
  await page.evaluate((id) => {
    const el = id ? document.getElementById(id) : document.body;
    window.__mutations = window.__mutations || {};
    window.__mutations[id] = 0;
    new MutationObserver((records) => {
      window.__mutations[id] += records.length;
    }).observe(el, { subtree: true, childList: true, attributes: true,
      characterData: true });
  }, id);
}

export function mutations(page, id) {
  return page.evaluate((id) => window.__mutations[id], id);
}

/*
 * Events reach a page in order: after a marker event sent now has been
 * applied, every event sent before it has been applied too.
 */
let markCount = 0;
export async function sync(page, livd, location = '/demo/room', timeout = 3000) {
  const value = `mark-${process.pid}-${++markCount}`;
  const hasMark = await page.evaluate(() => !!document.getElementById('mark'));
  if (!hasMark)
    await page.evaluate(() => {
      const p = document.createElement('p');
      p.id = 'mark';
      p.hidden = true;
      document.body.appendChild(p);
    });
  await livd.send('-l', location, 'text', 'mark', value);
  await page.waitForFunction((v) => document.getElementById('mark')?.textContent === v,
    value, { timeout });
}

export const TRANSPORTS = ['ws', 'sse', 'longpoll'];

/*
 * The example pages (share/livd/examples) load Turbo and htmx from
 * jsDelivr. Tests serve those URLs from the npm packages pinned in
 * package.json instead, with no network: a page that asks for another
 * version than the one installed gets a 404, and the URL is recorded in
 * context.cdnErrors.
 */
export async function serveCdn(context) {
  context.cdnErrors = [];
  await context.route('https://cdn.jsdelivr.net/npm/**', async (route) => {
    const url = route.request().url();
    const m = /^\/npm\/((?:@[^/@]+\/)?[^/@]+)@([^/]+)\/(.+)$/.exec(new URL(url).pathname);
    const dir = m && path.join(here, 'node_modules', m[1]);
    let version = null;
    try {
      version = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).version;
    } catch {
      // not installed: refused below
    }
    if (!m || version !== m[2] || !fs.existsSync(path.join(dir, m[3]))) {
      context.cdnErrors.push(`${url} (installed: ${version})`);
      await route.fulfill({ status: 404, body: 'not installed' });
      return;
    }
    await route.fulfill({
      status: 200,
      contentType: 'text/javascript; charset=utf-8',
      headers: { 'Access-Control-Allow-Origin': '*' },
      body: fs.readFileSync(path.join(dir, m[3])),
    });
  });
}

/*
 * For the example pages: a livd that keeps a state_file (so a restart
 * loses nothing), and a browser that gets Turbo and htmx from npm.
 */
export async function startExamples(name) {
  const livd = new Livd({ name });
  livd.config = `state_file: ${livd.dir}/state.json\n`;
  await livd.start();
  const browser = await launch();
  await serveCdn(browser);
  return { livd, browser };
}

/* Open an example page (its file name) and wait until it streams. */
export async function openExample(browser, livd, file) {
  const page = await newPage(browser);
  await page.goto(livd.url(`/examples/${file}`));
  await waitClients(livd, '/board', 1);
  return page;
}

/* Wait until livd has n clients at location (a stream's page is one). */
export async function waitClients(livd, location, n, timeout = 10000) {
  const deadline = Date.now() + timeout;
  let have = [];
  while (Date.now() < deadline) {
    have = await livd.clients(location);
    if (have.length === n)
      return have;
    await sleep(50);
  }
  throw new Error(`expected ${n} clients at ${location}, have ${JSON.stringify(have)}`);
}
