// Zips as CodeUri on tether up. `tether package` makes them here, self-contained
// (bootstrap: a /bin/sh script that starts bin/NAME through the bundled
// lib/ld-linux-x86-64.so.2 with --library-path lib; lib/: every library it
// loads, glibc included), from the test function fsview
// (tests/integration/functions/c) and the echo example; one with --host-libc. tether up unpacks each distinct zip once and runs it
// isolated by default: fsview, asked through @aws-sdk/client-lambda, sees a
// root holding only bin dev etc opt proc tmp var, no /usr, /lib or /lib64,
// its code read-only at /var/task (its cwd and LAMBDA_TASK_ROOT), a writable
// /tmp, and a /bin/sh (busybox-static) that answers. A zip whose lib/ lacks
// libc.so.6 fails its invocation as AWS reports it (Runtime.ExitError, exit
// status 127) with the loader's message naming the library in the log tail;
// so does one whose library only its owner may read (the instance runs as
// Lambda's sbx_user1051).
// The counter example's zip (libmongoc) runs isolated against the embedded
// docstore with MONGODB-AWS and reuses its one connection.
// --no-isolate runs the same zips on this machine's files, --isolate a folder
// in the sandbox; without CAP_SYS_ADMIN tether up says once that isolation is
// not available and runs unisolated; a zip with an entry climbing out of its
// folder is refused at start; the unpacked files are gone after exit.
'use strict';
const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn, spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const { LambdaClient, InvokeCommand, GetFunctionConfigurationCommand } = require('@aws-sdk/client-lambda');
const L = require('./platform_lib');
const R = require('./runtime_lib');

// zips of ASan builds (about 20 MB each) and three tether up runs: a bound on a hang
L.deadline(240000);
const platforms = [];
const clients = [];
after(async () => {
  for (const c of clients) c.destroy();
  for (const p of platforms.reverse()) await p.stop();
});

const FSVIEW = path.join(R.BUILD, 'tests', 'functions', 'fsview', 'bootstrap');
const dir = path.join(L.TMP, 'zips');
fs.mkdirSync(dir, { recursive: true });

// tether package's self-contained zip of the executable bin, as name.zip
// (bootstrap: a sh script starting bin/NAME through lib/'s loader and glibc).
function pkg(name, bin, extra = []) {
  const out = path.join(dir, `${name}.zip`);
  const r = spawnSync(L.BIN, ['package', bin, '-o', out, '--name', name, ...extra], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return out;
}

// The same zip less the entries named (zip -d).
function without(name, from, entries) {
  const out = path.join(dir, `${name}.zip`);
  fs.copyFileSync(from, out);
  const r = spawnSync('zip', ['-q', '-d', out, ...entries], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return out;
}

// A template in dir: one function per [FunctionName, CodeUri relative to dir].
function writeTemplate(file, fns) {
  const lines = ['Transform: AWS::Serverless-2016-10-31', 'Globals:', '  Function:',
    '    Runtime: provided.al2023', '    Timeout: 10', 'Resources:'];
  fns.forEach(([name, code, more = []], i) => lines.push(`  Fn${i}:`, '    Type: AWS::Serverless::Function',
    '    Properties:', `      FunctionName: ${name}`, `      CodeUri: ${code}`, `      Handler: ${name}`,
    ...more.map((l) => `      ${l}`)));
  fs.writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

function client(port) {
  const c = new LambdaClient({
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDTETHERTEST', secretAccessKey: 'not-a-secret' },
    maxAttempts: 1,
  });
  clients.push(c);
  return c;
}

// Starts `[...prefix] tether up --port 0 ARGS` (no --no-db unless in args) and
// waits for its listening line: { port, logs(), stop() }, stopped after the tests.
async function startUp(args, prefix = []) {
  const argv = [...prefix, L.BIN, 'up', '--port', '0', ...args];
  const proc = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  proc.stderr.on('data', (d) => { log += d; });
  let exited = null;
  proc.on('exit', (code) => { exited = code; });
  const up = {
    logs: () => log,
    async stop() {
      if (exited !== null) return;
      proc.kill('SIGTERM');
      await L.waitFor('tether up to exit', () => exited !== null);
    },
  };
  platforms.push(up);
  up.port = await L.waitFor('the listening line', () => {
    if (exited !== null) throw new Error(`tether up exited: ${log}`);
    return L.platformPort(log);
  }, 20000);
  return up;
}

const enc = (o) => new TextEncoder().encode(JSON.stringify(o));
const dec = (u8) => JSON.parse(new TextDecoder().decode(u8));

function fnStatus(st, name) {
  const f = st.functions.find((x) => x.name === name);
  assert.ok(f, JSON.stringify(st));
  return f;
}

let template;
test('tether package makes the zips: self-contained, and one left to the target\'s glibc', () => {
  assert.ok(fs.existsSync(FSVIEW), `${FSVIEW} is missing: build the tests first`);
  const fsview = pkg('fsview', FSVIEW);
  pkg('echo', path.join(R.example('echo'), 'bootstrap'));
  const list = spawnSync('unzip', ['-Z1', fsview], { encoding: 'utf8' }).stdout.split('\n');
  for (const f of ['bootstrap', 'bin/fsview', 'lib/libc.so.6', 'lib/ld-linux-x86-64.so.2'])
    assert.ok(list.includes(f), `${f} in ${list.join(' ')}`);
  without('nolibc', fsview, ['lib/libc.so.6']);
  // a library readable by its owner only: Lambda, running sbx_user1051, cannot load it
  const priv = path.join(dir, 'private.d');
  let r = spawnSync('unzip', ['-q', fsview, '-d', priv], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  fs.chmodSync(path.join(priv, 'lib', 'libc.so.6'), 0o600);
  r = spawnSync('zip', ['-qr', path.join(dir, 'private.zip'), '.'], { cwd: priv, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  // the glibc-checked shape: the ELF program is the bootstrap and needs the
  // target's loader (checked against this machine's glibc, where it runs)
  const glibc = process.report.getReport().header.glibcVersionRuntime;
  pkg('hostlibc', path.join(R.example('echo'), 'bootstrap'), ['--host-libc', '--glibc', glibc]);
  // two functions on one zip: it is unpacked once
  template = writeTemplate(path.join(dir, 'template.yaml'), [['fsview', 'fsview.zip'],
    ['echo', 'echo.zip'], ['echo2', './echo.zip'], ['nolibc', 'nolibc.zip'], ['hostlibc', 'hostlibc.zip'], ['private', 'private.zip'],
    // /tmp is EphemeralStorage's size; its pages count against MemorySize here
    ['ephemeral', 'fsview.zip', ['MemorySize: 1024', 'EphemeralStorage:', '  Size: 600']]]);
});

let isolated;
test('isolated by default: only the code, /tmp, /proc, /dev and /bin/sh', async () => {
  const p = await L.startPlatform({ template });
  platforms.push(p);
  isolated = p;
  const lambda = client(p.port);
  const r = await lambda.send(new InvokeCommand({ FunctionName: 'fsview', Payload: enc({}) }));
  assert.equal(r.FunctionError, undefined, new TextDecoder().decode(r.Payload));
  const v = dec(r.Payload);
  assert.deepEqual(v.root.sort(), ['bin', 'dev', 'etc', 'opt', 'proc', 'tmp', 'var']);
  assert.equal(v.usr, false);
  assert.equal(v.lib, false);
  assert.equal(v.lib64, false);
  assert.equal(v.cwd, '/var/task');
  assert.equal(v.task_root, '/var/task');
  assert.equal(v.tmp_write, true);
  assert.equal(v.task_write, 'EROFS', '/var/task is read-only, as on Lambda');
  assert.equal(v.sh, '42', '/bin/sh (busybox) runs');
  assert.equal(v.path, '/usr/local/bin:/usr/bin/:/bin:/opt/bin', "Lambda's PATH");
  assert.equal(v.uid, 993, "Lambda's sbx_user1051, not root");
  // the instance's root is not this machine's (seen from here through /proc)
  assert.ok(!fs.existsSync(`/proc/${v.pid}/root/usr`));
  assert.ok(fs.existsSync(`/proc/${v.pid}/root/var/task/bin/fsview`));
  // the public CAs where Amazon Linux keeps them, as Lambda's image has them
  const ca = fs.readFileSync(`/proc/${v.pid}/root/etc/pki/tls/certs/ca-bundle.crt`, 'utf8');
  assert.match(ca, /-----BEGIN CERTIFICATE-----/);

  const st = await L.status(p.port);
  const f = fnStatus(st, 'fsview');
  assert.equal(f.codeSource, 'zip');
  assert.equal(f.codeUri, path.join(dir, 'fsview.zip'));
  assert.equal(f.isolated, true);
  assert.ok(fs.existsSync(path.join(f.codeDir, 'bin', 'fsview')), f.codeDir);
  assert.equal(fs.statSync(path.join(f.codeDir, 'bootstrap')).mode & 0o777, 0o755, 'modes kept');

  for (const name of ['echo', 'echo2']) {
    const e = await lambda.send(new InvokeCommand({ FunctionName: name, Payload: enc({ n: name }) }));
    assert.equal(e.FunctionError, undefined, new TextDecoder().decode(e.Payload));
    assert.deepEqual(dec(e.Payload), { n: name });
  }
  assert.equal(fnStatus(st, 'echo').codeDir, fnStatus(st, 'echo2').codeDir, 'one zip, unpacked once');
  assert.equal((p.logs().match(/\[platform zip\] .*echo\.zip: \d+ entries/g) || []).length, 1, p.logs());
});

test('an isolated /tmp is EphemeralStorage.Size: writing past it gets ENOSPC, as on Lambda', async () => {
  const lambda = client(isolated.port);
  const r = await lambda.send(new InvokeCommand({ FunctionName: 'ephemeral', Payload: enc({ fill_tmp_mb: 700 }) }));
  assert.equal(r.FunctionError, undefined, new TextDecoder().decode(r.Payload));
  const v = dec(r.Payload);
  assert.equal(v.errno, 'ENOSPC', JSON.stringify(v));
  assert.ok(v.filled_mb >= 590 && v.filled_mb <= 600, JSON.stringify(v));
  const c = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: 'ephemeral' }));
  assert.deepEqual(c.EphemeralStorage, { Size: 600 });
});

test('a zip whose lib/ lacks a library fails as AWS reports it, the loader naming it', async () => {
  const lambda = client(isolated.port);
  const r = await lambda.send(new InvokeCommand({ FunctionName: 'nolibc', Payload: enc({}), LogType: 'Tail' }));
  assert.equal(r.StatusCode, 200);
  assert.equal(r.FunctionError, 'Unhandled');
  const body = dec(r.Payload);
  assert.equal(body.errorType, 'Runtime.ExitError');
  assert.match(body.errorMessage, /^RequestId: [0-9a-f-]{36} Error: Runtime exited with error: exit status 127$/);
  const tail = Buffer.from(r.LogResult, 'base64').toString();
  assert.match(tail, /\/var\/task\/bootstrap: error while loading shared libraries: libc\.so\.6: cannot open shared object file: No such file or directory\n/);
  assert.match(tail, /INIT_REPORT Init Duration: [\d.]+ ms\tPhase: init\tStatus: error\tError Type: Runtime\.ExitError\n/);
  assert.match(tail, /\nRuntime\.ExitError\nEND RequestId: /);
  await L.waitFor('the exit line naming the library', () =>
    /\[nolibc 1\] exited in state init \(exit status 127\); its last line: .*libc\.so\.6: cannot open shared object file/.test(isolated.logs()));
});

test('a library that only its owner may read fails as on Lambda (sbx_user1051 cannot read it)', async () => {
  const r = await L.invoke(isolated.port, 'private', {}, { 'X-Amz-Log-Type': 'Tail' });
  assert.equal(r.headers['x-amz-function-error'], 'Unhandled', r.body);
  assert.equal(JSON.parse(r.body).errorType, 'Runtime.ExitError');
  const tail = Buffer.from(r.headers['x-amz-log-result'], 'base64').toString();
  // the loader searched --library-path and reports the last errno of its search
  assert.match(tail, /error while loading shared libraries: libc\.so\.6: cannot open shared object file/);
});

test('a zip that needs the target\'s loader does not start isolated, and the error says why', async () => {
  const lambda = client(isolated.port);
  const r = await lambda.send(new InvokeCommand({ FunctionName: 'hostlibc', Payload: enc({}) }));
  assert.equal(r.FunctionError, 'Unhandled');
  const body = dec(r.Payload);
  assert.equal(body.errorType, 'Runtime.InvalidEntrypoint');
  assert.match(body.errorMessage, /fork\/exec \/var\/task\/bootstrap: No such file or directory: .*ld-linux-x86-64\.so\.2.*--no-isolate/);
});

test('--no-isolate runs the same zips on this machine\'s files', async () => {
  const p = await L.startPlatform({ template, args: ['--no-isolate'] });
  platforms.push(p);
  const lambda = client(p.port);
  const r = await lambda.send(new InvokeCommand({ FunctionName: 'fsview', Payload: enc({}) }));
  assert.equal(r.FunctionError, undefined, new TextDecoder().decode(r.Payload));
  const v = dec(r.Payload);
  const f = fnStatus(await L.status(p.port), 'fsview');
  assert.equal(f.codeSource, 'zip');
  assert.equal(f.isolated, false);
  assert.equal(v.usr, true);
  assert.equal(v.uid, process.getuid());
  assert.equal(v.cwd, f.codeDir);
  assert.equal(v.task_root, f.codeDir);
  assert.equal(v.sh, '42');
  // this machine's loader and glibc serve the zip that does not bundle them
  const h = await lambda.send(new InvokeCommand({ FunctionName: 'hostlibc', Payload: enc({ h: 1 }) }));
  assert.equal(h.FunctionError, undefined, new TextDecoder().decode(h.Payload));
  assert.deepEqual(dec(h.Payload), { h: 1 });
  // and as root, the owner-only library loads: what failed isolated was the user
  const pr = await lambda.send(new InvokeCommand({ FunctionName: 'private', Payload: enc({}) }));
  assert.equal(pr.FunctionError, undefined, new TextDecoder().decode(pr.Payload));
  await p.stop();
  assert.ok(!fs.existsSync(f.codeDir), 'the unpacked zip is removed at exit');
});

test('--isolate isolates a folder function too', async () => {
  const folder = path.join(dir, 'fsview-folder');
  const u = spawnSync('unzip', ['-q', path.join(dir, 'fsview.zip'), '-d', folder], { encoding: 'utf8' });
  assert.equal(u.status, 0, u.stderr);
  const t = writeTemplate(path.join(dir, 'folder.yaml'), [['folder', 'fsview-folder']]);
  const p = await L.startPlatform({ template: t, args: ['--isolate'] });
  platforms.push(p);
  const r = await L.invoke(p.port, 'folder', {});
  assert.equal(r.headers['x-amz-function-error'], undefined, r.body);
  const v = JSON.parse(r.body);
  assert.equal(v.usr, false);
  assert.equal(v.cwd, '/var/task');
  const f = fnStatus(await L.status(p.port), 'folder');
  assert.equal(f.codeSource, 'folder');
  assert.equal(f.isolated, true);
  await p.stop();
});

test('without CAP_SYS_ADMIN (no mount namespace) it says so once and runs unisolated', async () => {
  // setpriv drops CAP_SYS_ADMIN from the bounding set: unshare(CLONE_NEWNS) then fails with EPERM
  const setpriv = spawnSync('sh', ['-c', 'command -v setpriv'], { encoding: 'utf8' }).stdout.trim();
  assert.ok(setpriv, 'setpriv (util-linux) is needed');
  const up = await startUp(['--no-db', '--template', template], [setpriv, '--bounding-set', '-sys_admin']);
  const log = up.logs();
  const port = up.port;
  assert.equal((log.match(/isolation is not available here/g) || []).length, 1, log);
  assert.match(log, /WARN .*isolation is not available here \(isolation: unshare\(CLONE_NEWNS\): Operation not permitted; .*functions run unisolated/);
  const r = await L.invoke(port, 'fsview', {});
  assert.equal(r.headers['x-amz-function-error'], undefined, r.body);
  assert.equal(JSON.parse(r.body).usr, true);
  assert.equal(fnStatus(await L.status(port), 'fsview').isolated, false);
});

test('a database function\'s zip runs isolated against the embedded docstore, one client reused', async () => {
  // counter (libmongoc) packaged here; its Role makes the docstore require
  // MONGODB-AWS with the role's credentials, as Atlas would
  pkg('counter', path.join(R.example('counter'), 'bootstrap'));
  const t = path.join(dir, 'db.yaml');
  fs.writeFileSync(t, ['Resources:', '  Counter:', '    Type: AWS::Serverless::Function', '    Properties:',
    '      FunctionName: counter', '      Runtime: provided.al2023', '      CodeUri: counter.zip',
    '      Handler: counter', '      Timeout: 10',
    '      Role: arn:aws:iam::123456789012:role/counter-fn', ''].join('\n'));
  const up = await startUp(['--db-port', '0', '--template', t]);
  const first = await L.invoke(up.port, 'counter', {});
  assert.equal(first.headers['x-amz-function-error'], undefined, first.body);
  await R.waitIdle(up.port, 'counter');
  const second = await L.invoke(up.port, 'counter', {});
  assert.equal(second.headers['x-amz-function-error'], undefined, second.body);
  const [a, b] = [JSON.parse(first.body), JSON.parse(second.body)];
  assert.equal(b.hits, a.hits + 1);
  assert.equal(b.instance, a.instance, 'the same instance');
  assert.ok(!fs.existsSync(`/proc/${a.instance}/root/usr`), 'isolated');
  assert.equal((up.logs().match(/\[docstore conn \d+ [^\]]*\] accepted/g) || []).length, 1,
    'one connection for both events');
  await up.stop();
});

test('a zip with an entry outside its folder is refused at start', async () => {
  const evil = path.join(dir, 'evil.zip');
  const py = spawnSync('python3', ['-c', 'import sys, zipfile\n' +
    'z = zipfile.ZipFile(sys.argv[1], "w")\nz.writestr("bootstrap", "#!/bin/sh\\n")\n' +
    'z.writestr("../escaped", "x")\nz.close()\n', evil], { encoding: 'utf8' });
  assert.equal(py.status, 0, py.stderr);
  const t = writeTemplate(path.join(dir, 'evil.yaml'), [['evil', 'evil.zip']]);
  const r = spawnSync(L.BIN, ['up', '--port', '0', '--no-db', '--template', t], { encoding: 'utf8', timeout: 20000 });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /function evil: CodeUri .*evil\.zip: entry '\.\.\/escaped' has a '\.\.' component/);
  assert.ok(!fs.existsSync(path.join(dir, 'escaped')));
});

test('the isolated platform\'s unpacked zips are removed at exit', async () => {
  const f = fnStatus(await L.status(isolated.port), 'fsview');
  await isolated.stop();
  assert.ok(!fs.existsSync(path.dirname(f.codeDir)), 'the private folder is gone');
});
