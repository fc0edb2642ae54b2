// The managed MongoDB client (the mission): one connection per instance,
// opened once and reused by every invocation; three logical functions in one
// bootstrap share one client module; appname = the function name; a socket
// that died while the instance was frozen (the docstore's --idle-timeout, as a
// NAT gateway does) is replaced without failing the invocation. The Node.js
// twin is test_runtime_node.js. Observed from the server: its log of
// connection handshakes and currentOp.
'use strict';
const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const { MongoClient } = require('mongodb');
const L = require('./platform_lib');
const R = require('./runtime_lib');

L.deadline(180000);
const cleanup = [];
after(async () => {
  for (const c of cleanup.reverse()) await c();
});

let db, p, probe;
let counterConn; // the connectionId of the counter's one connection (pattern 1)

// Connections by appName, from currentOp (the probe's own are excluded).
async function connsOf(app) {
  const r = await probe.db('admin').command({ currentOp: 1, $all: true });
  return r.inprog.filter((op) => op.appName === app);
}

test('start a docstore (idle connections closed after 3 s) and tether up', async () => {
  db = await R.startDocstore(['--idle-timeout', '3']);
  cleanup.push(() => db.stop());
  const env = { MONGODB_URI: db.uri };
  const template = R.writeTemplate(path.join(L.TMP, 'db'), [
    { name: 'counter', code: R.example('counter'), handler: 'counter', env },
    { name: 'orders-create', code: R.example('orders'), handler: 'orders.create', env },
    { name: 'orders-get', code: R.example('orders'), handler: 'orders.get', env },
    { name: 'orders-list', code: R.example('orders'), handler: 'orders.list', env },
  ]);
  p = await L.startPlatform({ template, args: ['--idle-timeout', '600'] });
  cleanup.push(() => p.stop());
  // The docstore closes the probe's connections too when they idle 3 s: the
  // probe drops a pooled connection idle for 1 s itself, so it never sends a
  // command on one the docstore is closing (seen: read ECONNRESET).
  probe = new MongoClient(`mongodb://127.0.0.1:${db.port}/?appName=probe&heartbeatFrequencyMS=60000`,
    { maxIdleTimeMS: 1000 });
  await probe.connect();
  cleanup.push(() => probe.close());
});

test('pattern 1: one connection, opened once, reused by every invocation', async () => {
  // Counted from the server's side: the docstore logs each connection's
  // handshake with its appName. (serverStatus.totalCreated would also count
  // the probe's own reconnects: the idle timeout closes its connection too.)
  const opened = () => (db.logs().match(/\] client \S+ \S+ app counter$/gm) || []).length;
  assert.equal(opened(), 0);
  let pid;
  let connId;
  let conns;
  for (let i = 1; i <= 5; i++) {
    const r = await R.invokeWarm(p.port, 'counter', {});
    assert.equal(r.status, 200, r.body);
    assert.equal(r.headers['x-amz-function-error'], undefined, r.body);
    const out = JSON.parse(r.body);
    assert.equal(out.hits, i);
    if (pid === undefined) pid = out.instance;
    assert.equal(out.instance, pid, 'one warm instance');
    conns = await connsOf('counter');
    assert.equal(conns.length, 1, `counter holds ${conns.length} connections`);
    if (connId === undefined) connId = conns[0].connectionId;
    assert.equal(conns[0].connectionId, connId, `invocation ${i} used the first connection`);
  }
  assert.equal(conns[0].clientMetadata.driver.name.includes('mongoc'), true);
  assert.equal(opened(), 1, 'exactly one connection opened for five invocations');
  counterConn = connId;
  // libmongoc's counters stay in process memory (MONGOC_DISABLE_SHM): a
  // /dev/shm/mongoc-PID file would outlive an instance that is killed
  assert.ok(!fs.existsSync(`/dev/shm/mongoc-${pid}`), `/dev/shm/mongoc-${pid} exists`);
});

test('pattern 2: three logical functions share one client module', async () => {
  // Each function's connections are counted right after its own invocations:
  // counted at the end, the first one's could already be closed as idle.
  for (const o of [{ id: 1, item: 'tea' }, { id: 2, item: 'cake' }, { id: 3, item: 'jam' }]) {
    const r = await R.invokeWarm(p.port, 'orders-create', o);
    assert.equal(JSON.parse(r.body).created, true, r.body);
  }
  assert.equal((await connsOf('orders-create')).length, 1, 'orders-create: one connection');
  const g = await R.invokeWarm(p.port, 'orders-get', { id: 2 });
  assert.deepEqual(JSON.parse(g.body), { id: 2, item: 'cake' });
  const missing = await R.invokeWarm(p.port, 'orders-get', { id: 99 });
  assert.equal(JSON.parse(missing.body).errorType, 'NotFound');
  assert.equal((await connsOf('orders-get')).length, 1, 'orders-get: one connection');
  const l = await R.invokeWarm(p.port, 'orders-list', {});
  assert.deepEqual(JSON.parse(l.body).map((o) => o.item).sort(), ['cake', 'jam', 'tea']);
  assert.equal((await connsOf('orders-list')).length, 1, 'orders-list: one connection');
});

test('a socket closed while the instance was frozen is replaced, the invocation succeeds', async () => {
  // the docstore closes pattern 1's connection after 3 s idle, while the
  // instance is frozen (perhaps already during pattern 2)
  assert.ok(counterConn !== undefined, 'needs pattern 1');
  await L.waitFor('the docstore to close the idle connection', async () =>
    !(await connsOf('counter')).some((c) => c.connectionId === counterConn), 15000, 100);
  const r = await R.invokeWarm(p.port, 'counter', {});
  assert.equal(r.headers['x-amz-function-error'], undefined, r.body);
  assert.equal(JSON.parse(r.body).hits, 6);
  const now = await connsOf('counter');
  assert.equal(now.length, 1);
  assert.notEqual(now[0].connectionId, counterConn, 'a fresh connection');
});
