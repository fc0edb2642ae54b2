// Concurrency as AWS Lambda keeps it: 8 simultaneous invocations (each busy
// 3 s) of a function capped at 4 (ReservedConcurrentExecutions: 4): exactly 4
// instances serve 4, the other 4 are throttled (429) at once; the next ones
// reuse the 4 warm instances; Event invocations past the cap wait in the queue
// and all run; /_tether/status shows each step.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const L = require('./platform_lib');

L.deadline(150000);
let p;
before(async () => {
  p = await L.startPlatform();
});
after(async () => {
  if (p) await p.stop();
});

const busyInstances = async () => L.instancesOf(await L.status(p.port), 'busy');
const pidsOf = (list) => list.map((i) => i.pid).sort((a, b) => a - b);
let warmPids;

test('8 at once, cap 4: 4 served by 4 instances, 4 throttled at once', async () => {
  assert.equal((await busyInstances()).length, 0, 'no instance before the first invocation');
  // Each served call holds its instance HOLD ms after its (cold) start; a
  // throttled call answered within THROTTLED_WITHIN < HOLD cannot have waited
  // for an instance to free up. (The 4 cold starts come first: the platform
  // forks each before it reads the next request, and under ASan on a loaded
  // 2-core machine the throttled answers came after 0.7-1.1 s, which the old
  // 1 s hold and 900 ms bound did not allow for.)
  const HOLD = 3000;
  const THROTTLED_WITHIN = 2500;
  const t0 = Date.now();
  const calls = [...Array(8).keys()].map((i) =>
    L.invoke(p.port, 'busy', { ms: HOLD, sleep: true, id: `a${i}` })
      .then((r) => Object.assign(r, { took: Date.now() - t0 })));

  // while they run: 4 instances, all in use
  const during = await L.waitFor('4 busy instances in status', async () => {
    const inst = await busyInstances();
    return inst.length === 4 && inst.every((i) => i.state === 'init' || i.state === 'busy') ? inst : null;
  });
  assert.equal(during.length, 4);

  const results = await Promise.all(calls);
  const ok = results.filter((r) => r.status === 200);
  const throttled = results.filter((r) => r.status === 429);
  assert.equal(ok.length, 4, results.map((r) => `${r.status} ${r.body}`).join('\n'));
  assert.equal(throttled.length, 4);
  for (const r of throttled) {
    assert.match(r.headers['x-amzn-errortype'] || '', /^TooManyRequestsException/);
    const b = JSON.parse(r.body);
    assert.equal(b.Type, 'User');
    assert.ok(b.message);
    assert.ok(r.took < THROTTLED_WITHIN, `a throttled call must be answered at once, not after ${r.took} ms`);
  }
  for (const r of ok) assert.ok(r.took >= HOLD, `a served call took ${r.took} ms`);
  const firstServed = Math.min(...ok.map((r) => r.took));
  for (const r of throttled)
    assert.ok(r.took < firstServed, `a throttled call (${r.took} ms) waited for a served one (${firstServed} ms)`);
  const servedPids = new Set(ok.map((r) => JSON.parse(r.body).pid));
  assert.equal(servedPids.size, 4, 'each served call ran on its own instance');

  // after: 4 instances, idle then frozen, the same pids
  const after4 = await L.waitFor('4 frozen instances', async () => {
    const inst = await busyInstances();
    return inst.length === 4 && inst.every((i) => i.state === 'frozen') ? inst : null;
  });
  assert.deepEqual(pidsOf(after4), [...servedPids].sort((a, b) => a - b));
  warmPids = pidsOf(after4);
});

test('the next 4 reuse the 4 warm instances (pids unchanged)', async () => {
  assert.ok(warmPids, 'needs the previous step');
  const results = await Promise.all([0, 1, 2, 3].map((i) => L.invoke(p.port, 'busy', { ms: 300, id: `b${i}` })));
  for (const r of results) assert.equal(r.status, 200, r.body);
  const pids = results.map((r) => JSON.parse(r.body).pid).sort((a, b) => a - b);
  assert.deepEqual(pids, warmPids);
  // status counts each instance's second invocation once it is back in /next
  const inst = await L.waitFor('each of the 4 instances to have served 2', async () => {
    const list = await busyInstances();
    return list.length === 4 && list.every((i) => i.invocations === 2) ? list : null;
  });
  assert.deepEqual(pidsOf(inst), warmPids, 'no new instance was started');
  const fn = (await L.status(p.port)).functions.find((f) => f.name === 'busy');
  assert.equal(fn.throttles, 4, 'status counts the 4 throttled invocations');
  assert.equal(fn.instancesStarted, 4);
});

test('Event invocations past the cap wait in the queue and all run', async () => {
  await L.waitFor('4 frozen instances', async () => (await busyInstances()).every((i) => i.state === 'frozen'));
  const file = path.join(L.TMP, 'events.txt');
  const t0 = Date.now();
  const acc = await Promise.all([...Array(12).keys()].map((i) =>
    L.invoke(p.port, 'busy', { ms: 300, id: `e${i}`, file }, { 'X-Amz-Invocation-Type': 'Event' })));
  const tookAccept = Date.now() - t0;
  for (const r of acc) {
    assert.equal(r.status, 202, r.body);
    assert.equal(r.body, '');
  }
  assert.ok(tookAccept < 1500, `Event invocations are accepted at once (took ${tookAccept} ms)`);

  // while they drain the cap holds, and the status shows them queued or running
  let maxLive = 0;
  let sawQueued = false;
  await L.waitFor('all 12 Event invocations to run', async () => {
    const st = await L.status(p.port);
    const inst = L.instancesOf(st, 'busy');
    maxLive = Math.max(maxLive, inst.length);
    if (/"queue[a-z_]*"\s*:\s*[1-9]/i.test(JSON.stringify(st))) sawQueued = true;
    const lines = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim().split('\n') : [];
    return lines.length >= 12;
  }, 30000);
  assert.ok(maxLive <= 4, `at most 4 instances, saw ${maxLive}`);
  const lines = fs.readFileSync(file, 'utf8').trim().split('\n').sort();
  assert.deepEqual(lines, [...Array(12).keys()].map((i) => `e${i}`).sort(), 'each ran exactly once');
  assert.ok(sawQueued, '/_tether/status should show queued Event invocations');
  await L.sleep(500);
  assert.equal(fs.readFileSync(file, 'utf8').trim().split('\n').length, 12, 'none ran twice');
  assert.deepEqual(pidsOf(await busyInstances()), warmPids, 'served by the same 4 instances');
});

test('each waiter gets its own wait for the returning instance, not what is left of an earlier one', async () => {
  // b arrives while the instance works 50 ms after answering a: b waits, and
  // the platform's wait for a returner starts (t0). The instance comes back
  // at once for b, works 110 ms on it, answers, and works 80 ms more; c, sent
  // when b's answer arrives (t0 + ~160 ms), must get its own 200 ms, so the
  // returner (back at t0 + ~240 ms) serves it. A wait that kept counting from
  // t0 ran out at t0 + 200 ms and cold-started a second instance for c.
  const a = await L.invoke(p.port, 'returner', { after_ms: 50 });
  assert.equal(a.status, 200, a.body);
  const first = JSON.parse(a.body).pid;
  const b = await L.invoke(p.port, 'returner', { sleep_ms: 110, after_ms: 80 });
  assert.equal(b.status, 200, b.body);
  const c = await L.invoke(p.port, 'returner', { after_ms: 1 });
  assert.equal(c.status, 200, c.body);
  assert.deepEqual([JSON.parse(b.body).pid, JSON.parse(c.body).pid], [first, first],
    'the one warm instance served b and c');
  assert.equal(L.instancesOf(await L.status(p.port), 'returner').length, 1, 'no cold start');
  await L.waitParked(p.port, 'returner');
});

test('an invocation sent right after an answer waits for that warm instance, not a cold one', async () => {
  // The instance answers, then works 50 ms before its next /next: the next
  // invocation, sent as soon as the answer arrives, waits for it (the platform
  // waits up to 200 ms for a returning instance) instead of cold-starting.
  const a = await L.invoke(p.port, 'returner', { after_ms: 50 });
  assert.equal(a.status, 200, a.body);
  const first = JSON.parse(a.body).pid;
  const b = await L.invoke(p.port, 'returner', { after_ms: 1 });
  assert.equal(b.status, 200, b.body);
  assert.equal(JSON.parse(b.body).pid, first, 'the answered instance served the next invocation');
  assert.equal(L.instancesOf(await L.status(p.port), 'returner').length, 1, 'no cold start');

  // a runtime that stays away longer than the wait: a new instance takes over
  const c = await L.invoke(p.port, 'returner', { after_ms: 3000 });
  assert.equal(c.status, 200, c.body);
  const t0 = Date.now();
  const d = await L.invoke(p.port, 'returner', { after_ms: 1 });
  assert.equal(d.status, 200, d.body);
  assert.notEqual(JSON.parse(d.body).pid, first, 'a slow returner does not hold the invocation');
  assert.ok(Date.now() - t0 < 2500, `served by a new instance before the old one came back (${Date.now() - t0} ms)`);
  assert.equal(L.instancesOf(await L.status(p.port), 'returner').length, 2);
});
