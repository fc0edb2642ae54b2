// tether package's self-contained zips, run as AWS Lambda would run them on a
// machine that has nothing of this one: each example bootstrap built here
// (echo; counter and orders, which link libmongoc) is packaged, unzipped into
// ROOT/var/task of an otherwise empty root holding only a static shell at
// /bin/sh (Debian's busybox-static) and /proc, and started with chroot against
// a Runtime API served by this test. Nothing of this machine's /lib or /usr is
// reachable, so the zip's own loader, glibc and libraries are what runs. (/proc
// is there for the sanitizer runtime of the test build, which reads
// /proc/self/maps; Lambda has /proc too.) The database functions reuse one
// client across events, counted from the docstore's side.
'use strict';
const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn, spawnSync } = require('child_process');
const fs = require('fs');
const http = require('http');
const path = require('path');
const L = require('./platform_lib');
const R = require('./runtime_lib');

// Three packagings (two of the 19-file libmongoc examples) and three instances
// under ASan: a bound on a hang; ctest allows 600 s.
L.deadline(300000);
const cleanup = [];
after(async () => {
  for (const c of cleanup.reverse()) await c();
});

const BUSYBOX = '/bin/busybox';
// where this machine keeps chroot and mount (the runtime's own PATH is /bin, in its root)
const which = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).stdout.trim();
const CHROOT = which('chroot');
const MOUNT = which('mount');

// A Runtime API for one runtime: hands out the queued events in order and
// collects the answers. The extension API is served too (a function with a
// shutdown callback registers the no-op internal extension).
function startRuntimeApi() {
  const waiting = []; // pending GET /next responses
  const events = []; // [id, payload] not yet handed out
  const answers = new Map(); // id -> { resolve, ... }
  let initError = null;
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      const u = req.url;
      if (u === '/2018-06-01/runtime/invocation/next') {
        waiting.push(res);
        pump();
      } else if (/^\/2018-06-01\/runtime\/invocation\/[^/]+\/(response|error)$/.test(u)) {
        const [, , , , id, kind] = u.split('/');
        const a = answers.get(id);
        res.writeHead(202).end('{"status":"OK"}');
        if (a) a.resolve({ kind, body, headers: req.headers });
      } else if (u === '/2018-06-01/runtime/init/error') {
        initError = body;
        res.writeHead(202).end('{"status":"OK"}');
      } else if (u === '/2020-01-01/extension/register') {
        res.writeHead(200, { 'Lambda-Extension-Identifier': 'ext-1', 'Content-Type': 'application/json' })
          .end('{"functionName":"f","functionVersion":"$LATEST","handler":"h"}');
      } else if (u === '/2020-01-01/extension/event/next') {
        // held until the test ends (no SHUTDOWN is sent)
      } else {
        res.writeHead(404).end();
      }
    });
  });
  function pump() {
    while (waiting.length && events.length) {
      const [id, payload] = events.shift();
      waiting.shift().writeHead(200, {
        'Content-Type': 'application/json',
        'Lambda-Runtime-Aws-Request-Id': id,
        'Lambda-Runtime-Deadline-Ms': String(Date.now() + 10000),
        'Lambda-Runtime-Invoked-Function-Arn': 'arn:aws:lambda:us-east-1:123456789012:function:f',
      }).end(payload);
    }
  }
  let seq = 0;
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    port: server.address().port,
    initError: () => initError,
    invoke(payload) {
      const id = `req-${++seq}`;
      const p = new Promise((res, rej) => {
        const t = setTimeout(() => rej(new Error(`no answer to ${id} in 60 s (init error: ${initError})`)), 60000);
        t.unref();
        answers.set(id, { resolve: (v) => { clearTimeout(t); res(v); } });
      });
      events.push([id, JSON.stringify(payload)]);
      pump();
      return p;
    },
    stop: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }),
  })));
}

// Packages build/examples/NAME/bootstrap, checks the zip's shape and unzips it
// into a fresh root, ROOT_NAME. Returns the root.
function packageIntoRoot(name, rootName = name) {
  const zip = path.join(L.TMP, `${name}.zip`);
  const r = spawnSync(L.BIN, ['package', path.join(R.example(name), 'bootstrap'), '-o', zip], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /self-contained: bin\/bootstrap starts through the bundled ld-linux-[^ ]+\.so\.\d/);
  assert.match(r.stdout, / files, [\d.]+ (MiB|KiB) unzipped \(Lambda allows 250 MiB\), [\d.]+ (MiB|KiB) zipped/);
  const list = spawnSync('zipinfo', [zip], { encoding: 'utf8' }).stdout.split('\n');
  for (const want of ['bootstrap', 'bin/bootstrap', 'lib/libc.so.6'])
    assert.ok(list.some((l) => l.endsWith(` ${want}`)), `${want} is in the zip:\n${list.join('\n')}`);
  assert.match(list.find((l) => / bootstrap$/.test(l)), /^-rwxr-xr-x/, 'bootstrap is executable');
  const root = path.join(L.TMP, `root-${rootName}`);
  for (const d of ['var/task', 'bin', 'proc']) fs.mkdirSync(path.join(root, d), { recursive: true });
  const u = spawnSync('unzip', ['-q', zip, '-d', path.join(root, 'var/task')], { encoding: 'utf8' });
  assert.equal(u.status, 0, u.stderr);
  fs.copyFileSync(BUSYBOX, path.join(root, 'bin/sh'));
  fs.chmodSync(path.join(root, 'bin/sh'), 0o755);
  return root;
}

// Starts ROOT/var/task/bootstrap chrooted into root, in a mount namespace of
// its own with /proc mounted, as a Lambda runtime against api.
function startInRoot(root, api, env) {
  const proc = spawn('unshare', ['--mount', '--propagation', 'private', '--', 'sh', '-c',
    '"$2" -t proc proc "$1/proc" && exec "$3" "$1" /var/task/bootstrap', 'sh', root, MOUNT, CHROOT], {
    stdio: ['ignore', 'inherit', 'pipe'],
    env: {
      PATH: '/bin',
      AWS_LAMBDA_RUNTIME_API: `127.0.0.1:${api.port}`,
      LAMBDA_TASK_ROOT: '/var/task',
      // what Lambda sets: the image's own libraries, which a self-contained zip must not need
      LD_LIBRARY_PATH: '/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib',
      TETHER_LOG_LEVEL: 'info',
      ASAN_OPTIONS: 'detect_leaks=0',
      ...env,
    },
  });
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise((r) => proc.on('exit', (code, sig) => r({ code, sig })));
  cleanup.push(async () => { proc.kill('SIGKILL'); await exited; });
  return { proc, stderr: () => stderr, exited };
}

test('prerequisites: root, chroot, unshare and a static busybox', () => {
  assert.equal(process.getuid(), 0, 'chroot needs root');
  assert.ok(fs.existsSync(BUSYBOX), 'busybox-static is installed (scripts/deps.sh test)');
  assert.ok(CHROOT && MOUNT, 'chroot and mount are on PATH');
  const f = spawnSync('file', ['-L', BUSYBOX], { encoding: 'utf8' });
  if (f.status === 0) assert.match(f.stdout, /statically linked/);
});

test('echo runs from its zip in an empty root', async () => {
  const root = packageIntoRoot('echo');
  assert.deepEqual(fs.readdirSync(root).sort(), ['bin', 'proc', 'var']);
  const api = await startRuntimeApi();
  cleanup.push(() => api.stop());
  const rt = startInRoot(root, api, { _HANDLER: 'echo', AWS_LAMBDA_FUNCTION_NAME: 'echo' });
  for (const payload of [{ hello: 'root' }, { n: 2 }]) {
    const a = await api.invoke(payload);
    assert.equal(a.kind, 'response', `${a.body}\n${rt.stderr()}`);
    assert.deepEqual(JSON.parse(a.body), payload);
  }
});

let db;
test('start a docstore', async () => {
  db = await R.startDocstore();
  cleanup.push(() => db.stop());
});

// The docstore logs each connection's handshake with its appName
// (AWS_LAMBDA_FUNCTION_NAME for the managed client).
// The log reaches this process through a pipe, maybe after the answer: wait
// for the first handshake line, then count.
const handshakes = (logs, app) => (logs.match(new RegExp(`\\] client \\S+ \\S+ app ${app}$`, 'gm')) || []).length;
async function opened(app, store = db) {
  await L.waitFor(`${app}'s handshake in the docstore's log`, () => handshakes(store.logs(), app) > 0, 10000);
  return handshakes(store.logs(), app);
}

test('counter runs from its zip in an empty root and reuses one client', async () => {
  const root = packageIntoRoot('counter');
  const api = await startRuntimeApi();
  cleanup.push(() => api.stop());
  const rt = startInRoot(root, api, {
    _HANDLER: 'counter', AWS_LAMBDA_FUNCTION_NAME: 'zip-counter', MONGODB_URI: db.uri,
  });
  let pid;
  for (let i = 1; i <= 4; i++) {
    const a = await api.invoke({});
    assert.equal(a.kind, 'response', `${a.body}\n${rt.stderr()}`);
    const { hits, instance } = JSON.parse(a.body);
    assert.equal(hits, i);
    if (pid === undefined) pid = instance;
    assert.equal(instance, pid, 'one process');
  }
  assert.equal(await opened('zip-counter'), 1, db.logs());
  // the zip's script keeps libmongoc's counters out of /dev/shm, which Lambda lacks
  assert.ok(!rt.stderr().includes('Falling back to malloc for counters'), rt.stderr());
  // the process maps the zip's libraries, not this machine's
  const maps = fs.readFileSync(`/proc/${rt.proc.pid}/maps`, 'utf8');
  assert.ok(/\/var\/task\/lib\/libmongoc-1\.0\.so\.0$/m.test(maps), 'libmongoc from the zip');
  assert.ok(/\/var\/task\/lib\/libc\.so\.6$/m.test(maps), 'glibc from the zip');
  assert.ok(!/ \/(usr\/)?lib\//m.test(maps), 'nothing from /lib or /usr/lib');
});

test('orders (three logical functions, one client module) run from their zip', async () => {
  const root = packageIntoRoot('orders');
  const started = [];
  for (const h of ['orders.create', 'orders.list']) {
    const api = await startRuntimeApi();
    cleanup.push(() => api.stop());
    const rt = startInRoot(root, api, {
      _HANDLER: h, AWS_LAMBDA_FUNCTION_NAME: `zip-${h.replace('.', '-')}`, MONGODB_URI: db.uri,
    });
    started.push({ h, api, rt });
  }
  const [create, list] = started;
  for (const item of ['book', 'pen']) {
    const a = await create.api.invoke({ item, qty: 1 });
    assert.equal(a.kind, 'response', `${a.body}\n${create.rt.stderr()}`);
  }
  const a = await list.api.invoke({});
  assert.equal(a.kind, 'response', `${a.body}\n${list.rt.stderr()}`);
  const items = JSON.stringify(JSON.parse(a.body));
  assert.ok(items.includes('book') && items.includes('pen'), items);
  assert.equal(await opened('zip-orders-create'), 1, db.logs());
  assert.equal(await opened('zip-orders-list'), 1, db.logs());
});

test('counter connects with tls=true from the root, given only a CA bundle at Amazon Linux 2023\'s path', async () => {
  // a CA and a server certificate for 127.0.0.1 it signs, made here
  const dir = path.join(L.TMP, 'tls');
  fs.mkdirSync(dir, { recursive: true });
  const f = (n) => path.join(dir, n);
  const ssl = (...args) => {
    const r = spawnSync('openssl', args, { encoding: 'utf8', timeout: 60000 });
    assert.equal(r.status, 0, r.stderr);
  };
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.pem'),
    '-days', '2', '-subj', '/CN=tether zip test CA');
  ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('server.key'), '-out', f('server.csr'),
    '-subj', '/CN=localhost');
  fs.writeFileSync(f('san.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  ssl('x509', '-req', '-in', f('server.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'),
    '-CAcreateserial', '-out', f('server.pem'), '-days', '2', '-extfile', f('san.ext'));
  const tlsDb = await R.startDocstore(['--tls-cert', f('server.pem'), '--tls-key', f('server.key')]);
  cleanup.push(() => tlsDb.stop());

  const root = packageIntoRoot('counter', 'counter-tls');
  fs.mkdirSync(path.join(root, 'etc/pki/tls/certs'), { recursive: true });
  fs.copyFileSync(f('ca.pem'), path.join(root, 'etc/pki/tls/certs/ca-bundle.crt'));
  const uri = `mongodb://127.0.0.1:${tlsDb.port}/?tls=true`;
  const api = await startRuntimeApi();
  cleanup.push(() => api.stop());
  const rt = startInRoot(root, api, { _HANDLER: 'counter', AWS_LAMBDA_FUNCTION_NAME: 'zip-tls', MONGODB_URI: uri });
  for (let i = 1; i <= 2; i++) {
    const a = await api.invoke({});
    assert.equal(a.kind, 'response', `${a.body}\n${rt.stderr()}`);
    assert.equal(JSON.parse(a.body).hits, i);
  }
  assert.equal(await opened('zip-tls', tlsDb), 1, tlsDb.logs());

  // without the bundle, the managed client says so at init, naming where it looked
  fs.unlinkSync(path.join(root, 'etc/pki/tls/certs/ca-bundle.crt'));
  const api2 = await startRuntimeApi();
  cleanup.push(() => api2.stop());
  const rt2 = startInRoot(root, api2, { _HANDLER: 'counter', AWS_LAMBDA_FUNCTION_NAME: 'zip-tls2', MONGODB_URI: uri });
  await L.waitFor('the init error', () => api2.initError(), 30000);
  assert.match(api2.initError(), /\/etc\/pki\/tls\/certs\/ca-bundle\.crt/);
  assert.match(api2.initError(), /SSL_CERT_FILE/);
  await rt2.exited;
});
