// Freeze is real: an idle instance's processes (every thread of every process
// in its group) are stopped, state T in /proc (or, contained in a control
// group, the group frozen); a delivered event thaws them;
// --idle-timeout reaps an idle (frozen) instance and leaves no process behind.
'use strict';
const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const L = require('./platform_lib');
const C = require('./cgroup_lib');

L.deadline(120000);
const platforms = [];
after(async () => {
  for (const p of platforms) await p.stop();
});

// Every thread of every live process in the group, with its state letter.
function groupThreadStates(pgid) {
  const out = [];
  for (const pid of L.groupMembers(pgid)) {
    let tasks = [];
    try {
      tasks = fs.readdirSync(`/proc/${pid}/task`);
    } catch (e) {
      continue;
    }
    for (const t of tasks) {
      const st = L.procStat(`${pid}/task/${t}`);
      if (st) out.push(st.state);
    }
  }
  return out;
}

// How tether up contains instances ("signals", "cgroup-v1", "cgroup-v2"),
// read from /_tether/status at the first start.
let containment = 'signals';

// Stopped: with signals every thread in state T; with a control group, the
// group frozen (cgroup_lib reads it) and no thread running.
const stoppedOne = (pid) => {
  if (containment === 'signals') return ['T', 't'].includes((L.procStat(pid) || {}).state);
  const st = L.procStat(pid);
  return C.freezeState(pid, containment) === 'FROZEN' && st !== null && st.state !== 'R';
};
const allStopped = (pgid) => {
  const s = groupThreadStates(pgid);
  if (containment !== 'signals')
    return s.length > 0 && L.groupMembers(pgid).every(stoppedOne) && !s.includes('R');
  return s.length > 0 && s.every((x) => x === 'T' || x === 't');
};

test('an idle instance is stopped (T), thawed to serve, stopped again', async () => {
  const p = await L.startPlatform();
  platforms.push(p);
  containment = (await L.status(p.port)).containment || 'signals';
  const r = await L.invoke(p.port, 'echo', { n: 1 });
  assert.equal(r.status, 200, r.body);
  const pid = JSON.parse(r.body).pid;
  assert.equal(L.procStat(pid).pgrp, pid, 'the instance leads its own process group');
  await L.waitFor('every thread of the idle instance in state T', () => allStopped(pid));
  await L.waitFor('status to say frozen', async () =>
    L.instancesOf(await L.status(p.port), 'echo').some((i) => i.pid === pid && i.state === 'frozen'));

  const r2 = await L.invoke(p.port, 'echo', { n: 2 });
  assert.equal(JSON.parse(r2.body).pid, pid, 'the frozen instance served the next event');
  await L.waitFor('the instance frozen again', () => allStopped(pid));
});

test('a running invocation is not stopped; a child in the group is frozen with it', async () => {
  const p = platforms[0];
  const pidfile = path.join(L.TMP, 'child.pid');
  const r = await L.invoke(p.port, 'forkexit', { pidfile, exit: false });
  assert.equal(r.status, 200, r.body);
  const { pid, child } = JSON.parse(r.body);
  assert.equal(L.procStat(child).pgrp, pid, 'the child is in the instance\'s group');
  await L.waitFor('the instance and its child stopped', () =>
    allStopped(pid) && stoppedOne(child));

  const busy = L.invoke(p.port, 'sleepy', { ms: 1500 });
  const inst = await L.waitFor('a busy sleepy instance', async () =>
    L.instancesOf(await L.status(p.port), 'sleepy').find((i) => i.state === 'busy'));
  const st = L.procStat(inst.pid);
  assert.ok(st && st.state !== 'T', `a busy instance must run (state ${st && st.state})`);
  if (containment !== 'signals') assert.notEqual(C.freezeState(inst.pid, containment), 'FROZEN');
  assert.equal((await busy).status, 200);
});

test('--idle-timeout reaps a frozen instance and its whole group', async () => {
  const p = await L.startPlatform({ idleTimeout: 1 });
  platforms.push(p);
  const pidfile = path.join(L.TMP, 'child2.pid');
  const r = await L.invoke(p.port, 'forkexit', { pidfile, exit: false });
  assert.equal(r.status, 200, r.body);
  const { pid, child } = JSON.parse(r.body);
  const t0 = Date.now();
  await L.waitFor('the idle instance and its child to be gone', () => !L.alive(pid) && !L.alive(child), 10000);
  const took = Date.now() - t0;
  assert.ok(took >= 500, `reaped after ${took} ms, before the idle timeout`);
  await L.waitFor('status to show no live forkexit instance', async () =>
    L.instancesOf(await L.status(p.port), 'forkexit').filter((i) => i.state !== 'stopping').length === 0);
  // and the function still serves, from a fresh instance
  const r2 = await L.invoke(p.port, 'echo', {});
  assert.equal(r2.status, 200);
});

test('SIGINT to tether up stops every instance, frozen ones and their children too', async () => {
  const p = await L.startPlatform();
  const pidfile = path.join(L.TMP, 'child3.pid');
  const r1 = await L.invoke(p.port, 'forkexit', { pidfile, exit: false });
  assert.equal(r1.status, 200, r1.body);
  const { pid, child } = JSON.parse(r1.body);
  const r2 = await L.invoke(p.port, 'echo', {});
  const echoPid = JSON.parse(r2.body).pid;
  await L.waitFor('both instances frozen', () => allStopped(pid) && allStopped(echoPid));
  p.proc.kill('SIGINT');
  const exited = await L.waitFor('tether up to exit on SIGINT', () => p.exited(), 15000);
  assert.equal(exited.code, 0, JSON.stringify(exited));
  await L.waitFor('no process of any instance left', () =>
    [pid, child, echoPid].every((x) => !L.alive(x)) &&
    L.groupMembers(pid).length === 0 && L.groupMembers(echoPid).length === 0, 5000);
});
