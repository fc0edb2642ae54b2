// The whole system end to end, the way MongoDB's Lambda guidance asks for it:
// `tether up` with a template whose function has an IAM Role runs the embedded
// docstore with authentication on; the C counter example (libtether's managed
// libmongoc client) authenticates with MONGODB-AWS using the role's temporary
// credentials from its environment (no password anywhere), creates its client
// once and reuses one connection across warm invocations; a function with no
// Role gets the default execution role; an unauthenticated client is refused;
// the developer's admin connection string works; no secret reaches the log.
'use strict';
const assert = require('assert');
const fs = require('fs');
const path = require('path');
const { spawn } = require('child_process');
const { MongoClient } = require('mongodb');
const L = require('./platform_lib');
const R = require('./runtime_lib');

L.deadline(120000);

(async () => {
  const dir = path.join(L.TMP, 'iam');
  const file = R.writeTemplate(dir, [
    { name: 'counter', code: R.example('counter'), handler: 'counter' },
    { name: 'counter-norole', code: R.example('counter'), handler: 'counter' },
  ]);
  // give the first function a Role (writeTemplate knows no Role property)
  let text = fs.readFileSync(file, 'utf8');
  text = text.replace('      FunctionName: counter\n',
    '      FunctionName: counter\n      Role: arn:aws:iam::210987654321:role/counter-fn\n');
  fs.writeFileSync(file, text);

  const proc = spawn(L.BIN, ['up', '--port', '0', '--db-port', '0', '--template', file],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  proc.stdout.on('data', (d) => { log += d; });
  proc.stderr.on('data', (d) => { log += d; });
  let exited = false;
  proc.on('exit', () => { exited = true; });
  try {
    const port = await L.waitFor('platform listening', () => {
      if (exited) throw new Error('tether up exited:\n' + log);
      const m = log.match(/platform listening on [^\s:]+:(\d+)/);
      return m && Number(m[1]);
    }, 20000);
    const adminFile = await L.waitFor('admin-uri path', () => {
      const m = log.match(/admin connection string is in (\S+)\/admin-uri/);
      return m && path.join(m[1], 'admin-uri');
    });
    const dbPort = Number(log.match(/docstore listening on [^\s:]+:(\d+)/)[1]);
    assert.match(log, /counter-norole has no Role: it gets the default execution role arn:aws:iam::210987654321:role\//);

    // warm reuse: three invocations, one instance, one docstore connection.
    // Each waits for the instance to be parked in /next again: one sent
    // before that waits for it only PLATFORM_RETURN_WAIT_MS (200 ms), which a
    // loaded CI machine can exceed, and then rightly starts a second instance
    // (test_platform_concurrency.js tests that rule).
    const pids = new Set();
    for (let i = 1; i <= 3; i++) {
      if (i > 1) await L.waitParked(port, 'counter');
      const r = await L.invoke(port, 'counter', {});
      assert.strictEqual(r.status, 200, r.body);
      assert.strictEqual(r.headers['x-amz-function-error'], undefined, r.body);
      const body = JSON.parse(r.body);
      assert.strictEqual(body.hits, i);
      pids.add(body.instance);
    }
    assert.strictEqual(pids.size, 1, 'one warm instance served all three');
    const r2 = await L.invoke(port, 'counter-norole', {});
    assert.strictEqual(r2.status, 200);
    assert.strictEqual(r2.headers['x-amz-function-error'], undefined, r2.body);
    assert.strictEqual(JSON.parse(r2.body).hits, 4, 'the default role reads and writes app too');

    // the developer's admin connection string
    const st = fs.statSync(adminFile);
    assert.strictEqual(st.mode & 0o077, 0, 'admin-uri is private to its owner');
    const admin = new MongoClient(fs.readFileSync(adminFile, 'utf8').trim(),
      { serverSelectionTimeoutMS: 5000 });
    await admin.connect();
    const ops = await admin.db('admin').command({ currentOp: 1, $all: true });
    const fromCounter = ops.inprog.filter((op) =>
      JSON.stringify(op.clientMetadata || {}).includes('counter'));
    const doc = await admin.db('app').collection('counters').findOne({ _id: 'hits' });
    assert.strictEqual(Number(doc.n), 4);
    const ss = await admin.db('admin').command({ serverStatus: 1 });
    await admin.close();
    // the counter's instance holds its one connection (plus monitoring, none for single-threaded)
    assert.ok(fromCounter.length >= 1 && fromCounter.length <= 2,
      `counter instances hold ${fromCounter.length} connections`);
    assert.ok(ss.connections.totalCreated <= 6,
      `connections created: ${ss.connections.totalCreated} (two functions, one admin, no per-invocation connects)`);

    // no credentials: refused
    const anon = new MongoClient(`mongodb://127.0.0.1:${dbPort}/`, { serverSelectionTimeoutMS: 5000 });
    await anon.connect();
    await assert.rejects(anon.db('app').collection('counters').findOne({}), (e) => e.code === 13);
    await anon.close();

    // secrets never logged: the role's keys are in the instance environment only
    const environ = fs.readFileSync(`/proc/${pids.values().next().value}/environ`, 'utf8').split('\0');
    const secret = environ.find((e) => e.startsWith('AWS_SECRET_ACCESS_KEY=')).split('=')[1];
    const token = environ.find((e) => e.startsWith('AWS_SESSION_TOKEN=')).split('=')[1];
    const uri = environ.find((e) => e.startsWith('MONGODB_URI='));
    assert.match(uri, /authMechanism=MONGODB-AWS/);
    assert.ok(!/:[^@/]*@/.test(uri), 'no password in MONGODB_URI');
    assert.ok(!log.includes(secret) && !log.includes(token), 'no secret in the log');
    assert.match(log, /authenticated as arn:aws:iam::210987654321:role\/counter-fn@\$external with MONGODB-AWS/);
    console.log('system iam: ok');
  } finally {
    proc.kill('SIGTERM');
    await L.waitFor('tether up to exit', () => exited, 15000).catch(() => proc.kill('SIGKILL'));
  }
})().catch((e) => {
  console.error('FAIL:', e && e.stack || e);
  process.exit(1);
});
