// Per-invocation metrics (docs/runtime.md, "Metrics"): after each invocation
// libtether writes one CloudWatch Embedded Metric Format line to stdout. Read
// from the invocation's log tail (X-Amz-Log-Type: Tail), it must parse as EMF
// (the _aws object with Timestamp and CloudWatchMetrics: namespace, dimension
// sets naming members of the line, metric names with units, a number for each)
// and say, for the counter example on a `tether db`:
//   - the first invocation: ColdStart 1, DatabaseConnectionsOpened 1 (the
//     single-threaded client's one connection; the docstore's log agrees),
//     InitDuration;
//   - a warm one: 0 and 0, no InitDuration;
//   - after the docstore was restarted while the instance was frozen (its
//     connection dropped): ColdStart 0, DatabaseConnectionsOpened 1 again;
//   - a function with TETHER_METRICS=off writes no such line;
//   - the echo example, which has no database, reports 0 connections;
//   - a database that refuses: DatabaseConnectionErrors >= 1, no connection.
'use strict';
const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const net = require('net');
const path = require('path');
const L = require('./platform_lib');
const R = require('./runtime_lib');

L.deadline(180000);
const cleanup = [];
after(async () => {
  for (const c of cleanup.reverse()) await c();
});

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const UNITS = new Set(['Seconds', 'Microseconds', 'Milliseconds', 'Bytes', 'Kilobytes', 'Megabytes',
  'Gigabytes', 'Terabytes', 'Bits', 'Kilobits', 'Megabits', 'Gigabits', 'Terabits', 'Percent',
  'Count', 'Bytes/Second', 'Kilobytes/Second', 'Megabytes/Second', 'Gigabytes/Second',
  'Terabytes/Second', 'Bits/Second', 'Kilobits/Second', 'Megabits/Second', 'Gigabits/Second',
  'Terabits/Second', 'Count/Second', 'None']);

// The EMF lines of an invocation's log tail, each checked against the EMF
// specification and returned parsed.
function emfLines(r) {
  const tail = Buffer.from(r.headers['x-amz-log-result'] || '', 'base64').toString();
  assert.ok(tail.includes('REPORT RequestId:'), `a whole tail: ${tail}`);
  const out = [];
  for (const line of tail.split('\n')) {
    if (!line.startsWith('{') || !line.includes('"_aws"')) continue;
    const doc = JSON.parse(line); // one line, valid JSON
    const aws = doc._aws;
    assert.equal(typeof aws, 'object');
    assert.ok(Number.isInteger(aws.Timestamp) && Math.abs(aws.Timestamp - Date.now()) < 600000,
      `Timestamp is epoch ms: ${aws.Timestamp}`);
    assert.ok(Array.isArray(aws.CloudWatchMetrics) && aws.CloudWatchMetrics.length === 1);
    const d = aws.CloudWatchMetrics[0];
    assert.equal(d.Namespace, 'tether');
    assert.deepEqual(d.Dimensions, [['FunctionName']]);
    for (const set of d.Dimensions)
      for (const k of set) assert.equal(typeof doc[k], 'string', `dimension ${k} is a member`);
    for (const m of d.Metrics) {
      assert.ok(UNITS.has(m.Unit), `${m.Name}: unit ${m.Unit}`);
      assert.equal(typeof doc[m.Name], 'number', `metric ${m.Name} is a member of the line`);
    }
    out.push({ doc, units: Object.fromEntries(d.Metrics.map((m) => [m.Name, m.Unit])) });
  }
  return out;
}

function tailInvoke(port, name) {
  return R.waitIdle(port, name).then(() => L.invoke(port, name, {}, { 'X-Amz-Log-Type': 'Tail' }));
}

test('EMF metrics: cold, warm, after the database dropped the connection, off', async () => {
  const dir = path.join(L.TMP, 'data');
  const port = await freePort();
  let db = await R.startDocstore(['--port', String(port), '--dir', dir]);
  cleanup.push(() => db.stop());
  const uri = `mongodb://127.0.0.1:${port}/app`;
  const closed = await freePort(); // nothing listens there
  const template = R.writeTemplate(path.join(L.TMP, 'metrics'), [
    { name: 'counter', code: R.example('counter'), handler: 'counter', timeout: 5, env: { MONGODB_URI: uri } },
    { name: 'quiet', code: R.example('counter'), handler: 'counter', timeout: 5,
      env: { MONGODB_URI: uri, TETHER_METRICS: 'off' } },
    { name: 'echo', code: R.example('echo'), handler: 'echo', timeout: 5 },
    { name: 'refused', code: R.example('counter'), handler: 'counter', timeout: 5,
      env: { MONGODB_URI: `mongodb://127.0.0.1:${closed}/app` } },
  ]);
  const p = await L.startPlatform({ template, args: ['--idle-timeout', '600'] });
  cleanup.push(() => p.stop());

  let r = await tailInvoke(p.port, 'counter');
  assert.equal(r.headers['x-amz-function-error'], undefined, r.body);
  let emf = emfLines(r);
  assert.equal(emf.length, 1, 'one EMF line per invocation');
  let { doc, units } = emf[0];
  assert.deepEqual(units, { ColdStart: 'Count', Duration: 'Milliseconds',
    DatabaseConnectionsOpened: 'Count', DatabaseConnectionErrors: 'Count', InitDuration: 'Milliseconds' });
  assert.equal(doc.FunctionName, 'counter');
  assert.equal(doc.ColdStart, 1);
  assert.equal(doc.DatabaseConnectionsOpened, 1, JSON.stringify(doc));
  assert.equal(doc.DatabaseConnectionErrors, 0);
  assert.ok(doc.Duration > 0 && doc.Duration < 5000, `Duration ${doc.Duration}`);
  assert.ok(doc.InitDuration >= 0);
  assert.match(doc.RequestId, /^[0-9a-f-]{36}$/);
  assert.equal(r.headers['x-amzn-requestid'], doc.RequestId);
  await L.waitFor('the connection in the docstore log', () => /\] client \S+ \S+ app counter$/m.test(db.logs()), 10000);
  assert.equal((db.logs().match(/\] client \S+ \S+ app counter$/gm) || []).length, 1,
    'the docstore saw the one connection the line reports');

  r = await tailInvoke(p.port, 'counter');
  assert.equal(r.headers['x-amz-function-error'], undefined, r.body);
  ({ doc, units } = emfLines(r)[0]);
  assert.equal(doc.ColdStart, 0);
  assert.equal(doc.DatabaseConnectionsOpened, 0, JSON.stringify(doc));
  assert.equal(units.InitDuration, undefined);
  assert.equal(doc.InitDuration, undefined);

  // the docstore restarts while the instance is frozen: its connection is
  // gone, and after socketCheckIntervalMS (1 s) idle libmongoc finds it so
  await db.stop();
  db = await R.startDocstore(['--port', String(port), '--dir', dir]);
  cleanup.push(() => db.stop());
  const idleSince = Date.now();
  await L.waitFor('the connection to be idle for over 1 s', () => Date.now() - idleSince > 1200, 5000, 100);
  r = await tailInvoke(p.port, 'counter');
  assert.equal(r.headers['x-amz-function-error'], undefined, r.body);
  ({ doc } = emfLines(r)[0]);
  assert.equal(doc.ColdStart, 0, 'the same instance');
  assert.equal(doc.DatabaseConnectionsOpened, 1, JSON.stringify(doc));

  r = await tailInvoke(p.port, 'quiet');
  assert.equal(r.headers['x-amz-function-error'], undefined, r.body);
  assert.deepEqual(emfLines(r), [], 'TETHER_METRICS=off: no EMF line');

  r = await tailInvoke(p.port, 'echo');
  assert.equal(r.headers['x-amz-function-error'], undefined, r.body);
  ({ doc } = emfLines(r)[0]);
  assert.equal(doc.FunctionName, 'echo');
  assert.equal(doc.ColdStart, 1);
  assert.equal(doc.DatabaseConnectionsOpened, 0);

  // a database that refuses: the invocation fails, its line counts the
  // failed attempts and no connection, and the cause is in the error
  r = await tailInvoke(p.port, 'refused');
  assert.equal(r.headers['x-amz-function-error'], 'Unhandled', r.body);
  assert.match(JSON.parse(r.body).errorMessage, /connection refused/);
  ({ doc } = emfLines(r)[0]);
  assert.equal(doc.DatabaseConnectionsOpened, 0);
  assert.ok(doc.DatabaseConnectionErrors >= 1, JSON.stringify(doc));
});
