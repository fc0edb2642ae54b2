// `tether invoke` against the platform: what it prints and its exit status
// (0 success, 1 function error, 2 usage, transport or API error).
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('child_process');
const L = require('./platform_lib');

L.deadline(120000);
let p;
before(async () => {
  p = await L.startPlatform();
});
after(async () => {
  if (p) await p.stop();
});

function tether(args, { input, env } = {}) {
  return new Promise((resolve) => {
    const c = spawn(L.BIN, args, { env: Object.assign({}, process.env, env || {}) });
    let out = '';
    let err = '';
    c.stdout.on('data', (d) => (out += d));
    c.stderr.on('data', (d) => (err += d));
    c.on('close', (code) => resolve({ code, out, err }));
    c.stdin.end(input);
  });
}
const ep = () => ['--endpoint', `http://127.0.0.1:${p.port}`];

test('success: the response body on stdout, exit 0', async () => {
  const r = await tether(['invoke', ...ep(), 'echo', '{"a":1}']);
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(JSON.parse(r.out).event, { a: 1 });
});

test('TETHER_ENDPOINT, the payload from stdin, {} when absent', async () => {
  const env = { TETHER_ENDPOINT: `http://127.0.0.1:${p.port}` };
  let r = await tether(['invoke', 'echo', '-'], { input: '{"from":"stdin"}', env });
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(JSON.parse(r.out).event, { from: 'stdin' });
  r = await tether(['invoke', 'echo'], { env });
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(JSON.parse(r.out).event, {});
});

test('function error: the error body on stdout, exit 1', async () => {
  const r = await tether(['invoke', ...ep(), 'throws', '{"message":"cli sees it"}']);
  assert.equal(r.code, 1, r.err);
  const b = JSON.parse(r.out);
  assert.equal(b.errorType, 'TestError');
  assert.equal(b.errorMessage, 'cli sees it');
});

test('API errors: exit 2 with the API\'s message', async () => {
  let r = await tether(['invoke', ...ep(), 'no-such-function', '{}']);
  assert.equal(r.code, 2);
  assert.match(r.err, /ResourceNotFoundException/);
  assert.match(r.err, /no-such-function/);
  assert.equal(r.out, '');
  r = await tether(['invoke', ...ep(), 'echo', '-'], { input: 'x'.repeat(6 * 1024 * 1024 + 1) });
  assert.equal(r.code, 2);
  assert.match(r.err, /RequestTooLargeException/);
});

test('a handler name for a function name: exit 2, and which function has that Handler', async () => {
  const r = await tether(['invoke', ...ep(), 'handlers.echo', '{}']);
  assert.equal(r.code, 2);
  assert.equal(r.out, '');
  assert.match(r.err, /^tether invoke: ResourceNotFoundException \(HTTP 404\): Function not found: arn:aws:lambda:[a-z0-9-]+:\d{12}:function:handlers\.echo; did you mean echo \(Handler handlers\.echo\)\?\n$/);
});

test('usage and transport errors: exit 2', async () => {
  let r = await tether(['invoke']);
  assert.equal(r.code, 2);
  assert.match(r.err, /usage/);
  r = await tether(['invoke', '--type', 'Sometimes', 'echo']);
  assert.equal(r.code, 2);
  r = await tether(['invoke', '--bogus', 'echo']);
  assert.equal(r.code, 2);
  r = await tether(['invoke', 'echo', '{}', 'extra']);
  assert.equal(r.code, 2);
  r = await tether(['invoke', '--endpoint', 'http://127.0.0.1:1', 'echo', '{}']);
  assert.equal(r.code, 2);
  assert.match(r.err, /127\.0\.0\.1:1/);
  r = await tether(['invoke', '--help']);
  assert.equal(r.code, 0);
  assert.match(r.out, /usage: tether invoke/);
});

test('--type Event and DryRun; --log-tail prints the log to stderr', async () => {
  let r = await tether(['invoke', ...ep(), '--type', 'Event', 'echo', '{}']);
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out, '');
  r = await tether(['invoke', ...ep(), '--type', 'DryRun', 'echo']);
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out, '');
  r = await tether(['invoke', ...ep(), '--type', 'DryRun', 'no-such-function']);
  assert.equal(r.code, 2);
  r = await tether(['invoke', ...ep(), '--log-tail', 'logs', '{"tag":"cli-tail"}']);
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(JSON.parse(r.out), { logged: 'cli-tail' });
  assert.match(r.err, /START RequestId: \S+/);
  assert.match(r.err, /hello from the logs handler cli-tail/);
  assert.match(r.err, /END RequestId: \S+/);
  assert.match(r.err, /REPORT RequestId: \S+\s+Duration:/);
});
