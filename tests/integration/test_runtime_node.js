// The Node.js examples, with the official driver the way MongoDB's Lambda
// guidance writes them (client created outside the handler; pattern 2's
// client module shared by several functions), on tether up under
// aws-lambda-ric: warm invocations reuse the driver's connections.
'use strict';
const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const path = require('path');
const { MongoClient } = require('mongodb');
const L = require('./platform_lib');
const R = require('./runtime_lib');

L.deadline(120000);
const cleanup = [];
after(async () => {
  for (const c of cleanup.reverse()) await c();
});

let db, p, probe;

async function connsOf(app) {
  const r = await probe.db('admin').command({ currentOp: 1, $all: true });
  return r.inprog.filter((op) => op.appName === app);
}
async function totalCreated() {
  return (await probe.db('admin').command({ serverStatus: 1 })).connections.totalCreated;
}

test('start a docstore and tether up with the Node.js examples', async () => {
  db = await R.startDocstore();
  cleanup.push(() => db.stop());
  const env = { MONGODB_URI: db.uri };
  const node = path.join(R.EXAMPLES, 'node');
  const template = R.writeTemplate(path.join(L.TMP, 'node'), [
    { name: 'node-counter', code: node, handler: 'index.handler', runtime: 'nodejs20.x', env },
    { name: 'node-echo', code: node, handler: 'index.echo', runtime: 'nodejs20.x', env },
    { name: 'node-orders-create', code: node, handler: 'orders.create', runtime: 'nodejs20.x', env },
    { name: 'node-orders-list', code: node, handler: 'orders.list', runtime: 'nodejs20.x', env },
  ]);
  p = await L.startPlatform({ template });
  cleanup.push(() => p.stop());
  probe = new MongoClient(`mongodb://127.0.0.1:${db.port}/?appName=probe`);
  await probe.connect();
  cleanup.push(() => probe.close());
});

test('node echo answers its event', async () => {
  const r = await R.invokeWarm(p.port, 'node-echo', { a: [1, 'two'] });
  assert.equal(r.status, 200, r.body);
  assert.deepEqual(JSON.parse(r.body), { a: [1, 'two'] });
});

test('pattern 2 in Node: the client module serves two functions', async () => {
  const c = await R.invokeWarm(p.port, 'node-orders-create', { id: 7, item: 'bread' });
  assert.deepEqual(JSON.parse(c.body), { created: true }, c.body);
  const l = await R.invokeWarm(p.port, 'node-orders-list', {});
  assert.deepEqual(JSON.parse(l.body), [{ id: 7, item: 'bread' }], l.body);
});

test('the Node.js example (official driver, client outside the handler) reuses its connections', async () => {
  const r1 = await R.invokeWarm(p.port, 'node-counter', {});
  assert.equal(r1.status, 200, r1.body);
  assert.equal(r1.headers['x-amz-function-error'], undefined, r1.body);
  const first = JSON.parse(r1.body);
  await R.invokeWarm(p.port, 'node-counter', {});
  const before = await totalCreated();
  const n = (await connsOf('node-counter')).length;
  const r3 = await R.invokeWarm(p.port, 'node-counter', {});
  assert.equal(JSON.parse(r3.body).instance, first.instance);
  assert.equal(JSON.parse(r3.body).hits, first.hits + 2);
  assert.equal(await totalCreated(), before, 'no new connection for a warm invocation');
  assert.equal((await connsOf('node-counter')).length, n);
});
