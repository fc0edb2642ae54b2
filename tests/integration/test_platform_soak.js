// A bounded soak: 10,000 invocations from 16 concurrent callers on keep-alive
// connections. None lost (each answered with its own payload), none
// duplicated (each ran exactly once: the handler appends its id to a file),
// no instance leaked (live instances within the cap, every process accounted
// for, none left after tether up stops).
'use strict';
const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const http = require('http');
const path = require('path');
const L = require('./platform_lib');

// A bound on a hang, not an expectation: 48 s on an idle machine, 167 s seen
// under ASan on a loaded 2-core one; ctest allows 600 s.
L.deadline(540000);
const TOTAL = 10000;
const CALLERS = 16;

test('10,000 invocations, 16 callers: none lost, none duplicated, none leaked', async () => {
  const p = await L.startPlatform();
  const file = path.join(L.TMP, 'soak-ids.txt');
  const agent = new http.Agent({ keepAlive: true, maxSockets: CALLERS });
  let next = 0;
  let throttled = 0;
  const answered = new Map();
  const t0 = Date.now();
  async function caller(c) {
    for (;;) {
      const i = next++;
      if (i >= TOTAL) return;
      const payload = { id: `soak-${i}`, caller: c, n: i };
      for (let attempt = 0; ; attempt++) {
        const r = await L.invoke(p.port, 'soak', Object.assign({ file }, payload), {}, { agent, timeout: 30000 });
        if (r.status === 429 && attempt < 200) {
          throttled++; // an instance between its response and its next /next: retry, as the SDK does
          await L.sleep(5);
          continue;
        }
        assert.equal(r.status, 200, r.body);
        assert.equal(r.headers['x-amz-function-error'], undefined, r.body);
        const b = JSON.parse(r.body);
        assert.deepEqual(b, Object.assign({ file }, payload), 'the answer is the payload sent');
        assert.equal(answered.has(b.id), false, `${b.id} answered twice`);
        answered.set(b.id, true);
        break;
      }
    }
  }
  await Promise.all([...Array(CALLERS).keys()].map(caller));
  const secs = (Date.now() - t0) / 1000;
  console.log(`soak: ${TOTAL} invocations in ${secs.toFixed(1)} s (${(TOTAL / secs).toFixed(0)}/s), ${throttled} throttled and retried`);
  agent.destroy();
  assert.equal(answered.size, TOTAL);

  const ran = fs.readFileSync(file, 'utf8').trim().split('\n');
  assert.equal(ran.length, TOTAL, 'each invocation ran exactly once');
  assert.equal(new Set(ran).size, TOTAL);

  const inst = L.instancesOf(await L.status(p.port), 'soak');
  assert.ok(inst.length >= 1 && inst.length <= 16, `${inst.length} live instances`);
  const instPids = inst.map((i) => i.pid);
  for (const pid of instPids) assert.ok(L.alive(pid), `instance ${pid} in status is alive`);
  // every process under tether up belongs to a live instance's group
  const procs = L.descendants(p.pid);
  const allInstPids = L.instancesOf(await L.status(p.port), 'soak').map((i) => i.pid);
  for (const pid of procs) {
    const st = L.procStat(pid);
    if (!st) continue;
    assert.ok(allInstPids.includes(st.pgrp), `process ${pid} (group ${st.pgrp}) belongs to no instance`);
  }
  const exited = await p.stop();
  assert.ok(exited && (exited.code === 0 || exited.sig === 'SIGTERM'), JSON.stringify(exited));
  await L.waitFor('every instance process gone after tether up stops', () =>
    instPids.every((pid) => !L.alive(pid)) && instPids.every((pid) => L.groupMembers(pid).length === 0), 10000);
});
