// Event (asynchronous) invocations after a failure, as AWS retries them: up to
// EventInvokeConfig.MaximumRetryAttempts more attempts (2 by default) under
// the same request id, the second delay twice the first (--retry-delay), a
// drop logged with the request id once retries or MaximumEventAgeInSeconds
// run out, and every retry and drop counted in /_tether/status. The function
// (handlers.flaky under aws-lambda-ric) records each attempt in a file.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const L = require('./platform_lib');

L.deadline(120000);
const TEMPLATE = path.join(L.FUNCTIONS, 'async.yaml');
const DELAY = 200; // --retry-delay: 200 ms, then 400 ms
let p;
before(async () => {
  p = await L.startPlatform({ template: TEMPLATE, args: ['--retry-delay', String(DELAY)] });
});
after(async () => {
  if (p) await p.stop();
});

let seq = 0;
function newFile(tag) {
  return path.join(L.TMP, `async-${process.pid}-${tag}-${++seq}`);
}

async function invokeEvent(port, name, payload) {
  const r = await L.invoke(port, name, payload, { 'X-Amz-Invocation-Type': 'Event' });
  assert.equal(r.status, 202, r.body);
  const id = r.headers['x-amzn-requestid'];
  assert.match(id || '', /^[0-9a-f-]{36}$/);
  return id;
}

// [{ id, t }] for each attempt recorded in file.
function attempts(file) {
  if (!fs.existsSync(file)) return [];
  return fs.readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((l) => {
    const [id, t] = l.split(' ');
    return { id, t: Number(t) };
  });
}

async function fnStatus(port, name) {
  const st = await L.status(port);
  return st.functions.find((f) => f.name === name);
}

function waitLog(plat, re, what, ms = 20000) {
  return L.waitFor(what || String(re), () => re.test(plat.logs()), ms);
}

test('status shows each function\'s EventInvokeConfig', async () => {
  const f = await fnStatus(p.port, 'flaky');
  assert.equal(f.maximumRetryAttempts, 2);
  assert.equal(f.maximumEventAgeInSeconds, 21600);
  assert.equal((await fnStatus(p.port, 'noretry')).maximumRetryAttempts, 0);
  const one = await fnStatus(p.port, 'oneretry');
  assert.equal(one.maximumRetryAttempts, 1);
  assert.equal(one.maximumEventAgeInSeconds, 3600);
  assert.match(p.logs(), /async\.yaml:\d+: EventInvokeConfig\.DestinationConfig is not supported/);
});

test('a function error is retried twice by default, same request id, delays D then 2D', async () => {
  const before = await fnStatus(p.port, 'flaky');
  const file = newFile('throw');
  const id = await invokeEvent(p.port, 'flaky', { file, fail: 2, how: 'throw' });
  await L.waitFor('three attempts', () => attempts(file).length === 3, 20000);
  const a = attempts(file);
  for (const x of a) assert.equal(x.id, id, 'a retried event keeps its request id');
  assert.ok(a[1].t - a[0].t >= DELAY - 5, `first retry after ${a[1].t - a[0].t} ms`);
  assert.ok(a[2].t - a[1].t >= 2 * DELAY - 5, `second retry after ${a[2].t - a[1].t} ms`);
  const logs = p.logs();
  assert.ok(logs.includes(`event ${id} failed (FlakyError): retry 1 of 2 in ${DELAY} ms`), logs);
  assert.ok(logs.includes(`event ${id} failed (FlakyError): retry 2 of 2 in ${2 * DELAY} ms`), logs);
  assert.ok(!logs.includes(`event ${id} dropped`), 'the third attempt succeeded');
  const after = await L.waitFor('the status to settle', async () => {
    const f = await fnStatus(p.port, 'flaky');
    return f.retryWaiting === 0 ? f : null;
  });
  assert.equal(after.asyncRetries - before.asyncRetries, 2);
  assert.equal(after.asyncDropped, before.asyncDropped);
  assert.equal(after.errors - before.errors, 2, 'each failed attempt is an error');
});

test('after the last retry the event is dropped, logged with its request id and counted', async () => {
  const before = await fnStatus(p.port, 'flaky');
  const file = newFile('always');
  const id = await invokeEvent(p.port, 'flaky', { file, fail: 99, how: 'throw' });
  await waitLog(p, new RegExp(`event ${id} dropped after 3 attempts: FlakyError \\(MaximumRetryAttempts 2\\)`));
  assert.equal(attempts(file).length, 3, 'three attempts, no fourth');
  const f = await fnStatus(p.port, 'flaky');
  assert.equal(f.asyncRetries - before.asyncRetries, 2);
  assert.equal(f.asyncDropped - before.asyncDropped, 1);
  assert.equal(f.retryWaiting, 0);
});

test('MaximumRetryAttempts: 0 runs an event once', async () => {
  const before = await fnStatus(p.port, 'noretry');
  const file = newFile('noretry');
  const id = await invokeEvent(p.port, 'noretry', { file, fail: 1, how: 'throw' });
  await waitLog(p, new RegExp(`event ${id} dropped after 1 attempt: FlakyError \\(MaximumRetryAttempts 0\\)`));
  assert.equal(attempts(file).length, 1);
  const f = await fnStatus(p.port, 'noretry');
  assert.equal(f.asyncRetries, before.asyncRetries);
  assert.equal(f.asyncDropped - before.asyncDropped, 1);
  // and a good event on the same function still runs once and is not dropped
  const ok = newFile('noretry-ok');
  const id2 = await invokeEvent(p.port, 'noretry', { file: ok, fail: 0 });
  await L.waitFor('the good event', () => attempts(ok).length === 1);
  assert.ok(!p.logs().includes(`event ${id2} dropped`));
});

test('MaximumRetryAttempts: 1 retries once', async () => {
  const file = newFile('oneretry');
  const id = await invokeEvent(p.port, 'oneretry', { file, fail: 99, how: 'throw' });
  await waitLog(p, new RegExp(`event ${id} dropped after 2 attempts: FlakyError \\(MaximumRetryAttempts 1\\)`));
  assert.equal(attempts(file).length, 2);
  assert.ok(p.logs().includes(`event ${id} failed (FlakyError): retry 1 of 1 in ${DELAY} ms`));
});

test('a crash (Runtime.ExitError) is retried on a fresh instance', async () => {
  const file = newFile('exit');
  const id = await invokeEvent(p.port, 'flaky', { file, fail: 1, how: 'exit' });
  await L.waitFor('two attempts', () => attempts(file).length === 2, 20000);
  assert.ok(p.logs().includes(`event ${id} failed (Runtime.ExitError): retry 1 of 2`), p.logs());
  for (const x of attempts(file)) assert.equal(x.id, id);
});

test('a timeout (Sandbox.Timedout) is retried', async () => {
  const file = newFile('hang');
  const id = await invokeEvent(p.port, 'flaky-hang', { file, fail: 1, how: 'hang' });
  await L.waitFor('two attempts', () => attempts(file).length === 2, 20000);
  assert.ok(p.logs().includes(`event ${id} failed (Sandbox.Timedout): retry 1 of 2`), p.logs());
});

test('a RequestResponse failure is not retried', async () => {
  const before = await fnStatus(p.port, 'flaky');
  const file = newFile('sync');
  const r = await L.invoke(p.port, 'flaky', { file, fail: 1, how: 'throw' });
  assert.equal(r.status, 200);
  assert.equal(r.headers['x-amz-function-error'], 'Unhandled');
  // a retry would be scheduled before the answer is sent
  const f = await fnStatus(p.port, 'flaky');
  assert.equal(f.asyncRetries, before.asyncRetries);
  assert.equal(f.retryWaiting, 0);
  assert.equal(attempts(file).length, 1);
});

test('MaximumEventAgeInSeconds: an event too old for its next retry is dropped; shutdown drops waiting retries', async () => {
  // 61 s before the first retry: past shortlived's 60 s maximum age
  const q = await L.startPlatform({ template: TEMPLATE, args: ['--retry-delay', '61000'] });
  try {
    const file = newFile('aged');
    const id = await invokeEvent(q.port, 'shortlived', { file, fail: 99, how: 'throw' });
    await waitLog(q, new RegExp(`event ${id} dropped after 1 attempt: FlakyError, and it would be older than ` +
      'MaximumEventAgeInSeconds \\(60\\) at its retry'));
    assert.equal(attempts(file).length, 1);
    assert.equal((await fnStatus(q.port, 'shortlived')).asyncDropped, 1);
    // flaky keeps events 6 h: its retry waits 61 s, until the platform stops
    const file2 = newFile('waiting');
    const id2 = await invokeEvent(q.port, 'flaky', { file: file2, fail: 99, how: 'throw' });
    await L.waitFor('a retry waiting', async () => (await fnStatus(q.port, 'flaky')).retryWaiting === 1);
    assert.ok(q.logs().includes(`event ${id2} failed (FlakyError): retry 1 of 2 in 61000 ms`));
    const ex = await q.stop();
    assert.equal(ex.code, 0, q.logs());
    assert.match(q.logs(), new RegExp(`event ${id2} dropped after 1 attempt: the platform stopped before its retry`));
  } finally {
    await q.stop();
  }
});
