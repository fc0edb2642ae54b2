// libtether on tether up, through the lifecycle example (one bootstrap, five
// logical functions chosen by _HANDLER): cold then warm invocations in one
// process with init run once, event fields (ARN with colons, trace id in
// _X_AMZN_TRACE_ID), the deadline helper, handled errors with errorType and
// stack trace, a streamed response, init failure, an unknown _HANDLER, and
// SIGTERM on idle reap calling the shutdown callback.
'use strict';
const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const L = require('./platform_lib');
const R = require('./runtime_lib');

L.deadline(150000);
const platforms = [];
after(async () => {
  for (const p of platforms) await p.stop();
});

const shutdownFile = path.join(L.TMP, 'shutdown.log');
const lc = R.example('lifecycle');
const template = R.writeTemplate(path.join(L.TMP, 'lifecycle'), [
  { name: 'info', code: lc, handler: 'lifecycle.info', env: { LIFECYCLE_SHUTDOWN_FILE: shutdownFile } },
  { name: 'deadline', code: lc, handler: 'lifecycle.deadline', timeout: 5 },
  { name: 'work', code: lc, handler: 'lifecycle.work', timeout: 2 },
  { name: 'fail', code: lc, handler: 'lifecycle.fail' },
  { name: 'stream', code: lc, handler: 'lifecycle.stream' },
  { name: 'initfail', code: lc, handler: 'lifecycle.info', env: { LIFECYCLE_INIT_FAIL: 'on purpose' } },
  { name: 'nohandler', code: lc, handler: 'lifecycle.nope' },
]);

let p;
test('start tether up with the lifecycle functions', async () => {
  p = await L.startPlatform({ template, idleTimeout: 2 });
  platforms.push(p);
});

test('cold then warm: one process, init once, every event field', async () => {
  const r1 = await R.invokeWarm(p.port, 'info', { n: 1 });
  assert.equal(r1.status, 200, r1.body);
  const a = JSON.parse(r1.body);
  const r2 = await R.invokeWarm(p.port, 'info', { n: 2 });
  const b = JSON.parse(r2.body);
  assert.equal(b.pid, a.pid, 'the warm invocation ran in the same process');
  assert.equal(a.inits, 1);
  assert.equal(b.inits, 1, 'init ran once');
  assert.equal(a.invocations, 1);
  assert.equal(b.invocations, 2);
  assert.notEqual(a.request_id, b.request_id);
  assert.match(a.request_id, /^[0-9a-f-]{36}$/);
  assert.match(a.arn, /^arn:aws:lambda:[a-z0-9-]+:\d{12}:function:info$/, 'the ARN kept all its colons');
  assert.match(a.trace, /^Root=1-[0-9a-f]{8}-[0-9a-f]{24}/, '_X_AMZN_TRACE_ID set from the event');
  assert.notEqual(a.trace, b.trace, 'a trace id per event');
});

test('the deadline helper counts down from the function timeout', async () => {
  const r = await L.invoke(p.port, 'deadline', {});
  assert.equal(r.status, 200, r.body);
  const { remaining_ms } = JSON.parse(r.body);
  assert.ok(remaining_ms > 3000 && remaining_ms <= 5000, `remaining_ms ${remaining_ms}`);
  // a handler that works until 200 ms before its deadline answers in time
  const w = await L.invoke(p.port, 'work', {});
  assert.equal(w.status, 200, w.body);
  assert.equal(w.headers['x-amz-function-error'], undefined, w.body);
  const out = JSON.parse(w.body);
  assert.ok(out.rounds > 50, `rounds ${out.rounds}`);
  assert.ok(out.remaining_ms > 0 && out.remaining_ms <= 200, `remaining_ms ${out.remaining_ms}`);
});

test('a handler error: errorType, errorMessage, stackTrace', async () => {
  const r = await L.invoke(p.port, 'fail', {});
  assert.equal(r.status, 200);
  assert.ok(r.headers['x-amz-function-error'], 'X-Amz-Function-Error is set');
  const e = JSON.parse(r.body);
  assert.equal(e.errorType, 'LifecycleError');
  assert.equal(e.errorMessage, 'failed on purpose');
  assert.deepEqual(e.stackTrace, ['lifecycle.c: lifecycle_fail', 'libtether: tether_run']);
});

test('a streamed response arrives whole', async () => {
  const r = await L.invoke(p.port, 'stream', {});
  assert.equal(r.status, 200, r.body);
  assert.equal(r.body, 'part 0\npart 1\npart 2\npart 3\npart 4\n');
});

test('init failure is posted to /runtime/init/error', async () => {
  const r = await L.invoke(p.port, 'initfail', {});
  assert.equal(r.status, 200);
  assert.ok(r.headers['x-amz-function-error'], r.body);
  assert.match(r.body, /init refused: on purpose|InitError/);
  assert.match(p.logs(), /init failed: LifecycleInitError: init refused: on purpose/);
});

test('an unknown _HANDLER is an init error naming the known handlers', async () => {
  const r = await L.invoke(p.port, 'nohandler', {});
  assert.ok(r.headers['x-amz-function-error'], r.body);
  assert.match(p.logs(), /handler 'lifecycle\.nope' not found; this bootstrap has: lifecycle\.info, lifecycle\.deadline, lifecycle\.fail, lifecycle\.stream, lifecycle\.work/);
});

test('SIGTERM on idle reap: the shutdown callback runs, exit status 0', async () => {
  const r = await R.invokeWarm(p.port, 'info', {});
  const pid = JSON.parse(r.body).pid;
  const line = await L.waitFor('the shutdown callback to write its file', () => {
    try {
      return fs.readFileSync(shutdownFile, 'utf8').split('\n').find((l) => l.startsWith(`shutdown ${pid} `));
    } catch (e) {
      return null;
    }
  }, 20000);
  assert.match(line, /after [1-9]\d* invocations/);
  await L.waitFor('the instance to exit', () => !L.alive(pid), 10000);
  assert.match(p.logs(), new RegExp(`\\[info \\d+\\] stopped \\(exit status 0\\)`));
});
