// The live page, GET /_tether/ (docs/platform.md, "The live page"), in a real
// browser: headless Chromium (Debian's chromium) driven by puppeteer-core.
// tether up with its embedded docstore runs dbsleep (a C function that pings
// the database through libtether's managed client, then sleeps) and echo.
// The page must: list both functions; show dbsleep's instance appear and turn
// busy while it is invoked, then frozen, with the pid the function answers and
// its one database connection (joined from /proc and the docstore); list that
// connection in the docstore's table as held by the instance and a Node driver
// client's as another client; and show the invocation among the recent ones
// with its log tail; each instance's containment and memory limit. Also:
// live.json parses; /_tether redirects; POST is 405; a connection a forked
// child holds is its instance's; every invocation's tail is complete.
'use strict';
const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const L = require('./platform_lib');
const R = require('./runtime_lib');

L.deadline(240000);
const cleanup = [];
after(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => {});
});

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const DBSLEEP = path.join(R.BUILD, 'tests/functions/dbsleep');

test('the live page shows functions, an instance busy then frozen, and its connection', async (t) => {
  if (!fs.existsSync(CHROMIUM)) {
    t.skip(`${CHROMIUM} is not installed (scripts/deps.sh test installs Debian's chromium)`);
    return;
  }
  const puppeteer = require('puppeteer-core');
  const template = R.writeTemplate(path.join(L.TMP, 'live'), [
    { name: 'dbsleep', code: DBSLEEP, handler: 'dbsleep', timeout: 20 },
    { name: 'echo', code: R.example('echo'), handler: 'echo', timeout: 5 },
  ]);
  const p = await L.startPlatform({ template, db: true, args: ['--idle-timeout', '600'] });
  cleanup.push(() => p.stop());

  // the routes, without a browser
  let r = await L.request(p.port, 'GET', '/_tether');
  assert.equal(r.status, 301);
  assert.equal(r.headers.location, '/_tether/');
  r = await L.request(p.port, 'POST', '/_tether/live.json', '');
  assert.equal(r.status, 405);
  r = await L.request(p.port, 'GET', '/_tether/live.json');
  assert.equal(r.status, 200);
  const live = JSON.parse(r.body);
  assert.equal(live.db.kind, 'embedded');
  assert.ok(live.db.port > 0);

  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--headless=new', '--disable-gpu', '--disable-dev-shm-usage'],
  });
  cleanup.push(() => browser.close());
  const page = await browser.newPage();
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(`http://127.0.0.1:${p.port}/_tether/`, { waitUntil: 'load' });
  await page.waitForSelector('#functions tbody tr[data-function="dbsleep"]', { timeout: 30000 });
  await page.waitForSelector('#functions tbody tr[data-function="echo"]', { timeout: 30000 });
  assert.equal(await page.title(), 'tether up');
  assert.equal(await page.$('tr.instance[data-function="dbsleep"]'), null, 'no instance before the first invocation');

  // invoked: the instance appears and is seen busy while the function sleeps
  const invoked = L.invoke(p.port, 'dbsleep', { ms: 3000 }, {}, { timeout: 60000 });
  await page.waitForSelector('tr.instance[data-function="dbsleep"][data-state="busy"]', { timeout: 30000 });
  r = await invoked;
  assert.equal(r.status, 200, r.body);
  assert.equal(r.headers['x-amz-function-error'], undefined, r.body);
  const pid = JSON.parse(r.body).pid;

  // then frozen, with the pid and one database connection
  await page.waitForSelector(`tr.instance[data-function="dbsleep"][data-state="frozen"][data-pid="${pid}"]`,
    { timeout: 30000 });
  await page.waitForFunction((want) => {
    const row = document.querySelector(`tr.instance[data-pid="${want}"]`);
    return row && row.dataset.dbConnections === '1';
  }, { timeout: 30000 }, pid);
  const cells = await page.$eval(`tr.instance[data-pid="${pid}"]`, (row) =>
    Array.from(row.children).map((c) => c.textContent));
  assert.equal(cells[0], 'dbsleep');
  assert.equal(cells[4], '1', 'one invocation served');
  assert.match(cells[6], /^(cgroup-v1|cgroup-v2|signals)$/, 'its containment');
  assert.match(cells[7], / \/ 128 MB/, 'its memory limit');
  assert.match(cells[8], /^1 \(ports \d+\)$/, 'its connection, with the client port');

  // the docstore's side: held by that instance; a Node driver's connections are another client's
  const { MongoClient } = require('mongodb');
  const client = new MongoClient(`mongodb://127.0.0.1:${live.db.port}/?directConnection=true`);
  cleanup.push(() => client.close());
  await client.db('admin').command({ ping: 1 });
  await page.waitForFunction((want) => {
    const rows = Array.from(document.querySelectorAll('#dbconns tbody tr'));
    return rows.some((tr) => tr.children[2].textContent === `dbsleep #1 (pid ${want})`) &&
      rows.some((tr) => tr.children[2].textContent === 'another client');
  }, { timeout: 30000 }, pid);
  const summary = await page.$eval('#dbsummary', (e) => e.textContent);
  assert.match(summary, /Embedded docstore on port \d+: \d+ connection\(s\) open, 1 held by instances\./);

  // the recent invocation, with its duration and log tail
  const rid = r.headers['x-amzn-requestid'];
  await page.waitForSelector(`#recent tr[data-request-id="${rid}"]`, { timeout: 30000 });
  const recent = await page.$eval(`#recent tr[data-request-id="${rid}"]`, (row) => ({
    fn: row.children[1].textContent, ms: row.children[4].textContent,
    outcome: row.children[5].textContent, tail: row.querySelector('pre').textContent }));
  assert.equal(recent.fn, 'dbsleep');
  assert.equal(recent.outcome, 'ok');
  const ms = parseFloat(recent.ms);
  assert.ok(ms >= 3000 && ms < 60000, `duration ${recent.ms}`);
  assert.match(recent.tail, new RegExp(`REPORT RequestId: ${rid}`));

  // a warm invocation changes the count live, without a reload
  r = await R.invokeWarm(p.port, 'dbsleep', { ms: 0 });
  assert.equal(JSON.parse(r.body).pid, pid);
  await page.waitForSelector(`tr.instance[data-pid="${pid}"][data-state="frozen"]`, { timeout: 30000 });
  await page.waitForFunction((want) => {
    const row = document.querySelector(`tr.instance[data-pid="${want}"]`);
    return row && row.children[4].textContent === '2' && row.dataset.dbConnections === '1';
  }, { timeout: 30000 }, pid);
  assert.deepEqual(pageErrors, [], 'no script errors on the page');
});

// An external --db: no docstore to ask, so what the page can know is what
// the instances hold, counted from their own sockets to the database's port.
test('with an external --db, live.json counts the connections the instances hold', async () => {
  const db = await R.startDocstore([]);
  cleanup.push(() => db.stop());
  const template = R.writeTemplate(path.join(L.TMP, 'live-ext'), [
    { name: 'dbsleep', code: DBSLEEP, handler: 'dbsleep', timeout: 20 },
  ]);
  const p = await L.startPlatform({ template, args: ['--db', db.uri, '--idle-timeout', '600'] });
  cleanup.push(() => p.stop());
  const r = await L.invoke(p.port, 'dbsleep', { ms: 0 }, {}, { timeout: 60000 });
  assert.equal(r.headers['x-amz-function-error'], undefined, r.body);
  const pid = JSON.parse(r.body).pid;
  const live = await L.waitFor('the instance holding its connection', async () => {
    const doc = JSON.parse((await L.request(p.port, 'GET', '/_tether/live.json')).body);
    const inst = doc.instances.find((i) => i.pid === pid);
    return inst && inst.dbConnections === 1 ? doc : null;
  }, 30000, 100);
  assert.deepEqual({ kind: live.db.kind, port: live.db.port }, { kind: 'external', port: db.port });
  assert.equal(live.db.connections, undefined, 'the server side is not known');
  assert.equal(live.recent[0].function, 'dbsleep');
});

// Every process of an instance is the instance's: a connection a function's
// child process holds is listed under the instance (its control group's
// members, or its process tree where it has no group), not as another client.
// And the page's log tail of every invocation is complete, Tail asked or not.
const FORKDB = path.join(R.BUILD, 'tests/functions/forkdb');

test('live.json: a child process\'s connection is its instance\'s; every tail is complete', async () => {
  const template = R.writeTemplate(path.join(L.TMP, 'live-fork'), [
    { name: 'forkdb', code: FORKDB, handler: 'forkdb', timeout: 30 },
  ]);
  const p = await L.startPlatform({ template, db: true, args: ['--idle-timeout', '600'] });
  cleanup.push(() => p.stop());
  const r = await L.invoke(p.port, 'forkdb', { fork: '1' }, {}, { timeout: 60000 });
  assert.equal(r.status, 200, r.body);
  assert.equal(r.headers['x-amz-function-error'], undefined, r.body);
  const { pid, child } = JSON.parse(r.body);
  assert.ok(child > 0 && child !== pid, r.body);

  const live = await L.waitFor('the child\'s connection under the instance', async () => {
    const doc = JSON.parse((await L.request(p.port, 'GET', '/_tether/live.json')).body);
    const inst = doc.instances.find((i) => i.pid === pid);
    return inst && inst.dbConnections === 1 && doc.db.connections.length === 1 ? doc : null;
  }, 30000, 100);
  const inst = live.instances.find((i) => i.pid === pid);
  assert.ok(inst.pids.includes(pid) && inst.pids.includes(child), JSON.stringify(inst.pids));
  const conn = live.db.connections[0];
  assert.equal(conn.function, 'forkdb', 'not "another client"');
  assert.equal(conn.pid, pid);
  assert.equal(conn.instance, inst.id);
  assert.match(inst.containment, /^(cgroup-v1|cgroup-v2|signals)$/);
  assert.equal(inst.containment, live.status.containment);
  assert.equal(inst.memoryLimitMb, 128);
  assert.equal(inst.memoryLimitEnforced, inst.containment !== 'signals');

  // 512 KB of output in the pipe as each result arrives, no Tail asked: the
  // page's tail still ends with the invocation's last line (then END and REPORT)
  const ids = [];
  for (let i = 0; i < 4; i++) {
    const w = await L.invoke(p.port, 'forkdb', { log: '524288' }, {}, { timeout: 60000 });
    assert.equal(w.status, 200, w.body);
    ids.push(w.headers['x-amzn-requestid']);
  }
  const doc = JSON.parse((await L.request(p.port, 'GET', '/_tether/live.json')).body);
  for (const id of ids) {
    const rec = doc.recent.find((x) => x.id === id);
    assert.ok(rec, `invocation ${id} is among the recent ones`);
    assert.ok(rec.tail.length <= 4096, `a tail of ${rec.tail.length} bytes`);
    // (libtether's EMF metrics line comes between: it is written after the handler)
    assert.match(rec.tail, new RegExp(`last line of ${id}\\n(\\{"_aws".*\\n)?END RequestId: ${id}\\nREPORT RequestId: ${id}`));
  }
});
