// A database restart between invocations (MongoDB's guidance for Lambda: a
// client made once must survive what happens to the cluster meanwhile). The
// counter example on tether up holds one connection to `tether db --dir D`;
// the docstore is stopped and started again on the same port and folder while
// the instance is frozen. The next invocation must succeed (libmongoc sees the
// dead socket: socketCheckIntervalMS checks a socket idle for 1 s before use,
// and a retryable write is retried once on a network error) or fail with a
// clear error naming the database; the one after must succeed, on the same
// instance, with the count kept. Seen from the docstore: a second connection.
// Against tether db (a standalone server, as drivers see it) the first fails:
// libmongoc retries writes only against replica sets, and a socket closed
// less than 1 s ago is only found dead when the command's reply is read.
// Restarted longer before the invocation, the check finds it first.
'use strict';
const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const net = require('net');
const path = require('path');
const L = require('./platform_lib');
const R = require('./runtime_lib');

L.deadline(180000);
const cleanup = [];
after(async () => {
  for (const c of cleanup.reverse()) await c();
});

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

test('the managed client survives a database restart between invocations', async () => {
  const dir = path.join(L.TMP, 'data');
  const port = await freePort();
  let db = await R.startDocstore(['--port', String(port), '--dir', dir]);
  cleanup.push(() => db.stop());
  const template = R.writeTemplate(path.join(L.TMP, 'restart'), [
    { name: 'counter', code: R.example('counter'), handler: 'counter', timeout: 5,
      env: { MONGODB_URI: `mongodb://127.0.0.1:${port}/app` } },
  ]);
  const p = await L.startPlatform({ template, args: ['--idle-timeout', '600'] });
  cleanup.push(() => p.stop());

  let r = await R.invokeWarm(p.port, 'counter', {});
  assert.equal(r.headers['x-amz-function-error'], undefined, r.body);
  const first = JSON.parse(r.body);
  assert.equal(first.hits, 1);

  // restart the docstore on the same port and data while the instance is frozen
  await db.stop();
  db = await R.startDocstore(['--port', String(port), '--dir', dir]);
  cleanup.push(() => db.stop());

  r = await R.invokeWarm(p.port, 'counter', {});
  let next;
  if (r.headers['x-amz-function-error']) {
    const e = JSON.parse(r.body);
    assert.equal(e.errorType, 'DatabaseError', r.body);
    assert.ok(e.errorMessage.startsWith(`database 127.0.0.1:${port}: `), `names the database: ${r.body}`);
    console.log(`# the first invocation after the restart failed: ${e.errorMessage}`);
    next = 2;
  } else {
    assert.equal(JSON.parse(r.body).hits, 2, r.body);
    console.log('# the first invocation after the restart succeeded');
    next = 3;
  }
  r = await R.invokeWarm(p.port, 'counter', {});
  assert.equal(r.headers['x-amz-function-error'], undefined, r.body);
  const after = JSON.parse(r.body);
  assert.equal(after.hits, next, 'the count was kept across the restart');
  assert.equal(after.instance, first.instance, 'the same instance, its client reconnected');
  await L.waitFor('the new connection in the log', () => /\] client \S+ \S+ app counter$/m.test(db.logs()), 10000);
  assert.equal((db.logs().match(/\] client \S+ \S+ app counter$/gm) || []).length, 1,
    'one new connection to the restarted docstore');

  // Restarted again, and the connection left idle past socketCheckIntervalMS
  // (1 s): libmongoc checks the socket before using it, finds it closed and
  // reconnects, so this invocation succeeds.
  await db.stop();
  db = await R.startDocstore(['--port', String(port), '--dir', dir]);
  cleanup.push(() => db.stop());
  const idleSince = Date.now();
  await L.waitFor('the connection to be idle for over 1 s', () => Date.now() - idleSince > 1200, 5000, 100);
  r = await R.invokeWarm(p.port, 'counter', {});
  assert.equal(r.headers['x-amz-function-error'], undefined, r.body);
  assert.equal(JSON.parse(r.body).hits, next + 1);
  assert.equal(JSON.parse(r.body).instance, first.instance);
});
