// tether package, on the counter example (libtether + libmongoc): the zip has
// bootstrap (0755) at the root and the non-glibc libraries under lib/;
// unpacked into an empty directory it runs on tether up against a docstore,
// and the running instance maps the bundled copies (found through
// $ORIGIN/lib), not the system's. Bad input gets exit status 2 and a message.
'use strict';
const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const L = require('./platform_lib');
const R = require('./runtime_lib');

L.deadline(120000);
const platforms = [];
after(async () => {
  for (const p of platforms.reverse()) await p.stop();
});

const zip = path.join(L.TMP, 'function.zip');
const unpacked = path.join(L.TMP, 'clean', 'fn');

test('tether package makes the zip', () => {
  const r = spawnSync(L.BIN, ['package', path.join(R.example('counter'), 'bootstrap'), '-o', zip],
    { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /bootstrap \+ .*lib\/libmongoc-1\.0\.so\.0/);
  const list = spawnSync('zipinfo', [zip], { encoding: 'utf8' });
  assert.equal(list.status, 0, list.stderr);
  const entries = list.stdout.split('\n');
  const boot = entries.find((l) => / bootstrap$/.test(l));
  assert.ok(boot, list.stdout);
  assert.match(boot, /^-rwxr-xr-x/, 'bootstrap is executable');
  for (const lib of ['libmongoc-1.0.so.0', 'libbson-1.0.so.0', 'libssl.so.3'])
    assert.ok(entries.some((l) => l.endsWith(` lib/${lib}`)), `${lib} is bundled`);
  for (const sys of ['libc.so.6', 'libm.so.6', 'ld-linux-x86-64.so.2', 'libpthread.so.0', 'libdl.so.2'])
    assert.ok(!entries.some((l) => l.endsWith(` lib/${sys}`)), `${sys} must not be bundled`);
});

test('unpacked into an empty directory, it runs on tether up with its own libraries', async () => {
  fs.mkdirSync(unpacked, { recursive: true });
  assert.deepEqual(fs.readdirSync(unpacked), []);
  const u = spawnSync('unzip', ['-q', zip, '-d', unpacked], { encoding: 'utf8' });
  assert.equal(u.status, 0, u.stderr);
  const db = await R.startDocstore();
  platforms.push(db);
  const template = R.writeTemplate(path.join(L.TMP, 'clean'), [
    { name: 'packaged', code: unpacked, handler: 'counter', env: { MONGODB_URI: db.uri } },
  ]);
  const p = await L.startPlatform({ template });
  platforms.push(p);
  const r = await L.invoke(p.port, 'packaged', {});
  assert.equal(r.status, 200, r.body);
  assert.equal(r.headers['x-amz-function-error'], undefined, r.body);
  const { hits, instance } = JSON.parse(r.body);
  assert.equal(hits, 1);
  const maps = fs.readFileSync(`/proc/${instance}/maps`, 'utf8');
  assert.ok(maps.includes(path.join(unpacked, 'lib', 'libmongoc-1.0.so.0')),
    'the instance loaded lib/libmongoc-1.0.so.0 from the package');
  assert.ok(!maps.includes(path.join(R.EXAMPLES, 'counter')), 'nothing from the build tree');
});

test('bad input: exit status 2 with a message', () => {
  const notElf = path.join(L.TMP, 'not-elf');
  fs.writeFileSync(notElf, '#!/bin/sh\necho hi\n');
  let r = spawnSync(L.BIN, ['package', notElf, '-o', path.join(L.TMP, 'x.zip')], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /not a 64-bit ELF executable/);
  r = spawnSync(L.BIN, ['package', path.join(L.TMP, 'missing'), '-o', path.join(L.TMP, 'x.zip')], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /not a file/);
  r = spawnSync(L.BIN, ['package'], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /usage: tether package/);
  assert.ok(!fs.existsSync(path.join(L.TMP, 'x.zip')));
});
