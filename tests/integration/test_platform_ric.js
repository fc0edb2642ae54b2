// aws-lambda-ric (the Lambda Node runtime interface client, pure-JS client)
// runs Node handlers on tether up: success, thrown error, init error, timeout,
// process exit, 5.9 MB request and response, too-large request and response.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const L = require('./platform_lib');

L.deadline(180000);
let p;
before(async () => {
  p = await L.startPlatform();
});
after(async () => {
  if (p) await p.stop();
});

const json = (r) => JSON.parse(r.body);
const MB = 1024 * 1024;

test('success: the handler gets the event and its answer comes back', async () => {
  const r = await L.invoke(p.port, 'echo', { hello: 'world', n: 1 });
  assert.equal(r.status, 200, r.body);
  assert.equal(r.headers['x-amz-function-error'], undefined);
  const b = json(r);
  assert.deepEqual(b.event, { hello: 'world', n: 1 });
  assert.ok(Number.isInteger(b.pid) && b.pid > 0);
  // warm: once parked, the same instance answers the next one
  await L.waitParked(p.port, 'echo');
  const r2 = await L.invoke(p.port, 'echo', { again: true });
  assert.equal(json(r2).pid, b.pid);
});

test('thrown error: 200 with X-Amz-Function-Error and the error the runtime posted', async () => {
  const r = await L.invoke(p.port, 'throws', { message: 'bad thing' });
  assert.equal(r.status, 200, r.body);
  assert.equal(r.headers['x-amz-function-error'], 'Unhandled');
  const b = json(r);
  assert.equal(b.errorType, 'TestError');
  assert.equal(b.errorMessage, 'bad thing');
  // a handler error does not kill the instance: it parks and serves the next one
  const [inst] = await L.waitParked(p.port, 'throws');
  const r2 = await L.invoke(p.port, 'throws', { message: 'again' });
  assert.equal(json(r2).errorMessage, 'again');
  const after = await L.waitParked(p.port, 'throws');
  assert.equal(after[0].pid, inst.pid);
  assert.equal(after[0].invocations, 2);
});

test('init error: the invocation fails, the next one starts a fresh instance', async () => {
  for (let i = 0; i < 2; i++) {
    const r = await L.invoke(p.port, 'initerror', {});
    assert.equal(r.status, 200, r.body);
    assert.equal(r.headers['x-amz-function-error'], 'Unhandled');
    const b = json(r);
    assert.ok(typeof b.errorType === 'string' && b.errorType.length > 0, r.body);
    assert.match(r.body, /init failed on purpose|InitError/);
  }
  await L.waitFor('no live initerror instance', async () =>
    L.instancesOf(await L.status(p.port), 'initerror').length === 0);
});

test('timeout: Task timed out after 1.00 seconds, the instance is killed', async () => {
  const t0 = Date.now();
  const r = await L.invoke(p.port, 'timeout', { ms: 60000 });
  const took = Date.now() - t0;
  assert.equal(r.status, 200, r.body);
  assert.equal(r.headers['x-amz-function-error'], 'Unhandled');
  assert.match(json(r).errorMessage, /Task timed out after 1\.00 seconds/);
  assert.ok(took >= 1000 && took < 20000, `answered after ${took} ms`); // cold init + 1 s
  await L.waitFor('the timed-out instance to be gone', async () =>
    L.instancesOf(await L.status(p.port), 'timeout').length === 0);
  // a fresh instance serves the next one (and it times out again, on time)
  const r2 = await L.invoke(p.port, 'timeout', { ms: 100 });
  assert.equal(r2.status, 200);
  assert.equal(r2.headers['x-amz-function-error'], undefined, r2.body);
  assert.deepEqual(json(r2), { slept: 100 });
});

test('process exit: Runtime.ExitError with the exit status, then a fresh instance', async () => {
  const r = await L.invoke(p.port, 'exit', { code: 3 });
  assert.equal(r.status, 200, r.body);
  assert.equal(r.headers['x-amz-function-error'], 'Unhandled');
  const b = json(r);
  assert.equal(b.errorType, 'Runtime.ExitError');
  assert.match(b.errorMessage, /exit status 3/);
  const r2 = await L.invoke(p.port, 'exit', { code: 4 });
  assert.match(json(r2).errorMessage, /exit status 4/);
});

test('a 5.9 MB request reaches the handler whole', async () => {
  const s = 'x'.repeat(Math.floor(5.9 * MB) - 10);
  const body = JSON.stringify({ s });
  assert.ok(body.length < 6 * MB);
  const r = await L.invoke(p.port, 'size', body);
  assert.equal(r.status, 200, r.body.slice(0, 300));
  assert.equal(r.headers['x-amz-function-error'], undefined, r.body.slice(0, 300));
  assert.deepEqual(json(r), { length: body.length });
});

test('a 5.9 MB response comes back whole', async () => {
  const size = Math.floor(5.9 * MB);
  const r = await L.invoke(p.port, 'big', { size });
  assert.equal(r.status, 200);
  assert.equal(r.headers['x-amz-function-error'], undefined, r.body.slice(0, 300));
  assert.equal(r.body.length, size);
  assert.equal(r.body, JSON.stringify('x'.repeat(size - 2)));
});

test('a request over 6 MB: 413 RequestTooLargeException', async () => {
  const body = JSON.stringify({ s: 'x'.repeat(6 * MB) });
  const r = await L.invoke(p.port, 'size', body);
  assert.equal(r.status, 413, r.body.slice(0, 300));
  assert.match(r.headers['x-amzn-errortype'] || '', /^RequestTooLargeException/);
  const b = json(r);
  assert.equal(b.Type, 'User');
  assert.ok(typeof b.message === 'string' && b.message.length > 0);
});

test('a response over 6 MB: a function error, and the platform goes on', async () => {
  const r = await L.invoke(p.port, 'big', { size: 6 * MB + 1000 });
  assert.equal(r.status, 200, r.body.slice(0, 300));
  assert.equal(r.headers['x-amz-function-error'], 'Unhandled', r.body.slice(0, 300));
  assert.ok(r.body.length < 64 * 1024, 'the oversized body must not be passed on');
  assert.match(json(r).errorType, /ResponseSizeTooLarge/);
  const r2 = await L.invoke(p.port, 'big', { size: 100 });
  assert.equal(r2.status, 200);
  assert.equal(r2.body.length, 100);
  const r3 = await L.invoke(p.port, 'echo', { still: 'here' });
  assert.deepEqual(json(r3).event, { still: 'here' });
  assert.equal(p.exited(), null, 'tether up must still run');
});

test('the instance gets the environment docs/platform.md lists', async () => {
  const r = await L.invoke(p.port, 'env', {});
  assert.equal(r.status, 200, r.body);
  const e = json(r);
  assert.equal(e._HANDLER, 'handlers.env');
  assert.match(e.AWS_LAMBDA_RUNTIME_API, /^127\.0\.0\.1:\d+$/);
  assert.equal(e.AWS_LAMBDA_FUNCTION_NAME, 'env');
  assert.equal(e.AWS_LAMBDA_FUNCTION_VERSION, '$LATEST');
  assert.equal(e.AWS_LAMBDA_FUNCTION_MEMORY_SIZE, '512');
  assert.equal(e.AWS_LAMBDA_LOG_GROUP_NAME, '/aws/lambda/env');
  assert.ok(e.AWS_LAMBDA_LOG_STREAM_NAME && e.AWS_LAMBDA_LOG_STREAM_NAME.length > 0);
  assert.ok(e.AWS_REGION && e.AWS_REGION === e.AWS_DEFAULT_REGION);
  assert.equal(e.AWS_EXECUTION_ENV, 'AWS_Lambda_nodejs20.x');
  assert.equal(e.LAMBDA_TASK_ROOT, require('path').join(L.FUNCTIONS, 'node'));
  assert.ok(e.LAMBDA_RUNTIME_DIR);
  assert.equal(e.TZ, ':UTC');
  assert.equal(e.TETHER_TEST, '1', 'Globals.Function.Environment reaches the function');
  assert.equal(e.AWS_LAMBDA_NODEJS_USE_ALTERNATIVE_CLIENT_1, 'true');
  assert.equal(e.MONGODB_URI, undefined, '--no-db gives no MONGODB_URI');
});
