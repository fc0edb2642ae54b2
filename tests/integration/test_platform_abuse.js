// The Invoke API under abuse: idle connections are closed after
// --http-idle-timeout, a request in progress is not; framing RFC 9112 calls
// invalid is a 400.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const net = require('net');
const { execFileSync } = require('child_process');
const L = require('./platform_lib');

L.deadline(180000);
const IDLE_S = 2;
let p;
before(async () => {
  p = await L.startPlatform({ args: ['--http-idle-timeout', String(IDLE_S)] });
});
after(async () => {
  if (p) await p.stop();
});

test('an idle connection is closed after --http-idle-timeout', async () => {
  const t0 = Date.now();
  const r = await L.rawExchange(p.port, Buffer.alloc(0), 20000);
  const took = Date.now() - t0;
  assert.equal(r.how, 'closed', `an idle connection stayed open ${took} ms`);
  assert.equal(r.text, '');
  assert.ok(took >= IDLE_S * 1000 - 300, `closed after ${took} ms, before the timeout`);
  // a head that stalls half-way is closed too
  const h = await L.rawExchange(p.port, Buffer.from('POST /2015-03-31/functions/echo/invocations HTTP/1.1\r\nHost: x\r\n'), 20000);
  assert.equal(h.how, 'closed');
});

test('an invocation longer than the idle timeout still answers, then the idle connection closes', async () => {
  const body = JSON.stringify({ ms: IDLE_S * 1000 + 2000 });
  const req = `POST /2015-03-31/functions/sleepy/invocations HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
  const r = await L.rawExchange(p.port, Buffer.from(req), 30000);
  assert.match(r.text, /^HTTP\/1\.1 200 /, r.text);
  assert.match(r.text, /"slept":4000/);
  assert.equal(r.how, 'closed', 'the keep-alive connection is closed once idle');
});

// utime + stime of pid, in clock ticks
function cpuTicks(pid) {
  const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return Number(rest[11]) + Number(rest[12]);
}

function connect(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.on('error', () => {});
    s.on('connect', () => resolve(s));
    setTimeout(() => resolve(s), 5000); // a connection left in the backlog still counts
  });
}

test('out of descriptors: no spin, a bounded log, invocations again once clients go', async () => {
  const q = await L.startPlatform();
  const sockets = [];
  try {
    const warm = await L.invoke(q.port, 'echo', { warm: 1 });
    assert.equal(warm.status, 200, warm.body);
    const open = fs.readdirSync(`/proc/${q.pid}/fd`).length;
    const limit = open + 32;
    execFileSync('prlimit', ['--pid', String(q.pid), `--nofile=${limit}:${limit}`]);
    for (let i = 0; i < 64; i++) sockets.push(await connect(q.port)); // 32 past the limit
    await L.waitFor('tether up at its descriptor limit', () =>
      fs.readdirSync(`/proc/${q.pid}/fd`).length >= limit - 1 && /cannot accept connections/.test(q.logs()) ? true : null);
    const ticks0 = cpuTicks(q.pid);
    const t0 = Date.now();
    await L.sleep(2000); // the window the CPU is measured over, not a wait for a state
    const cpuS = (cpuTicks(q.pid) - ticks0) / 100;
    const wallS = (Date.now() - t0) / 1000;
    assert.ok(cpuS < wallS * 0.4, `tether up used ${cpuS} s of CPU in ${wallS} s at its descriptor limit`);
    const lines = q.logs().split('\n').filter((l) => /Too many open files/.test(l));
    assert.ok(lines.length >= 1 && lines.length <= 3, `${lines.length} log lines:\n${lines.slice(0, 5).join('\n')}`);
    for (const s of sockets) s.destroy();
    sockets.length = 0;
    const r = await L.waitFor('an invocation served again', async () => {
      const x = await L.invoke(q.port, 'echo', { back: 1 }).catch(() => null);
      return x && x.status === 200 ? x : null;
    });
    assert.deepEqual(JSON.parse(r.body).event, { back: 1 });
  } finally {
    for (const s of sockets) s.destroy();
    await q.stop();
  }
});
