// What `make up` serves: tether up on build/examples/template.yaml with its
// embedded docstore (authentication on, as the template has Roles) and the
// example database users (--db-users build/examples/db-users.json, as `make
// up` passes it: each role its own privileges), and every example function
// answering; every Role the template names has its database user, and the
// orders readers' role may read app but not write it. The Node examples
// resolve their packages from examples/node/node_modules, which `make up`
// installs from the examples' own lockfile: NODE_PATH (which run-test points
// at tests/node_modules) is removed from tether up's environment, so a package
// missing there fails here as it would on a fresh clone.
'use strict';
const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('child_process');
const fs = require('fs');
const path = require('path');
const { MongoClient } = require('mongodb');
const L = require('./platform_lib');
const R = require('./runtime_lib');

L.deadline(240000);
let up;
let logs = '';
const logsOf = () => logs;
after(async () => {
  if (up && up.exitCode === null) {
    up.kill('SIGTERM');
    await new Promise((r) => up.on('exit', r));
  }
});

const TEMPLATE = path.join(R.EXAMPLES, 'template.yaml');
const DB_USERS = path.join(R.EXAMPLES, 'db-users.json');

// Invokes every function of names once on port: each answers, lifecycle-fail
// and node-callback-waits (MongoDB's Node pitfall, reproduced below) with the
// error they are made to give; orders-get finds the order orders-create made.
async function invokeAll(port, names, logsOf) {
  const payloads = {
    'orders-create': { id: 7, item: 'book', qty: 2 },
    'orders-get': { id: 7 },
  };
  for (const name of names) {
    const r = await L.invoke(port, name, payloads[name] || { hello: name });
    assert.equal(r.status, 200, `${name}: ${r.body}`);
    if (name === 'lifecycle-fail') {
      assert.ok(r.headers['x-amz-function-error'], `${name} fails on purpose: ${r.body}`);
      continue;
    }
    if (name === 'node-callback-waits') {
      assert.equal(JSON.parse(r.body).errorType, 'Sandbox.Timedout', r.body);
      continue;
    }
    assert.equal(r.headers['x-amz-function-error'], undefined, `${name}: ${r.body}\n${logsOf().slice(-4000)}`);
    if (name === 'orders-get') assert.match(r.body, /book/);
  }
}

test('every example function in the template answers', async () => {
  const names = [...fs.readFileSync(TEMPLATE, 'utf8').matchAll(/^\s+FunctionName: (\S+)$/gm)].map((m) => m[1]);
  assert.ok(names.length >= 11, names.join(' '));
  const env = { ...process.env };
  delete env.NODE_PATH;
  // the Makefile's `up` line, on free ports
  const make = fs.readFileSync(path.join(L.SRC, 'Makefile'), 'utf8');
  assert.match(make, /build\/tether up --template build\/examples\/template\.yaml --db-users build\/examples\/db-users\.json/);
  up = spawn(L.BIN, ['up', '--port', '0', '--db-port', '0', '--template', TEMPLATE, '--db-users', DB_USERS],
    { env, stdio: ['ignore', 'pipe', 'pipe'] });
  logs = '';
  up.stdout.on('data', (d) => { logs += d; });
  up.stderr.on('data', (d) => { logs += d; });
  await L.waitFor('tether up to serve with its docstore', () => {
    if (up.exitCode !== null) throw new Error(`tether up exited:\n${logs}`);
    return /docstore users from [^\n]*\n/.test(logs);
  }, 20000);
  assert.doesNotMatch(logs, /WARN/, 'every Role the template names has its database user');
  const port = L.platformPort(logs);
  await invokeAll(port, names, () => logs);
  // the database functions really used it: counters went up, the order is there
  for (const name of ['counter', 'node-counter']) {
    const r = await R.invokeWarm(port, name, {});
    assert.equal(JSON.parse(r.body).hits, 2, `${name}: ${r.body}`);
  }
  const list = await L.invoke(port, 'node-orders-list', {});
  assert.match(list.body, /book/);

  // least privilege: the orders readers' role (its credentials taken from
  // orders-get's instance, as the Node driver reads them from AWS_*) reads
  // app and may not write it
  const [inst] = L.instancesOf(await L.status(port), 'orders-get');
  const environ = fs.readFileSync(`/proc/${inst.pid}/environ`, 'utf8').split('\0');
  const saved = {};
  for (const k of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN']) {
    saved[k] = process.env[k];
    process.env[k] = environ.find((e) => e.startsWith(`${k}=`)).slice(k.length + 1);
  }
  const dbPort = Number(logs.match(/\[platform\] docstore listening on [^\s:]+:(\d+)/)[1]);
  const reader = new MongoClient(`mongodb://127.0.0.1:${dbPort}/?authMechanism=MONGODB-AWS&authSource=%24external`,
    { serverSelectionTimeoutMS: 5000 });
  try {
    assert.equal((await reader.db('app').collection('orders').findOne({ id: 7 })).item, 'book');
    await assert.rejects(reader.db('app').collection('orders').insertOne({ id: 8 }), (e) => e.code === 13);
  } finally {
    await reader.close();
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
});

test("MongoDB's Node pitfall: a callback handler waits for an empty event loop unless told not to", async () => {
  const port = L.platformPort(logsOf());
  // callbackWaitsForEmptyEventLoop = false: answers at once, the instance and its client kept
  const a = JSON.parse((await R.invokeWarm(port, 'node-callback', {})).body);
  const b = JSON.parse((await R.invokeWarm(port, 'node-callback', {})).body);
  assert.equal(b.instance, a.instance, 'one instance, its client reused');
  assert.equal(b.hits, a.hits + 1);
  // the default: the open client keeps the event loop busy, so the answer
  // never goes out and the invocation times out, as on Lambda; the instance
  // (and its connection) is thrown away every time
  for (let i = 0; i < 2; i++) {
    const r = await L.invoke(port, 'node-callback-waits', {});
    const e = JSON.parse(r.body);
    assert.equal(e.errorType, 'Sandbox.Timedout', r.body);
    assert.match(e.errorMessage, /Task timed out after 3\.00 seconds/);
    await L.waitFor('the timed-out instance to be gone', async () =>
      L.instancesOf(await L.status(port), 'node-callback-waits').length === 0, 10000);
  }
});

test('with --db-tls every example function works over TLS, and a plaintext client is refused', async () => {
  const names = [...fs.readFileSync(TEMPLATE, 'utf8').matchAll(/^\s+FunctionName: (\S+)$/gm)].map((m) => m[1])
    .filter((n) => n !== 'node-callback-waits'); // its timeout is shown above
  const env = { ...process.env };
  delete env.NODE_PATH;
  const tlsUp = spawn(L.BIN, ['up', '--port', '0', '--db-port', '0', '--template', TEMPLATE, '--db-users', DB_USERS,
    '--db-tls'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  tlsUp.stdout.on('data', (d) => { text += d; });
  tlsUp.stderr.on('data', (d) => { text += d; });
  try {
    await L.waitFor('tether up --db-tls to serve', () => {
      if (tlsUp.exitCode !== null) throw new Error(`tether up exited:\n${text}`);
      return /docstore users from [^\n]*\n/.test(text);
    }, 20000);
    assert.match(text, /docstore accepts only TLS \(--db-tls\)/);
    await invokeAll(L.platformPort(text), names, () => text);
    const dbPort = Number(text.match(/\[platform\] docstore listening on [^\s:]+:(\d+)/)[1]);
    const plain = new MongoClient(`mongodb://127.0.0.1:${dbPort}/`, { serverSelectionTimeoutMS: 1500 });
    await assert.rejects(plain.connect());
    await plain.close();
  } finally {
    tlsUp.kill('SIGTERM');
    await new Promise((r) => (tlsUp.exitCode !== null ? r() : tlsUp.on('exit', r)));
  }
});
