// Bad input never stops the platform: malformed HTTP, wrong methods, unknown
// paths on the Invoke API; bad request ids and unknown paths on a Runtime API;
// a function that floods stdout; a function that forks a child and exits.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const path = require('path');
const L = require('./platform_lib');

L.deadline(180000);
let p;
before(async () => {
  p = await L.startPlatform();
});
after(async () => {
  if (p) await p.stop();
});

async function stillServes() {
  assert.equal(p.exited(), null, 'tether up must still run');
  const r = await L.invoke(p.port, 'echo', { ok: 1 });
  assert.equal(r.status, 200, r.body);
  assert.deepEqual(JSON.parse(r.body).event, { ok: 1 });
}

// An error reply (4xx/5xx) or a closed connection: never a hang, never a crash.
function rejected(res) {
  if (res.how !== 'closed' && res.how !== 'error' && !/^HTTP\/1\.[01] [45]\d\d/.test(res.text))
    assert.fail(`expected an error reply or a close, got ${res.how}: ${JSON.stringify(res.text.slice(0, 200))}`);
  if (res.text.length > 0) assert.match(res.text, /^HTTP\/1\.[01] [45]\d\d/);
}

test('malformed HTTP on the Invoke API', async () => {
  const cases = [
    'GARBAGE\r\n\r\n',
    'POST /2015-03-31/functions/echo/invocations HTTP/9.9\r\n\r\n',
    'POST /2015-03-31/functions/echo/invocations HTTP/1.1\r\nContent-Length: -5\r\n\r\n',
    'POST /2015-03-31/functions/echo/invocations HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n',
    'POST /2015-03-31/functions/echo/invocations HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
    'POST /2015-03-31/functions/echo/invocations HTTP/1.1\r\nX-Big: ' + 'a'.repeat(200000) + '\r\n\r\n',
    'GET /' + 'a'.repeat(100000) + ' HTTP/1.1\r\n\r\n',
    '\x00\x01\x02\x03\xff\xfe\r\n\r\n',
    'POST /2015-03-31/functions/echo/invocations HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc', // then closes
  ];
  for (const c of cases) rejected(await L.rawExchange(p.port, Buffer.from(c, 'latin1'), 3000).then((r) => {
    // the short-body case ends with our close: treat a timeout there as a wait for more bytes
    if (c.endsWith('abc') && r.how === 'timeout') return { how: 'closed', text: '' };
    return r;
  }));
  await stillServes();
});

test('wrong methods and unknown paths', async () => {
  for (const m of ['GET', 'PUT', 'DELETE', 'PATCH']) {
    const r = await L.request(p.port, m, '/2015-03-31/functions/echo/invocations', m === 'GET' || m === 'DELETE' ? undefined : '{}');
    assert.ok(r.status >= 400 && r.status < 500, `${m} invocations answered ${r.status}`);
  }
  for (const u of ['/', '/nope', '/2015-03-31/functions/', '/2015-03-31/functions/echo', '/2015-03-31/functions/echo/invocations/extra',
    '/2015-03-31/functions/%2e%2e/invocations', '/2018-06-01/runtime/invocation/next', '/_tether/nope']) {
    const r = await L.request(p.port, 'POST', u, '{}');
    assert.ok(r.status >= 400 && r.status < 500, `POST ${u} answered ${r.status}`);
  }
  const bad = await L.invoke(p.port, 'echo', '{}', { 'X-Amz-Invocation-Type': 'Sometimes' });
  assert.ok(bad.status >= 400 && bad.status < 500, `a bad invocation type answered ${bad.status}`);
  await stillServes();
});

test('the Runtime API: bad request ids are 400 InvalidRequestID', async () => {
  const r = await L.invoke(p.port, 'env', {});
  assert.equal(r.status, 200, r.body);
  const [, port] = JSON.parse(r.body).AWS_LAMBDA_RUNTIME_API.split(':');
  const rapi = Number(port);
  for (const kind of ['response', 'error']) {
    for (const id of ['bogus-id', '00000000-0000-0000-0000-000000000000', 'x'.repeat(64), 'x'.repeat(200),
      'x'.repeat(5000)]) {
      const res = await L.request(rapi, 'POST', `/2018-06-01/runtime/invocation/${id}/${kind}`, '{"x":1}',
        { 'content-type': 'application/json' });
      assert.equal(res.status, 400, `${kind} for ${id.slice(0, 20)}: ${res.status} ${res.body}`);
      assert.equal(JSON.parse(res.body).errorType, 'InvalidRequestID');
    }
  }
  for (const u of ['/2018-06-01/runtime/nope', '/2018-06-01/runtime/invocation/x/other', '/nope']) {
    const res = await L.request(rapi, 'POST', u, '{}');
    assert.ok(res.status >= 400 && res.status < 500, `POST ${u} on the Runtime API answered ${res.status}`);
  }
  rejected(await L.rawExchange(rapi, Buffer.from('NONSENSE\r\n\r\n')));
  // the instance whose Runtime API we poked still works
  await L.waitParked(p.port, 'env');
  const again = await L.invoke(p.port, 'env', {});
  assert.equal(again.status, 200);
  assert.equal(JSON.parse(again.body).pid, JSON.parse(r.body).pid);
  await stillServes();
});

test('a function that floods stdout', async () => {
  const r = await L.invoke(p.port, 'flood', { mb: 16 }, {}, { timeout: 60000 });
  assert.equal(r.status, 200, r.body);
  assert.deepEqual(JSON.parse(r.body), { flooded: 16 });
  const r2 = await L.invoke(p.port, 'flood', { mb: 1 }, { 'X-Amz-Log-Type': 'Tail' });
  assert.equal(r2.status, 200);
  assert.ok(Buffer.from(r2.headers['x-amz-log-result'] || '', 'base64').length <= 4096);
  await stillServes();
});

test('a function that forks a child and exits: the child does not outlive it', async () => {
  const pidfile = path.join(L.TMP, 'forkexit.pid');
  const r = await L.invoke(p.port, 'forkexit', { pidfile });
  assert.equal(r.status, 200, r.body);
  assert.equal(r.headers['x-amz-function-error'], 'Unhandled');
  assert.equal(JSON.parse(r.body).errorType, 'Runtime.ExitError');
  const child = Number(require('fs').readFileSync(pidfile, 'utf8'));
  await L.waitFor(`the forked child ${child} to be killed`, () => !L.alive(child), 10000);
  await stillServes();
});
