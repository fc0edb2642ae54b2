// tether up --db-tls: the embedded docstore accepts only TLS, as Atlas does,
// with a certificate from a CA made at start. Functions get a MONGODB_URI
// with tls=true and trust that CA without any setting of their own: a C
// function from a folder (SSL_CERT_FILE: this machine's public CAs plus the
// local one), the same function from its zip, isolated (the sandbox's
// /etc/pki/tls/certs/ca-bundle.crt, where the managed client looks first), and
// a Node function with the official driver (NODE_EXTRA_CA_CERTS). A plaintext
// client is refused; the admin connection string verifies with the CA; the
// certificates are removed at exit.
'use strict';
const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const { MongoClient } = require('mongodb');
const L = require('./platform_lib');
const R = require('./runtime_lib');

L.deadline(240000);
const cleanup = [];
after(async () => {
  for (const c of cleanup.reverse()) await c();
});

let p, caPath, dbPort;

test('tether up --db-tls serves a template of C, zipped C and Node functions', async () => {
  const dir = path.join(L.TMP, 'tls');
  fs.mkdirSync(dir, { recursive: true });
  const zip = path.join(dir, 'counter.zip');
  const r = spawnSync(L.BIN, ['package', path.join(R.example('counter'), 'bootstrap'), '-o', zip], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const template = path.join(dir, 'template.yaml');
  fs.writeFileSync(template, [
    "AWSTemplateFormatVersion: '2010-09-09'",
    'Transform: AWS::Serverless-2016-10-31',
    'Resources:',
    '  Folder:',
    '    Type: AWS::Serverless::Function',
    '    Properties: {FunctionName: counter, Runtime: provided.al2023, Handler: counter, Timeout: 10,',
    `                 CodeUri: ${R.example('counter')}/}`,
    '  Zipped:',
    '    Type: AWS::Serverless::Function',
    '    Properties: {FunctionName: counter-zip, Runtime: provided.al2023, Handler: counter, Timeout: 10,',
    '                 CodeUri: counter.zip}',
    '  Node:',
    '    Type: AWS::Serverless::Function',
    '    Properties: {FunctionName: node-counter, Runtime: nodejs20.x, Handler: index.handler, Timeout: 10,',
    `                 CodeUri: ${path.join(R.EXAMPLES, 'node')}/}`,
    '',
  ].join('\n'));
  // NODE_PATH would let the Node function find packages elsewhere: as make up runs it
  const env = { ...process.env };
  delete env.NODE_PATH;
  p = await L.startPlatform({ template, db: true, args: ['--db-tls'], env });
  cleanup.push(() => p.stop());
  await L.waitFor('the TLS docstore line', () => /docstore accepts only TLS \(--db-tls\)/.test(p.logs()), 15000);
  caPath = p.logs().match(/with a local CA, (\S+)/)[1];
  dbPort = Number(p.logs().match(/docstore listening on [0-9.]+:(\d+) \(TLS\)/)[1]);
  assert.ok(fs.existsSync(caPath), caPath);
});

test('every function works over TLS, its client made once', async () => {
  for (const name of ['counter', 'counter-zip', 'node-counter']) {
    let pid;
    for (let i = 1; i <= 2; i++) {
      const r = await R.invokeWarm(p.port, name, {});
      assert.equal(r.headers['x-amz-function-error'], undefined, `${name}: ${r.body}\n${p.logs().slice(-3000)}`);
      const v = JSON.parse(r.body);
      assert.ok(v.hits >= 1, r.body);
      if (pid === undefined) pid = v.instance;
      assert.equal(v.instance, pid, `${name}: one instance`);
    }
  }
  const st = await L.status(p.port);
  const fns = Array.isArray(st.functions) ? st.functions
    : Object.entries(st.functions || {}).map(([name, f]) => ({ name, ...f }));
  const zipped = fns.find((f) => f.name === 'counter-zip' || f.function === 'counter-zip');
  assert.ok(zipped, JSON.stringify(st).slice(0, 400));
  assert.equal(zipped.isolated, true, 'the zip ran isolated');
});

test('a plaintext client is refused; TLS with the local CA is served', async () => {
  const plain = new MongoClient(`mongodb://127.0.0.1:${dbPort}/`, { serverSelectionTimeoutMS: 1500 });
  await assert.rejects(plain.connect(), /MongoServerSelectionError|ECONNRESET|closed/);
  await plain.close();
  const tls = new MongoClient(`mongodb://127.0.0.1:${dbPort}/?tls=true&tlsCAFile=${caPath}`,
    { serverSelectionTimeoutMS: 5000 });
  await tls.connect();
  const n = await tls.db('app').collection('counters').countDocuments();
  assert.ok(n >= 2, `counters: ${n}`);
  await tls.close();
  // the bundle unisolated C functions verify with still holds this machine's public CAs
  const bundle = fs.readFileSync(path.join(path.dirname(caPath), 'ca-bundle.pem'), 'utf8');
  const certs = (bundle.match(/-----BEGIN CERTIFICATE-----/g) || []).length;
  assert.ok(certs > 1, `${certs} certificates in the bundle`);
  assert.ok(bundle.endsWith(fs.readFileSync(caPath, 'utf8')), 'the local CA last');
});

test('the certificates are removed at exit', async () => {
  await p.stop();
  assert.ok(!fs.existsSync(caPath), caPath);
});

test('tether db --tls-local DIR does the same on its own', async () => {
  const dir = path.join(L.TMP, 'local-ca');
  const db = await R.startDocstore(['--tls-local', dir]);
  cleanup.push(() => db.stop());
  assert.match(db.logs(), /TLS with a local CA: clients verify the server with \S+\/ca\.pem/);
  assert.equal(fs.statSync(path.join(dir, 'server-key.pem')).mode & 0o777, 0o600);
  const c = new MongoClient(`mongodb://localhost:${db.port}/?tls=true&tlsCAFile=${path.join(dir, 'ca.pem')}`,
    { serverSelectionTimeoutMS: 5000 });
  await c.connect();
  assert.equal((await c.db('admin').command({ getParameter: 1, tlsMode: 1 })).tlsMode, 'requireTLS');
  await c.close();
  const plain = new MongoClient(`mongodb://127.0.0.1:${db.port}/`, { serverSelectionTimeoutMS: 1500 });
  await assert.rejects(plain.connect());
  await plain.close();
  // --tls-local makes its own certificate
  const r = spawnSync(L.BIN, ['db', '--port', '0', '--tls-local', dir, '--tls-cert', 'x', '--tls-key', 'y'], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--tls-local makes its own certificate/);
});
