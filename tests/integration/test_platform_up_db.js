// What `tether up` says about its embedded docstore at start, and the admin
// connection string it leaves for the developer:
//   - without --db-dir, the docstore line says the data lives in memory, lost
//     at exit, and that --db-dir DIR keeps it; with it, where it is;
//   - under authentication (a function has a Role), a template MONGODB_URI
//     that replaces the MONGODB-AWS one is warned about, naming the function
//     and what it loses, with no password in the log;
//   - two `tether up` at once each have their admin-uri, named by the Invoke
//     API port (private: 0600 in a 0700 folder), which `tether admin-uri
//     --port N` prints and mongosh connects with; no password in the log or
//     /_tether/status; the folder goes at exit; a folder left by a killed
//     tether up is taken back, one others can enter is not trusted.
'use strict';
const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const { spawn } = require('child_process');
const L = require('./platform_lib');

L.deadline(150000);
const live = [];
after(async () => {
  for (const u of live) await u.stop();
});

const PASSWORD = 'pw-that-must-not-be-logged';
const NODE_CODE = path.join(L.FUNCTIONS, 'node');

// A template of Node functions (none is invoked). roles: whether one has a Role.
function writeTemplate(name, { roles }) {
  const dir = path.join(L.TMP, name);
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'template.yaml');
  fs.writeFileSync(file, [
    "AWSTemplateFormatVersion: '2010-09-09'",
    'Transform: AWS::Serverless-2016-10-31',
    'Globals:',
    '  Function:',
    '    Runtime: nodejs20.x',
    `    CodeUri: ${NODE_CODE}/`,
    '    Environment:',
    '      Variables:',
    `        MONGODB_URI: 'mongodb://app:${PASSWORD}@db.example.com:27017/app?retryWrites=true'`,
    'Resources:',
    '  OrdersCreate:',
    '    Type: AWS::Serverless::Function',
    '    Properties:',
    '      FunctionName: orders-create',
    '      Handler: handlers.echo',
    ...(roles ? ['      Role: arn:aws:iam::123456789012:role/orders-fn'] : []),
    '  Report:',
    '    Type: AWS::Serverless::Function',
    '    Properties:',
    '      FunctionName: report',
    '      Handler: handlers.echo',
    '      Environment:',
    '        Variables:',
    `          MONGODB_URI: 'mongodb+srv://reader:${PASSWORD}@cluster0.example.net/?authSource=admin'`,
    '',
  ].join('\n'));
  return file;
}

// With roles, tether up's last start line: the warning about report's
// MONGODB_URI (each line is a write of its own: wait for it, not the first).
const LAST_WITH_ROLES = /WARN +\[platform\] function report: [^\n]*\n/;

// Starts `tether up --port 0 --db-port 0 ARGS` and waits for its docstore
// line, and for the line last, when given.
async function up(template, args = [], last = null) {
  const proc = spawn(L.BIN, ['up', '--port', '0', '--db-port', '0', '--template', template, ...args],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  let exited = null;
  proc.stdout.on('data', (d) => { log += d; });
  proc.stderr.on('data', (d) => { log += d; });
  proc.on('exit', (code, sig) => { exited = { code, sig }; });
  const u = {
    log: () => log,
    async stop() {
      if (exited) return exited;
      proc.kill('SIGTERM');
      await L.waitFor('tether up to exit', () => exited, 15000).catch(() => proc.kill('SIGKILL'));
      return exited;
    },
  };
  live.push(u);
  const wait = (what, re) => L.waitFor(what, () => {
    if (exited) throw new Error(`tether up exited ${JSON.stringify(exited)}:\n${log}`);
    return log.match(re);
  }, 20000);
  u.port = Number((await wait('platform listening', /platform listening on [^\s:]+:(\d+)/))[1]);
  u.dbPort = Number((await wait('docstore listening', /\[platform\] docstore listening on [^\s:]+:(\d+) [^\n]*\n/))[1]);
  if (last) await wait(`the line ${last}`, last);
  return u;
}

function tether(args, env = {}) {
  return new Promise((resolve) => {
    const c = spawn(L.BIN, args, { env: Object.assign({}, process.env, env) });
    let out = '';
    let err = '';
    c.stdout.on('data', (d) => (out += d));
    c.stderr.on('data', (d) => (err += d));
    c.on('close', (code) => resolve({ code, out, err }));
  });
}

function mongoshPing(adminUriCommand) {
  const home = path.join(L.TMP, 'home');
  fs.mkdirSync(home, { recursive: true });
  return new Promise((resolve) => {
    // the README's recipe, with the port named
    const c = spawn('sh', ['-c', `mongosh --quiet --norc "$(${adminUriCommand})" --eval 'db.runCommand({ping: 1}).ok'`],
      { env: Object.assign({}, process.env, { HOME: home }) });
    let out = '';
    c.stdout.on('data', (d) => (out += d));
    c.stderr.on('data', (d) => (out += d));
    c.on('close', (code) => resolve({ code, out }));
  });
}

test('without --db-dir the docstore line says the data is in memory; with it, where', async () => {
  const file = writeTemplate('nodir', { roles: false });
  const a = await up(file);
  assert.match(a.log(), new RegExp(`\\[platform\\] docstore listening on 127\\.0\\.0\\.1:${a.dbPort} ` +
    '\\(data in memory, lost at exit: --db-dir DIR keeps it\\)'));
  // no Role: no authentication, so a template MONGODB_URI replaces nothing tether up guards
  assert.doesNotMatch(a.log(), /MONGODB_URI|admin-uri/);
  await a.stop();
  const dir = path.join(L.TMP, 'data');
  const b = await up(file, ['--db-dir', dir]);
  assert.match(b.log(), new RegExp(`docstore listening on 127\\.0\\.0\\.1:${b.dbPort} \\(data in ${dir}\\)`));
  assert.doesNotMatch(b.log(), /in memory/);
  await b.stop();
});

test('a template MONGODB_URI that replaces MONGODB-AWS is warned about, with no password', async () => {
  const a = await up(writeTemplate('roles', { roles: true }), [], LAST_WITH_ROLES);
  const warnings = a.log().split('\n').filter((l) => /WARN.*MONGODB_URI/.test(l));
  assert.equal(warnings.length, 2, a.log());
  // from Globals: the function with the Role
  assert.match(warnings[0], new RegExp(
    "function orders-create: the template's MONGODB_URI \\(mongodb://db\\.example\\.com:27017\\) " +
    'replaces the connection string tether up gives it, so it loses MONGODB-AWS authentication ' +
    'with its role arn:aws:iam::123456789012:role/orders-fn to the embedded docstore on ' +
    `127\\.0\\.0\\.1:${a.dbPort}, which requires authentication; remove MONGODB_URI from its ` +
    'Environment \\(or Globals\\) to keep it'));
  // its own Environment: the function given the default execution role
  assert.match(warnings[1], /function report: the template's MONGODB_URI \(mongodb\+srv:\/\/cluster0\.example\.net\) .* its role arn:aws:iam::123456789012:role\/Report-role-tether /);
  assert.ok(!a.log().includes(PASSWORD), 'no password in the log');
  const st = JSON.stringify(await L.status(a.port));
  assert.ok(!st.includes(PASSWORD), 'no password in /_tether/status');
  await a.stop();
});

test('two tether up: each admin-uri named by its port, private, printed by tether admin-uri', async () => {
  const file = writeTemplate('two', { roles: true });
  const [a, b] = await Promise.all([up(file, [], LAST_WITH_ROLES), up(file, [], LAST_WITH_ROLES)]);
  const uid = process.getuid();
  for (const u of [a, b]) {
    const dir = `/tmp/tether-up-${uid}/${u.port}`;
    assert.ok(u.log().includes(`an admin connection string is in ${dir}/admin-uri ` +
      `(\`tether admin-uri --port ${u.port}\` prints it)`), u.log());
    assert.equal(fs.statSync(dir).mode & 0o777, 0o700);
    assert.equal(fs.statSync(path.dirname(dir)).mode & 0o777, 0o700);
    assert.equal(fs.statSync(`${dir}/admin-uri`).mode & 0o777, 0o600);
    const r = await tether(['admin-uri', '--port', String(u.port)]);
    assert.equal(r.code, 0, r.err);
    const m = r.out.match(/^mongodb:\/\/admin:([^@]+)@127\.0\.0\.1:(\d+)\/\?authSource=admin\n$/);
    assert.ok(m, r.out);
    assert.equal(Number(m[2]), u.dbPort, 'each port names its own tether up');
    u.password = m[1];
    // the endpoint names the port as for tether invoke
    const e = await tether(['admin-uri'], { TETHER_ENDPOINT: `http://127.0.0.1:${u.port}/` });
    assert.equal(e.out, r.out);
    assert.ok(!u.log().includes(u.password), 'the admin password is not logged');
    assert.ok(!JSON.stringify(await L.status(u.port)).includes(u.password), 'nor in /_tether/status');
  }
  assert.notEqual(a.password, b.password);
  const sh = await mongoshPing(`${L.BIN} admin-uri --port ${b.port}`);
  assert.equal(sh.code, 0, sh.out);
  assert.equal(sh.out.trim(), '1');

  await a.stop();
  assert.equal(fs.existsSync(`/tmp/tether-up-${uid}/${a.port}`), false, 'the folder goes at exit');
  const gone = await tether(['admin-uri', '--port', String(a.port)]);
  assert.equal(gone.code, 1);
  assert.match(gone.err, new RegExp(`no /tmp/tether-up-${uid}/${a.port}/admin-uri: no tether up serves port ${a.port}`));
  assert.equal((await tether(['admin-uri', '--port', String(b.port)])).code, 0, 'the other is still there');
  await b.stop();
});

// A port nobody listens on now (the platform binds it right after).
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = require('net').createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

test('a folder left by a killed tether up is taken back; one open to others is not used', async () => {
  const file = writeTemplate('stale', { roles: true });
  const uid = process.getuid();
  fs.mkdirSync(`/tmp/tether-up-${uid}`, { recursive: true, mode: 0o700 });
  // left behind: the folder, a stale string, the lock file nobody holds
  let port = await freePort();
  let dir = `/tmp/tether-up-${uid}/${port}`;
  fs.mkdirSync(dir, { mode: 0o700 });
  fs.writeFileSync(`${dir}/admin-uri`, 'mongodb://stale/\n', { mode: 0o600 });
  fs.writeFileSync(`${dir}/lock`, '', { mode: 0o600 });
  let a = await up(file, ['--port', String(port)], LAST_WITH_ROLES);
  assert.ok(a.log().includes(`an admin connection string is in ${dir}/admin-uri`), a.log());
  let r = await tether(['admin-uri', '--port', String(port)]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, new RegExp(`@127\\.0\\.0\\.1:${a.dbPort}/`));
  await a.stop();
  assert.equal(fs.existsSync(dir), false);

  // a folder others can enter is not trusted by either side
  port = await freePort();
  dir = `/tmp/tether-up-${uid}/${port}`;
  fs.mkdirSync(dir);
  fs.chmodSync(dir, 0o755);
  try {
    a = await up(file, ['--port', String(port)], LAST_WITH_ROLES);
    assert.ok(a.log().includes(`${dir}: not a private folder of this user's`), a.log());
    const m = a.log().match(/an admin connection string is in (\/tmp\/tether-up\.\w+)\/admin-uri\n/);
    assert.ok(m, a.log());
    assert.equal(fs.statSync(m[1]).mode & 0o777, 0o700);
    r = await tether(['admin-uri', '--port', String(port)]);
    assert.equal(r.code, 1);
    assert.match(r.err, /not a private folder of yours/);
    await a.stop();
    assert.equal(fs.existsSync(m[1]), false, 'the fallback folder goes at exit');
  } finally {
    fs.rmdirSync(dir);
  }
});

test('tether admin-uri: usage', async () => {
  let r = await tether(['admin-uri', '--port', 'x']);
  assert.equal(r.code, 2);
  r = await tether(['admin-uri', 'extra']);
  assert.equal(r.code, 2);
  r = await tether(['admin-uri', '--help']);
  assert.equal(r.code, 0);
  assert.match(r.out, /usage: tether admin-uri/);
});
