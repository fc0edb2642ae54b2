// Least privilege per IAM role: `tether up --db-users FILE` gives each role the
// roles of its $external user in the docstore's users file, as Atlas maps an
// IAM role to a database user:
//   - a read-only role's reads are served and its writes refused with 13
//     (Unauthorized), seen by libtether's managed libmongoc client (the dbop
//     test function reports libmongoc's bson_error_t);
//   - a role with no user fails authentication (18) with a message naming the
//     role, in the C function's error and the Node driver's, and tether up
//     names it at start with the user to add; the file's other users work and
//     their passwords are never logged;
//   - a malformed file, or one that takes tether up's own admin name, stops
//     tether up at start, naming the file and the entry (never a secret);
//   - without the file every role works as before (readWriteAnyDatabase), and
//     tether up says so at start.
'use strict';
const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const { spawn } = require('child_process');
const { MongoClient } = require('mongodb');
const L = require('./platform_lib');
const R = require('./runtime_lib');

L.deadline(180000);
const live = [];
after(async () => {
  for (const u of live) await u.stop();
});

const ACCOUNT = 'arn:aws:iam::123456789012:role';
const DBOP = path.join(R.BUILD, 'tests', 'functions', 'dbop');
const NODE = path.join(R.EXAMPLES, 'node');
const PASSWORD = 'dev-password-never-logged';
const DIR = path.join(L.TMP, 'db-users');
fs.mkdirSync(DIR, { recursive: true });

// reader and writer: dbop with a read / readWrite role; nouser and
// node-nouser (the Node orders example) share a role without a user; plain
// has no Role (the default execution role) and no user.
const TEMPLATE = path.join(DIR, 'template.yaml');
fs.writeFileSync(TEMPLATE, [
  "AWSTemplateFormatVersion: '2010-09-09'",
  'Transform: AWS::Serverless-2016-10-31',
  'Globals:',
  '  Function:',
  '    Runtime: provided.al2023',
  '    Timeout: 10',
  `    CodeUri: ${DBOP}/`,
  '    Handler: dbop',
  'Resources:',
  ...[['Reader', 'reader', 'reader'], ['Writer', 'writer', 'writer'], ['Nouser', 'nouser', 'nouser'],
    ['Plain', 'plain', null]].flatMap(([id, name, role]) => [
    `  ${id}:`, '    Type: AWS::Serverless::Function', '    Properties:', `      FunctionName: ${name}`,
    ...(role ? [`      Role: ${ACCOUNT}/${role}`] : [])]),
  '  NodeNouser:',
  '    Type: AWS::Serverless::Function',
  '    Properties:',
  '      FunctionName: node-nouser',
  `      Role: ${ACCOUNT}/nouser`,
  '      Runtime: nodejs20.x',
  `      CodeUri: ${NODE}/`,
  '      Handler: orders.list',
  '',
].join('\n'));

function usersFile(name, entries) {
  const file = path.join(DIR, name);
  fs.writeFileSync(file, typeof entries === 'string' ? entries : JSON.stringify(entries, null, 1));
  return file;
}

const USERS = usersFile('users.json', [
  { user: `${ACCOUNT}/reader`, db: '$external', roles: [{ role: 'read', db: 'app' }] },
  { user: `${ACCOUNT}/writer`, db: '$external', roles: [{ role: 'readWrite', db: 'app' }] },
  { user: 'dev', db: 'admin', password: PASSWORD, roles: [{ role: 'read', db: 'app' }] },
]);

// Starts tether up on TEMPLATE with args; resolves once its last start line
// (the docstore's users line) is out, or with { exited } if it stops first.
function up(args) {
  const proc = spawn(L.BIN, ['up', '--port', '0', '--db-port', '0', '--template', TEMPLATE, ...args],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  let exited = null;
  proc.stdout.on('data', (d) => { log += d; });
  proc.stderr.on('data', (d) => { log += d; });
  proc.on('exit', (code, sig) => { exited = { code, sig }; });
  const u = {
    log: () => log,
    exited: () => exited,
    async stop() {
      if (exited) return exited;
      proc.kill('SIGTERM');
      await L.waitFor('tether up to exit', () => exited, 15000).catch(() => proc.kill('SIGKILL'));
      return exited;
    },
  };
  live.push(u);
  return u;
}

async function started(u) {
  await L.waitFor('tether up to start its docstore', () => {
    if (u.exited()) throw new Error(`tether up exited ${JSON.stringify(u.exited())}:\n${u.log()}`);
    return /\[platform\] docstore( users from|: every function's role)[^\n]*\n/.test(u.log());
  }, 20000);
  u.port = L.platformPort(u.log());
  u.dbPort = Number(u.log().match(/\[platform\] docstore listening on [^\s:]+:(\d+)/)[1]);
  return u;
}

async function stopped(u) {
  await L.waitFor('tether up to refuse to start', () => u.exited(), 20000);
  return u.exited();
}

async function dbop(u, name, op) {
  const r = await L.invoke(u.port, name, { op });
  assert.equal(r.status, 200, r.body);
  assert.equal(r.headers['x-amz-function-error'], undefined, `${name}: ${r.body}`);
  return JSON.parse(r.body);
}

const NO_USER = new RegExp(`Authentication failed: IAM role ${ACCOUNT}/nouser has no database user; ` +
  'add a \\$external user named by its ARN');

test('with --db-users each role has its own privileges; a role without a user is named', async () => {
  const u = await started(up(['--db-users', USERS]));
  const log = u.log();
  assert.match(log, new RegExp(`INFO +\\[platform\\] docstore users from ${USERS}: each role has the ` +
    'roles of its \\$external user there; a role without one fails authentication, as on Atlas'));
  assert.doesNotMatch(log, /readWriteAnyDatabase/);
  // named at start: the role, its functions, the file and the user to add
  const warns = log.split('\n').filter((l) => /WARN.*\[platform\] role /.test(l));
  assert.equal(warns.length, 1, log);
  assert.ok(warns[0].includes(`role ${ACCOUNT}/nouser (nouser, node-nouser) has no $external user ` +
    `in ${USERS}: these functions fail MONGODB-AWS authentication to the docstore, as on Atlas; ` +
    `add {"user": "${ACCOUNT}/nouser", "db": "$external", "roles": [...]} to ${USERS}`), warns[0]);
  assert.match(log, new RegExp(`functions without a Role \\(plain\\) run with default execution roles ` +
    `that have no \\$external user in ${USERS}: they cannot use the docstore`));

  // readWrite writes; read reads what it wrote, and its own write is refused with 13
  assert.deepEqual(await dbop(u, 'writer', 'insert'), { ok: true, n: 1 });
  assert.deepEqual(await dbop(u, 'reader', 'find'), { ok: true, n: 1 });
  const refused = await dbop(u, 'reader', 'insert');
  assert.equal(refused.ok, false);
  assert.equal(refused.code, 13, JSON.stringify(refused));
  assert.match(refused.message, /not authorized on app to execute command insert/);
  assert.deepEqual(await dbop(u, 'writer', 'find'), { ok: true, n: 1 }, 'the refused write wrote nothing');

  // no user: 18, the role named, in libmongoc's error (C) and the Node driver's
  const denied = await dbop(u, 'nouser', 'find');
  assert.equal(denied.ok, false);
  assert.equal(denied.code, 18, JSON.stringify(denied));
  assert.match(denied.message, NO_USER);
  const node = await L.invoke(u.port, 'node-nouser', {});
  assert.ok(node.headers['x-amz-function-error'], node.body);
  const err = JSON.parse(node.body);
  assert.equal(err.errorType, 'MongoServerError');
  assert.match(err.errorMessage, NO_USER);

  // the file's password user works (SCRAM), and so does tether up's admin
  const dev = new MongoClient(`mongodb://dev:${PASSWORD}@127.0.0.1:${u.dbPort}/?authSource=admin`,
    { serverSelectionTimeoutMS: 5000 });
  try {
    assert.equal(await dev.db('app').collection('dbop').countDocuments({}), 1);
    await assert.rejects(dev.db('app').collection('dbop').insertOne({}), (e) => e.code === 13);
  } finally {
    await dev.close();
  }
  const adminUri = fs.readFileSync(`/tmp/tether-up-${process.getuid()}/${u.port}/admin-uri`, 'utf8').trim();
  const admin = new MongoClient(adminUri, { serverSelectionTimeoutMS: 5000 });
  try {
    await admin.db('other').collection('x').insertOne({ root: true });
  } finally {
    await admin.close();
  }
  await u.stop();
  assert.ok(!u.log().includes(PASSWORD), 'no password in the log');
});

test('a malformed --db-users file stops tether up at start, naming the file and the entry', async () => {
  const cases = [
    [usersFile('entry.json', [{ user: `${ACCOUNT}/reader`, db: '$external', roles: ['read'] },
      { user: `${ACCOUNT}/writer`, roles: [] }]), /: entry 1 needs "user" and "db"/],
    [usersFile('notjson.json', '[{"user": "a", "db": "app"'), /: not a JSON array of objects/],
    [usersFile('roles.json', [{ user: `${ACCOUNT}/reader`, db: '$external', roles: [{ role: 'read' }] }]),
      new RegExp(`: user ${ACCOUNT}/reader: bad "roles"`)],
    [usersFile('extpw.json', [{ user: `${ACCOUNT}/reader`, db: '$external', password: PASSWORD }]),
      new RegExp(`: \\$external user ${ACCOUNT}/reader cannot have a password`)],
    [usersFile('admin.json', [{ user: 'admin', db: 'admin', password: PASSWORD, roles: ['root'] }]),
      /: user admin \(db admin\) is tether up's own administrator \(its admin-uri\): give yours another name/],
    [path.join(DIR, 'missing.json'), /: cannot open [^\n]*missing\.json: No such file or directory/],
  ];
  for (const [file, why] of cases) {
    const u = up(['--db-users', file]);
    const ex = await stopped(u);
    assert.equal(ex.code, 1, u.log());
    const line = u.log().split('\n').find((l) => l.startsWith('tether up: --db-users: '));
    assert.ok(line, u.log());
    assert.ok(line.includes(file), `${line} names ${file}`);
    assert.match(line, why);
    assert.doesNotMatch(u.log(), /listening/, 'nothing served');
    assert.ok(!u.log().includes(PASSWORD), 'no password in the message');
  }
  // only for the embedded docstore
  for (const other of [['--no-db'], ['--db', 'mongodb://127.0.0.1:1/']]) {
    const u = up(['--db-users', USERS, ...other]);
    const ex = await stopped(u);
    assert.equal(ex.code, 2, u.log());
    assert.match(u.log(), new RegExp(`--db-users is for the embedded docstore: not with ${other[0]}`));
  }
});

test('without --db-users every role reads and writes, and tether up says so', async () => {
  const u = await started(up([]));
  assert.match(u.log(), /INFO +\[platform\] docstore: every function's role gets readWriteAnyDatabase \(--db-users FILE gives each role only its own privileges, as on Atlas\)\n/);
  assert.doesNotMatch(u.log(), /WARN/);
  assert.deepEqual(await dbop(u, 'reader', 'insert'), { ok: true, n: 1 });
  assert.deepEqual(await dbop(u, 'nouser', 'find'), { ok: true, n: 1 });
  const node = await L.invoke(u.port, 'node-nouser', {});
  assert.equal(node.headers['x-amz-function-error'], undefined, node.body);
  await u.stop();
});
