// Invoke requests over 6 MB, whatever their size, get AWS's JSON 413
// (RequestTooLargeException, X-Amzn-ErrorType) before their body is read,
// without tether up holding the body in memory, and the connection stays
// usable: @aws-sdk/client-lambda sees RequestTooLargeException for 20 MB, and
// raw HTTP gets the 413 for 20 MB and 100 MB Content-Lengths, a chunked body
// over 6 MB, a head sent in pieces and Expect: 100-continue.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const http = require('http');
const net = require('net');
const { LambdaClient, InvokeCommand } = require('@aws-sdk/client-lambda');
const L = require('./platform_lib');

L.deadline(180000);
const MB = 1024 * 1024;
const LIMIT_MSG = 'Request must be smaller than 6291456 bytes for the InvokeFunction operation';
const PATH = '/2015-03-31/functions/echo/invocations';
let p;
before(async () => {
  // under AddressSanitizer freed memory is quarantined (256 MB): without
  // that, tether up's peak memory says whether it held a body
  const asan = [process.env.ASAN_OPTIONS, 'quarantine_size_mb=0'].filter(Boolean).join(':');
  p = await L.startPlatform({ env: { ASAN_OPTIONS: asan } });
});
after(async () => {
  if (p) await p.stop();
});

// A raw connection that collects HTTP responses as they come.
function connect(port) {
  const s = net.connect(port, '127.0.0.1');
  const conn = { s, data: Buffer.alloc(0), closed: false, error: null };
  s.on('data', (d) => (conn.data = Buffer.concat([conn.data, d])));
  s.on('close', () => (conn.closed = true));
  s.on('error', (e) => (conn.error = e));
  return new Promise((resolve, reject) => {
    s.once('connect', () => resolve(conn));
    s.once('error', reject);
  });
}

// Takes one complete response (head + Content-Length body) off conn.data.
function takeResponse(conn) {
  const end = conn.data.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const head = conn.data.subarray(0, end).toString('latin1');
  const lines = head.split('\r\n');
  const status = Number(lines[0].split(' ')[1]);
  const headers = {};
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':');
    headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
  }
  const len = Number(headers['content-length'] || 0);
  if (conn.data.length < end + 4 + len) return null;
  const body = conn.data.subarray(end + 4, end + 4 + len).toString();
  conn.data = conn.data.subarray(end + 4 + len);
  return { status, headers, body, statusLine: lines[0] };
}

function nextResponse(conn, what, ms = 10000) {
  return L.waitFor(what, () => {
    if (conn.error) throw conn.error;
    return takeResponse(conn);
  }, ms, 5);
}

function write(conn, bytes) {
  return new Promise((resolve, reject) => conn.s.write(bytes, (e) => (e ? reject(e) : resolve())));
}

function assertTooLarge(r) {
  assert.equal(r.status, 413, r.statusLine);
  assert.equal(r.headers['content-type'], 'application/json');
  assert.equal(r.headers['x-amzn-errortype'], 'RequestTooLargeException');
  assert.match(r.headers['x-amzn-requestid'] || '', /^[0-9a-f-]{36}$/);
  assert.deepEqual(JSON.parse(r.body), { Type: 'User', message: LIMIT_MSG });
}

const head = (len, extra = '') =>
  `POST ${PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n${extra}Content-Length: ${len}\r\n\r\n`;
const small = () => `POST ${PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 9\r\n\r\n{"n":42}\n`;

function peakKb(pid) {
  const m = fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmHWM:\s+(\d+) kB/);
  return Number(m[1]);
}

// Sends n bytes of filler in 1 MB writes, waiting for each to drain.
async function sendFiller(conn, n) {
  const block = Buffer.alloc(MB, 0x20);
  for (let sent = 0; sent < n; sent += MB) await write(conn, block.subarray(0, Math.min(MB, n - sent)));
}

test('@aws-sdk/client-lambda: a 20 MB payload is RequestTooLargeException (413)', async () => {
  const lambda = new LambdaClient({
    endpoint: `http://127.0.0.1:${p.port}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDTETHERTEST', secretAccessKey: 'not-a-secret' },
    maxAttempts: 1,
  });
  try {
    const big = new Uint8Array(20 * MB).fill(0x20);
    let err;
    try {
      await lambda.send(new InvokeCommand({ FunctionName: 'echo', Payload: big }));
    } catch (e) {
      err = e;
    }
    assert.ok(err, 'the invoke must fail');
    assert.equal(err.name, 'RequestTooLargeException', `${err.name}: ${err.message}`);
    assert.equal(err.$metadata.httpStatusCode, 413);
    assert.equal(err.message, LIMIT_MSG);
    // the same client (and its kept-alive connection) works on
    const r = await lambda.send(new InvokeCommand({ FunctionName: 'echo', Payload: Buffer.from('{"ok":1}') }));
    assert.equal(r.StatusCode, 200);
    assert.deepEqual(JSON.parse(Buffer.from(r.Payload).toString()).event, { ok: 1 });
  } finally {
    lambda.destroy();
  }
});

for (const size of [20, 100]) {
  test(`raw HTTP: Content-Length ${size} MB is answered before the body, which is then read and dropped`, async () => {
    const before = peakKb(p.pid);
    const c = await connect(p.port);
    await write(c, head(size * MB));
    const r = await nextResponse(c, 'the 413 before any body byte');
    assertTooLarge(r);
    assert.notEqual((r.headers.connection || '').toLowerCase(), 'close');
    await sendFiller(c, size * MB);
    await write(c, small());
    const ok = await nextResponse(c, 'the next request on the same connection', 30000);
    assert.equal(ok.status, 200, ok.body);
    assert.deepEqual(JSON.parse(ok.body).event, { n: 42 });
    c.s.destroy();
    const grew = peakKb(p.pid) - before;
    assert.ok(grew < 24 * 1024, `tether up's peak memory grew by ${grew} kB for a ${size} MB body`);
  });
}

test('raw HTTP: a chunked body over 6 MB gets the 413; the connection goes on', async () => {
  const c = await connect(p.port);
  await write(c, `POST ${PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n`);
  const chunk = Buffer.concat([Buffer.from(`${MB.toString(16)}\r\n`), Buffer.alloc(MB, 0x20), Buffer.from('\r\n')]);
  for (let i = 0; i < 7; i++) await write(c, chunk);
  const r = await nextResponse(c, 'the 413 for the chunked body');
  assertTooLarge(r);
  for (let i = 0; i < 3; i++) await write(c, chunk);
  await write(c, '0\r\n\r\n' + small());
  const ok = await nextResponse(c, 'the next request', 30000);
  assert.equal(ok.status, 200, ok.body);
  c.s.destroy();
});

test('raw HTTP: a head that arrives in pieces is judged whole', async () => {
  const c = await connect(p.port);
  const h = head(20 * MB);
  const cut = h.indexOf('Content-Length: ') + 'Content-Length: 20'.length;
  for (const piece of [h.slice(0, 5), h.slice(5, cut), h.slice(cut, h.length - 1), h.slice(h.length - 1)]) {
    await write(c, piece);
    await L.sleep(30);
  }
  assertTooLarge(await nextResponse(c, 'the 413'));
  c.s.destroy();
});

test('raw HTTP: Expect: 100-continue gets the 413 (and a close) instead of 100 Continue', async () => {
  const c = await connect(p.port);
  await write(c, head(100 * MB, 'Expect: 100-continue\r\n'));
  const r = await nextResponse(c, 'the 413');
  assert.ok(!r.statusLine.includes(' 100 '), r.statusLine);
  assertTooLarge(r);
  assert.equal((r.headers.connection || '').toLowerCase(), 'close');
  await L.waitFor('the connection to close', () => c.closed);
});

for (const agent of [undefined, false]) {
  const how = agent === false ? 'Connection: close' : 'keep-alive';
  test(`node http (${how}): a 20 MB body written in full gets a parsed 413, no connection error`, async () => {
    const body = Buffer.alloc(20 * MB, 0x20);
    const r = await new Promise((resolve, reject) => {
      const req = http.request({
        host: '127.0.0.1', port: p.port, method: 'POST', path: PATH, agent,
        headers: { 'content-type': 'application/json', 'content-length': body.length },
      }, (res) => {
        const chunks = [];
        res.on('data', (d) => chunks.push(d));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      });
      req.on('error', reject);
      req.end(body);
    });
    assert.equal(r.status, 413);
    assert.equal(r.headers['x-amzn-errortype'], 'RequestTooLargeException');
    assert.equal(JSON.parse(r.body).message, LIMIT_MSG);
  });
}

test('bodies up to 6 MB still pass, byte for byte', async () => {
  const s = 'y'.repeat(6 * MB - 20);
  const r = await L.invoke(p.port, 'size', JSON.stringify({ s }));
  assert.equal(r.status, 200, r.body.slice(0, 200));
  assert.equal(JSON.parse(r.body).length, JSON.stringify({ s }).length);
});
