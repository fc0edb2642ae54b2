// MongoDB's network guidance, enforced by libtether's managed client: the
// counter example on tether up, its MONGODB_URI naming a public address in
// plaintext, fails init with the explanation (TLS, a private network, or the
// opt-out) before any packet goes to that address; with tls=true it may try
// (and fails to connect, not the guidance); a private address may try; the
// loopback docstore works; the opt-out lets the plaintext public URI try.
// The test names public addresses, so it runs itself in a network namespace
// of its own holding only `lo`: nothing can leave the machine.
'use strict';
const { spawnSync } = require('child_process');

if (process.env.TETHER_TEST_NETNS !== '1') {
  const r = spawnSync('unshare', ['--net', '--', 'sh', '-c', 'ip link set lo up && exec "$@"', 'sh',
    process.execPath, __filename], { stdio: 'inherit', env: { ...process.env, TETHER_TEST_NETNS: '1' } });
  process.exit(r.status === null ? 1 : r.status);
}

const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const L = require('./platform_lib');
const R = require('./runtime_lib');

L.deadline(180000);
const cleanup = [];
after(async () => {
  for (const c of cleanup.reverse()) await c();
});

let p, db;

function errorOf(r) {
  assert.equal(r.status, 200, r.body);
  assert.ok(r.headers['x-amz-function-error'], `an error: ${r.body}`);
  return JSON.parse(r.body);
}

test('in a network namespace with only lo', () => {
  // /proc/net/dev lists this namespace's interfaces (/sys shows the mount's)
  const links = fs.readFileSync('/proc/net/dev', 'utf8').split('\n').slice(2)
    .map((l) => l.split(':')[0].trim()).filter(Boolean);
  assert.deepEqual(links, ['lo']);
});

test('start a docstore and tether up with functions for each kind of address', async () => {
  db = await R.startDocstore();
  cleanup.push(() => db.stop());
  const counter = R.example('counter');
  const fn = (name, uri, env = {}) => ({ name, code: counter, handler: 'counter', timeout: 10,
    env: { MONGODB_URI: uri, ...env } });
  const template = R.writeTemplate(path.join(L.TMP, 'net'), [
    fn('public-plain', 'mongodb://app:s3cret@8.8.8.8:27017/app'),
    fn('public-name', 'mongodb://db.invalid:27017/app'),
    fn('public-tls', 'mongodb://8.8.8.8:27017/app?tls=true&tlsCAFile=/etc/ssl/certs/ca-certificates.crt'),
    fn('private-plain', 'mongodb://10.1.2.3:27017/app'),
    fn('loopback', db.uri),
    fn('opted-out', 'mongodb://8.8.8.8:27017/app', { TETHER_DB_ALLOW_PUBLIC_PLAINTEXT: '1' }),
  ]);
  p = await L.startPlatform({ template });
  cleanup.push(() => p.stop());
});

test('plaintext to a public address fails init with the explanation, naming no secret', async () => {
  const r = await L.invoke(p.port, 'public-plain', {});
  const e = errorOf(r);
  assert.equal(e.errorType, 'DatabaseConfigError');
  assert.match(e.errorMessage, /8\.8\.8\.8:27017 in plaintext, a public address/);
  assert.match(e.errorMessage, /tls=true/);
  assert.match(e.errorMessage, /VPC peering, a private endpoint/);
  assert.match(e.errorMessage, /TETHER_DB_ALLOW_PUBLIC_PLAINTEXT=1/);
  assert.ok(!r.body.includes('s3cret'), r.body);
  assert.ok(!p.logs().includes('s3cret'), 'no password in the log');
});

test('a name that cannot be resolved cannot be shown private: refused the same way', async () => {
  const e = errorOf(await L.invoke(p.port, 'public-name', {}));
  assert.equal(e.errorType, 'DatabaseConfigError');
  assert.match(e.errorMessage, /db\.invalid does not resolve/);
});

test('with tls=true, or to a private address, the client may try (and cannot connect here)', async () => {
  for (const name of ['public-tls', 'private-plain', 'opted-out']) {
    const e = errorOf(await L.invoke(p.port, name, {}));
    assert.notEqual(e.errorType, 'DatabaseConfigError', `${name}: ${e.errorMessage}`);
    assert.doesNotMatch(e.errorMessage, /public address/, name);
    assert.match(e.errorMessage, /unreachable|No suitable servers|connect|timed out/i, `${name}: ${e.errorMessage}`);
  }
});

test('the loopback docstore works', async () => {
  const r = await L.invoke(p.port, 'loopback', {});
  assert.equal(r.headers['x-amz-function-error'], undefined, r.body);
  assert.equal(JSON.parse(r.body).hits, 1);
});
