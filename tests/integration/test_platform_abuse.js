// The Invoke API under abuse: idle connections are closed after
// --http-idle-timeout, a request in progress is not; framing RFC 9112 calls
// invalid is a 400.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
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
