// tether package, on the counter example (libtether + libmongoc): the zip has
// bootstrap (0755) at the root and the non-glibc libraries under lib/;
// unpacked into an empty directory it runs on tether up against a docstore,
// and the running instance maps the bundled copies (found through
// $ORIGIN/lib), not the system's. The glibc check: the highest GLIBC_x.y the
// bootstrap and its bundled libraries need, computed independently here from
// binutils' readelf, is the figure tether prints; anything newer than the
// target (provided.al2023's 2.34 by default, --glibc X.Y) is refused with the
// file and the version named, unless --no-glibc-check. Bad input gets exit
// status 2 and a message.
'use strict';
const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const L = require('./platform_lib');
const R = require('./runtime_lib');

// Two compiles and eight packagings (two of the 15-library counter) under ASan:
// 114-121 s seen on the loaded 2-core machine. A bound on a hang; ctest allows 600 s.
L.deadline(420000);
const platforms = [];
after(async () => {
  for (const p of platforms.reverse()) await p.stop();
});

const zip = path.join(L.TMP, 'function.zip');
const unpacked = path.join(L.TMP, 'clean', 'fn');
const GLIBC_LIBS = ['libc.so.6', 'libm.so.6', 'ld-linux-x86-64.so.2', 'ld-linux-aarch64.so.1',
  'libpthread.so.0', 'libdl.so.2', 'librt.so.1', 'libresolv.so.2', 'libutil.so.1'];
// the glibc this test runs on: packaging for it must always pass the check
const HOST_GLIBC = process.report.getReport().header.glibcVersionRuntime;

// tether package --host-libc (the zip for the target's glibc, checked against it)
function pkg(args) {
  return spawnSync(L.BIN, ['package', '--host-libc', ...args], { encoding: 'utf8' });
}

// [major, minor] of "2.36"
function ver(s) {
  const m = /^(\d+)\.(\d+)/.exec(s);
  return [Number(m[1]), Number(m[2])];
}
function newer(a, b) {
  return a[0] !== b[0] ? a[0] > b[0] : a[1] > b[1];
}

// The highest GLIBC_x.y in file's version-needed section, by readelf (binutils).
function readelfGlibc(file) {
  const r = spawnSync('readelf', ['-V', '--wide', file], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const needs = r.stdout.split(/^Version needs section/m)[1] || '';
  let best = null;
  for (const m of needs.matchAll(/Name: GLIBC_(\d+)\.(\d+)/g)) {
    const v = [Number(m[1]), Number(m[2])];
    if (!best || newer(v, best)) best = v;
  }
  return best;
}

// What tether package should find for bootstrap: the highest need over it and
// every library ldd resolves (glibc's own excepted), and which file has it.
function expectedGlibc(bootstrap) {
  const files = [['bootstrap', bootstrap]];
  const r = spawnSync('ldd', [bootstrap], { encoding: 'utf8' });
  for (const m of r.stdout.matchAll(/^\s*(\S+) => (\/\S+)/gm)) {
    if (!GLIBC_LIBS.includes(m[1])) files.push([`lib/${m[1]}`, m[2]]);
  }
  let best = [0, 0], who = [];
  for (const [label, file] of files) {
    const v = readelfGlibc(file);
    if (!v) continue;
    if (newer(v, best)) { best = v; who = [label]; } else if (v[0] === best[0] && v[1] === best[1]) who.push(label);
  }
  return { version: best.join('.'), who };
}

// A small bootstrap compiled here with the $ORIGIN/lib rpath, linked with libs.
function buildBootstrap(name, code, libs) {
  const dir = path.join(L.TMP, name);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'main.c'), code);
  const out = path.join(dir, 'bootstrap');
  const r = spawnSync('cc', ['-O1', '-o', out, path.join(dir, 'main.c'), '-Wl,-rpath,$ORIGIN/lib',
    '-Wl,--disable-new-dtags', ...libs], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return out;
}

test('a bootstrap needing glibc 2.34 with a bundled library is fine for provided.al2023', () => {
  // libyaml (a build dependency of tether) needs an old glibc; the bootstrap
  // itself needs GLIBC_2.34 (__libc_start_main), as anything linked on glibc >= 2.34
  const boot = buildBootstrap('yaml', '#include <stdio.h>\n#include <yaml.h>\n' +
    'int main(void) { puts(yaml_get_version_string()); return 0; }\n', ['-lyaml']);
  const want = expectedGlibc(boot);
  assert.equal(want.version, '2.34', `readelf says ${JSON.stringify(want)}`);
  const out = path.join(L.TMP, 'yaml.zip');
  const r = pkg([boot, '-o', out]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /\n {2}bootstrap +[\d.]+ KiB\n {2}lib\/libyaml-0\.so\.2 +[\d.]+ KiB\n.*: 2 files, /);
  assert.ok(r.stdout.includes(`${out}: for the target's glibc: needs glibc \u2265 2.34: fine for provided.al2023 (glibc 2.34)\n`),
    r.stdout);
  assert.equal(r.stderr, '');
  assert.ok(fs.existsSync(out));

  // the same, for an older target: refused, naming the file and the version
  const refused = path.join(L.TMP, 'refused.zip');
  let q = pkg([boot, '-o', refused, '--glibc', '2.17']);
  assert.equal(q.status, 2, q.stdout);
  assert.match(q.stderr, /error: bootstrap \(.*\/yaml\/bootstrap\) needs GLIBC_2\.34 \(__libc_start_main[,)].* from libc\.so\.6, newer than glibc 2\.17/);
  assert.ok(!/lib\/libyaml/.test(q.stderr), 'libyaml needs less than 2.17: not named');
  assert.match(q.stderr, /not packaged: .*version `GLIBC_x\.y' not found/);
  assert.match(q.stderr, /--no-glibc-check to package it anyway/);
  assert.ok(!fs.existsSync(refused), 'nothing written');
  // and anyway, when asked
  q = pkg([boot, '-o', refused, '--glibc', '2.17', '--no-glibc-check']);
  assert.equal(q.status, 0, q.stderr);
  assert.match(q.stderr, /warning: bootstrap .* needs GLIBC_2\.34/);
  assert.match(q.stdout, /needs glibc \u2265 2\.34: NOT fine for glibc 2\.17, packaged anyway \(--no-glibc-check\)/);
  assert.ok(fs.existsSync(refused));
  // provided.al2 is named as such
  q = pkg([boot, '-o', refused, '--glibc', '2.26']);
  assert.equal(q.status, 2);
  assert.match(q.stderr, /newer than provided\.al2 \(glibc 2\.26\)/);
});

test('a bundled library needing a newer glibc than 2.34 is refused by name', () => {
  // Debian 12's libevent uses arc4random, new in glibc 2.36
  const boot = buildBootstrap('event', '#include <stdio.h>\n#include <event2/event.h>\n' +
    'int main(void) { puts(event_get_version()); return 0; }\n', ['-levent']);
  const lib = spawnSync('ldd', [boot], { encoding: 'utf8' }).stdout.match(/(libevent-[^ ]+) => (\S+)/);
  assert.ok(lib, 'ldd finds libevent');
  const v = readelfGlibc(lib[2]);
  assert.ok(newer(v, [2, 34]), `this test needs a libevent newer than glibc 2.34 (readelf: ${v})`);
  const out = path.join(L.TMP, 'event.zip');
  let r = pkg([boot, '-o', out]);
  assert.equal(r.status, 2, r.stdout);
  const esc = (x) => x.replace(/[.+]/g, '\\$&');
  const re = new RegExp(`error: lib/${esc(lib[1])} \\(${esc(lib[2])}\\) needs GLIBC_${v.join('\\.')} ` +
    '\\(([^)]*, )?arc4random[,)].* from libc\\.so\\.6, newer than provided\\.al2023 \\(glibc 2\\.34\\)');
  assert.match(r.stderr, re);
  assert.match(r.stderr, /Package it without --host-libc \(the zip then brings its own glibc\)/);
  assert.ok(!fs.existsSync(out));
  // targeting this machine's own glibc it passes
  r = pkg([boot, '-o', out, '--glibc', HOST_GLIBC]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`needs glibc \u2265 ${v.join('\\.')}: fine for glibc ${HOST_GLIBC.replace('.', '\\.')}`));
});

test('tether package makes the zip of the libmongoc example; the figure matches readelf', () => {
  const boot = path.join(R.example('counter'), 'bootstrap');
  const want = expectedGlibc(boot);
  console.log(`counter bootstrap + libraries need glibc ${want.version} (${want.who.join(', ')})`);
  // the default target is provided.al2023: refused exactly when something needs more than 2.34
  const strict = pkg([boot, '-o', zip]);
  if (newer(ver(want.version), [2, 34])) {
    assert.equal(strict.status, 2, strict.stdout);
    for (const who of want.who)
      assert.match(strict.stderr, new RegExp(`error: ${who.replace(/[.+]/g, '\\$&')} \\(.*\\) needs GLIBC_${want.version.replace('.', '\\.')}`));
    assert.ok(!fs.existsSync(zip));
  } else {
    assert.equal(strict.status, 0, strict.stderr);
    fs.unlinkSync(zip);
  }
  // packaged for this machine's glibc (the local run below)
  const r = pkg([boot, '-o', zip, '--glibc', HOST_GLIBC]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /\n {2}lib\/libmongoc-1\.0\.so\.0 /);
  assert.ok(r.stdout.includes(`needs glibc \u2265 ${want.version}: fine for glibc ${HOST_GLIBC}\n`), r.stdout);
  const list = spawnSync('zipinfo', [zip], { encoding: 'utf8' });
  assert.equal(list.status, 0, list.stderr);
  const entries = list.stdout.split('\n');
  const boot0 = entries.find((l) => / bootstrap$/.test(l));
  assert.ok(boot0, list.stdout);
  assert.match(boot0, /^-rwxr-xr-x/, 'bootstrap is executable');
  for (const lib of ['libmongoc-1.0.so.0', 'libbson-1.0.so.0', 'libssl.so.3'])
    assert.ok(entries.some((l) => l.endsWith(` lib/${lib}`)), `${lib} is bundled`);
  for (const sys of GLIBC_LIBS)
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

test('by default the zip is self-contained: glibc and the loader bundled, started by a script', () => {
  const boot = buildBootstrap('yaml2', '#include <stdio.h>\n#include <yaml.h>\n' +
    'int main(int argc, char **argv) { printf("%s %s %d\\n", argv[0], yaml_get_version_string(), argc); return 0; }\n', ['-lyaml']);
  const out = path.join(L.TMP, 'self.zip');
  const libz = spawnSync('sh', ['-c', 'ldd "$1" | grep -o "/[^ ]*/libz\\.so\\.1"', 'sh', '/bin/gzip'], { encoding: 'utf8' }).stdout.trim() ||
    '/lib/x86_64-linux-gnu/libz.so.1';
  const r = spawnSync(L.BIN, ['package', boot, '-o', out, '--name', 'yamlfn', '--also', libz], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /self-contained: bin\/yamlfn starts through the bundled ld-linux-x86-64\.so\.2 \(glibc 2\.\d+\)/);
  for (const f of ['bootstrap', 'bin/yamlfn', 'lib/ld-linux-x86-64.so.2', 'lib/libc.so.6', 'lib/libyaml-0.so.2',
    'lib/libgcc_s.so.1', 'lib/libz.so.1'])
    assert.match(r.stdout, new RegExp(`\n  ${f.replace(/[.+]/g, '\\$&')} +[\\d.]+ (B|KiB|MiB)\n`), f);
  assert.match(r.stdout, /: 7 files, [\d.]+ MiB unzipped \(Lambda allows 250 MiB\), [\d.]+ (KiB|MiB) zipped/);
  const dir = path.join(L.TMP, 'self');
  assert.equal(spawnSync('unzip', ['-q', out, '-d', dir]).status, 0);
  // the script is POSIX sh; the program gets its arguments and the script's path as argv[0]
  const run = spawnSync(path.join(dir, 'bootstrap'), ['a', 'b'], { encoding: 'utf8', env: { PATH: '/nonexistent' } });
  assert.equal(run.status, 0, run.stderr);
  assert.equal(run.stdout, `${path.join(dir, 'bootstrap')} ${spawnSync('sh', ['-c', 'echo $(pkg-config --modversion yaml-0.1)'], { encoding: 'utf8' }).stdout.trim()} 3\n`);
  // --glibc belongs to --host-libc
  const bad = spawnSync(L.BIN, ['package', boot, '-o', out, '--glibc', '2.34'], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--glibc and --no-glibc-check go with --host-libc/);
  for (const name of ['', '.hidden', 'a/b'])
    assert.equal(spawnSync(L.BIN, ['package', boot, '-o', out, '--name', name]).status, 2, name);
});

test('a static executable is its own bootstrap', () => {
  const dir = path.join(L.TMP, 'static');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'main.c'), 'int main(void) { return 0; }\n');
  const boot = path.join(dir, 'bootstrap');
  const c = spawnSync('cc', ['-static', '-o', boot, path.join(dir, 'main.c')], { encoding: 'utf8' });
  assert.equal(c.status, 0, c.stderr);
  const out = path.join(L.TMP, 'static.zip');
  const r = spawnSync(L.BIN, ['package', boot, '-o', out], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /a static executable: nothing to bundle\n {2}bootstrap +[\d.]+ KiB\n.*: 1 files, /);
  const list = spawnSync('zipinfo', ['-1', out], { encoding: 'utf8' });
  assert.equal(list.stdout, 'bootstrap\n');
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
  for (const bad of ['2', '2.', 'x.34', '2.34.1', '2.-1', '+2.34', '2.+3', ' 2.34', '0.1', '']) {
    r = pkg([path.join(R.example('counter'), 'bootstrap'), '-o', path.join(L.TMP, 'x.zip'), '--glibc', bad]);
    assert.equal(r.status, 2, bad);
    assert.match(r.stderr, /--glibc wants a version such as 2\.34/);
  }
  r = pkg([path.join(R.example('counter'), 'bootstrap'), '-o', path.join(L.TMP, 'x.zip'), '--glibc']);
  assert.equal(r.status, 2);
  assert.ok(!fs.existsSync(path.join(L.TMP, 'x.zip')));
});
