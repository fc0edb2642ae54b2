// One control group per instance (src/platform/cgroup.h): a Node and a C
// function allocating past MemorySize are killed and reported as AWS reports
// it, one inside its limit is unaffected; a child in a session of its own is
// frozen with its instance and gone after the idle reap and after SIGINT of
// tether up, and so are the groups. Skips (saying why) where this machine
// cannot make control groups.
'use strict';
const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const L = require('./platform_lib');
const C = require('./cgroup_lib');

L.deadline(240000);
const BUILD = process.env.TETHER_BUILD || path.join(L.SRC, 'build');
const MEMHOG_C = path.join(BUILD, 'tests', 'functions', 'memhog');
const TEMPLATE = path.join(L.TMP, 'contain.yaml');
fs.writeFileSync(TEMPLATE, `AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: nodejs20.x
    CodeUri: ${path.join(L.FUNCTIONS, 'node')}
    Timeout: 20
    MemorySize: 128
Resources:
  HogNode:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: hog-node
      Handler: contain.memhog
  HogC:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: hog-c
      Runtime: provided.al2023
      CodeUri: ${MEMHOG_C}
      Handler: memhog
  Detach:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: detach
      Handler: contain.detach
  ChildHog:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: child-hog
      Handler: contain.childhog
`);

const platforms = [];
after(async () => {
  for (const p of platforms) await p.stop();
});

let kind = null; // the containment tether up reports; null until the first start
let skipWhy = null;

async function start(opts = {}) {
  const p = await L.startPlatform(Object.assign({ template: TEMPLATE }, opts));
  platforms.push(p);
  const st = await L.status(p.port);
  kind = st.containment;
  if (kind === 'signals') {
    const m = /no control groups \(([^)]*)\)/.exec(p.logs());
    skipWhy = `this machine cannot make control groups: ${m ? m[1] : 'see tether up\'s log'}`;
  }
  return p;
}

function tail(r) {
  return Buffer.from(r.headers['x-amz-log-result'] || '', 'base64').toString();
}

function maxMemoryUsed(text) {
  const m = /Memory Size: (\d+) MB\tMax Memory Used: (\d+) MB/.exec(text);
  return m ? { size: Number(m[1]), used: Number(m[2]) } : null;
}

test('each instance has a group with its MemorySize; inside it a function is unaffected', async (t) => {
  const p = await start();
  if (skipWhy) return t.skip(skipWhy);
  assert.match(kind, /^cgroup-v[12]$/);
  for (const name of ['hog-node', 'hog-c']) {
    const r = await L.invoke(p.port, name, { mb: 32 }, { 'X-Amz-Log-Type': 'Tail' });
    assert.equal(r.status, 200, r.body);
    assert.equal(r.headers['x-amz-function-error'], undefined, r.body);
    const { pid, mb } = JSON.parse(r.body);
    assert.equal(mb, 32);
    const inst = L.instancesOf(await L.status(p.port), name).find((i) => i.pid === pid);
    assert.equal(inst.containment, kind);
    const rel = C.groupPath(pid, kind);
    assert.match(rel, new RegExp(`/tether/${p.pid}/${name}-${inst.id}$`), `${name} runs in its own group`);
    if (kind === 'cgroup-v1') {
      const limit = fs.readFileSync(path.join(C.groupDir(pid, 'memory'), 'memory.limit_in_bytes'), 'utf8');
      assert.equal(Number(limit), 128 * 1024 * 1024);
    } else {
      assert.equal(Number(fs.readFileSync(path.join(C.groupDir(pid, ''), 'memory.max'), 'utf8')), 128 * 1024 * 1024);
    }
    const used = maxMemoryUsed(tail(r));
    assert.ok(used && used.size === 128 && used.used >= 32 && used.used <= 128, tail(r));
  }
});

for (const name of ['hog-node', 'hog-c']) {
  test(`${name} allocating past MemorySize is killed, reported as AWS does`, async (t) => {
    if (skipWhy) return t.skip(skipWhy);
    const p = platforms[0];
    const r = await L.invoke(p.port, name, { mb: 400 }, { 'X-Amz-Log-Type': 'Tail' }, { timeout: 60000 });
    assert.equal(r.status, 200, r.body);
    assert.equal(r.headers['x-amz-function-error'], 'Unhandled');
    const body = JSON.parse(r.body);
    assert.equal(body.errorType, 'Runtime.ExitError', r.body);
    assert.match(body.errorMessage, /^RequestId: [0-9a-f-]{36} Error: Runtime exited with error: signal: killed$/);
    const log = tail(r);
    assert.match(log, /RequestId: [0-9a-f-]{36} Error: Runtime exited with error: signal: killed\nRuntime\.ExitError\nEND RequestId: /, log);
    const used = maxMemoryUsed(log);
    assert.deepEqual(used, { size: 128, used: 128 }, log);
    await L.waitFor('tether up to say why it died', () =>
      new RegExp(`\\[${name} \\d+\\] killed by its memory limit \\(MemorySize 128 MB\\)`).test(p.logs()));
    // the function serves again, from a fresh instance
    const r2 = await L.invoke(p.port, name, { mb: 1 });
    assert.equal(r2.status, 200, r2.body);
    assert.equal(r2.headers['x-amz-function-error'], undefined, r2.body);
  });
}

test('a child killed by the limit ends the whole instance, as on Lambda', async (t) => {
  if (skipWhy) return t.skip(skipWhy);
  const p = platforms[0];
  const w = await L.invoke(p.port, 'child-hog', { sleeper: true });
  assert.equal(w.status, 200, w.body);
  const { pid, sleeper } = JSON.parse(w.body);
  assert.equal(C.groupPath(sleeper, kind), C.groupPath(pid, kind));
  const r = await L.invoke(p.port, 'child-hog', {}, { 'X-Amz-Log-Type': 'Tail' }, { timeout: 60000 });
  assert.equal(r.status, 200, r.body);
  assert.equal(r.headers['x-amz-function-error'], 'Unhandled', `the runtime answered: ${r.body}`);
  const body = JSON.parse(r.body);
  assert.equal(body.errorType, 'Runtime.ExitError', r.body);
  assert.match(body.errorMessage, /^RequestId: [0-9a-f-]{36} Error: Runtime exited with error: signal: killed$/);
  assert.deepEqual(maxMemoryUsed(tail(r)), { size: 128, used: 128 }, tail(r));
  await L.waitFor('no process of the old group left', () => !L.alive(pid) && !L.alive(sleeper), 15000);
  await L.waitFor('tether up to say why it died', () =>
    /\[child-hog \d+\] killed by its memory limit \(MemorySize 128 MB\)/.test(p.logs()));
  // the next invocation is a cold start, in a new instance
  const r2 = await L.invoke(p.port, 'child-hog', { sleeper: true }, { 'X-Amz-Log-Type': 'Tail' });
  assert.equal(r2.status, 200, r2.body);
  assert.notEqual(JSON.parse(r2.body).pid, pid);
  assert.match(tail(r2), /Init Duration: /);
});

test('a child in a session of its own is frozen with its instance and reaped with it', async (t) => {
  if (skipWhy) return t.skip(skipWhy);
  const p = await start({ idleTimeout: 2 });
  const r = await L.invoke(p.port, 'detach', {});
  assert.equal(r.status, 200, r.body);
  const { pid, child } = JSON.parse(r.body);
  assert.notEqual(L.procStat(child).pgrp, pid, 'the child left the instance\'s process group');
  const rel = C.groupPath(pid, kind);
  assert.equal(C.groupPath(child, kind), rel, 'the child is in the instance\'s control group');
  await L.waitFor('the instance frozen, its detached child too', () =>
    C.freezeState(child, kind) === 'FROZEN' && L.procStat(child).state !== 'R' && L.procStat(child).state !== 'S');
  await L.waitFor('the idle reap to end the instance and its detached child', () => !L.alive(pid) && !L.alive(child), 15000);
  await L.waitFor('its control group removed', () => !C.groupExists(rel, kind));
});

test('SIGINT to tether up leaves no process of any instance and no group', async (t) => {
  if (skipWhy) return t.skip(skipWhy);
  const p = await start();
  const pids = [];
  for (let i = 0; i < 2; i++) {
    const r = await L.invoke(p.port, 'detach', {}, {}, {});
    assert.equal(r.status, 200, r.body);
    const { pid, child } = JSON.parse(r.body);
    pids.push(pid, child);
  }
  const rc = await L.invoke(p.port, 'hog-c', { mb: 1 });
  pids.push(JSON.parse(rc.body).pid);
  const parent = path.dirname(C.groupPath(pids[0], kind));
  assert.ok(C.groupExists(parent, kind));
  await L.waitFor('the detached children frozen', () =>
    [pids[1], pids[3]].every((c) => C.freezeState(c, kind) === 'FROZEN'));
  p.proc.kill('SIGINT');
  const exited = await L.waitFor('tether up to exit on SIGINT', () => p.exited(), 15000);
  assert.equal(exited.code, 0, JSON.stringify(exited));
  await L.waitFor('no process of any instance left', () => pids.every((x) => !L.alive(x)), 5000);
  assert.ok(!C.groupExists(parent, kind), `tether up's group ${parent} removed`);
});

test('a tether up killed hard leaves groups that the next one removes, with what is left in them', async (t) => {
  if (skipWhy) return t.skip(skipWhy);
  const p = await start();
  const r = await L.invoke(p.port, 'detach', {});
  assert.equal(r.status, 200, r.body);
  const { pid, child } = JSON.parse(r.body);
  const parent = path.dirname(C.groupPath(pid, kind));
  p.proc.kill('SIGKILL');
  await L.waitFor('tether up gone', () => p.exited(), 15000);
  // the detached child outlives it (PR_SET_PDEATHSIG reaches the runtime
  // only, and a frozen one only once thawed), and so does the group
  assert.ok(L.alive(child), 'the detached child outlives a tether up killed with SIGKILL');
  assert.ok(C.groupExists(parent, kind));
  const q = await start();
  await L.waitFor('the next tether up to remove the stale group and its processes', () =>
    !C.groupExists(parent, kind) && !L.alive(child) && !L.alive(pid), 15000);
  assert.match(q.logs(), /removing control group .* of a tether up that is gone/);
});
