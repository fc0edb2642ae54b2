// @aws-sdk/client-lambda is the invoking client: every answer of the platform
// must parse as the SDK parses AWS's (status codes, headers, error shapes).
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const { LambdaClient, InvokeCommand } = require('@aws-sdk/client-lambda');
const L = require('./platform_lib');

L.deadline(180000);
let p;
let lambda;
before(async () => {
  p = await L.startPlatform();
  lambda = new LambdaClient({
    endpoint: `http://127.0.0.1:${p.port}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDTETHERTEST', secretAccessKey: 'not-a-secret' },
    maxAttempts: 1, // a retried 429 would hide what the platform answered
  });
});
after(async () => {
  if (lambda) lambda.destroy();
  if (p) await p.stop();
});

const enc = (o) => new TextEncoder().encode(JSON.stringify(o));
const dec = (u8) => JSON.parse(new TextDecoder().decode(u8));

async function expectError(promise, name, code) {
  try {
    await promise;
  } catch (e) {
    assert.equal(e.name, name, `${e.name}: ${e.message}`);
    assert.equal(e.$metadata.httpStatusCode, code);
    assert.ok(e.message && e.message.length > 0 && e.message !== 'UnknownError', e.message);
    return e;
  }
  assert.fail(`expected ${name}`);
}

test('RequestResponse: StatusCode 200, the payload, $LATEST', async () => {
  const r = await lambda.send(new InvokeCommand({ FunctionName: 'echo', Payload: enc({ a: 1 }) }));
  assert.equal(r.StatusCode, 200);
  assert.equal(r.FunctionError, undefined);
  assert.deepEqual(dec(r.Payload).event, { a: 1 });
  assert.equal(r.ExecutedVersion, '$LATEST');
});

test("the handler's context: request id, ARN, deadline, client context, trace id", async () => {
  const cc = Buffer.from(JSON.stringify({ custom: { tenant: 'acme' }, env: { locale: 'en' } })).toString('base64');
  const r = await lambda.send(new InvokeCommand({ FunctionName: 'context', ClientContext: cc, Payload: enc({}) }));
  assert.equal(r.StatusCode, 200);
  const c = dec(r.Payload);
  assert.match(c.awsRequestId, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  if (r.$metadata.requestId) assert.equal(c.awsRequestId, r.$metadata.requestId);
  assert.match(c.invokedFunctionArn, /^arn:aws:lambda:[a-z0-9-]+:\d{12}:function:context$/);
  assert.equal(c.functionName, 'context');
  assert.equal(c.functionVersion, '$LATEST');
  assert.equal(String(c.memoryLimitInMB), '256');
  assert.equal(c.logGroupName, '/aws/lambda/context');
  assert.ok(c.remainingMs > 0 && c.remainingMs <= 7000, `remaining ${c.remainingMs} ms of a 7 s timeout`);
  assert.deepEqual(c.clientContext.Custom || c.clientContext.custom, { tenant: 'acme' });
  assert.match(c.traceId || '', /^Root=1-[0-9a-f]{8}-[0-9a-f]{24}/);
});

test('Event: StatusCode 202 at once, and the function runs', async () => {
  const file = path.join(L.TMP, 'event-touch');
  const r = await lambda.send(new InvokeCommand({
    FunctionName: 'touch', InvocationType: 'Event', Payload: enc({ file, id: 'evt-1' }),
  }));
  assert.equal(r.StatusCode, 202);
  assert.ok(!r.Payload || r.Payload.length === 0, "an Event answer has no payload");
  await L.waitFor('the Event invocation to run', () =>
    fs.existsSync(file) && fs.readFileSync(file, 'utf8') === 'evt-1', 20000);
});

test('DryRun: StatusCode 204, nothing runs', async () => {
  const file = path.join(L.TMP, 'dryrun-touch');
  const r = await lambda.send(new InvokeCommand({
    FunctionName: 'touch', InvocationType: 'DryRun', Payload: enc({ file, id: 'dry' }),
  }));
  assert.equal(r.StatusCode, 204);
  await L.sleep(300);
  assert.equal(fs.existsSync(file), false);
  await expectError(lambda.send(new InvokeCommand({ FunctionName: 'nope', InvocationType: 'DryRun' })),
    'ResourceNotFoundException', 404);
});

test('LogType Tail: LogResult holds START, the function output, END and REPORT', async () => {
  const r = await lambda.send(new InvokeCommand({
    FunctionName: 'logs', LogType: 'Tail', Payload: enc({ tag: 'tail-check-42' }),
  }));
  assert.equal(r.StatusCode, 200);
  assert.ok(r.LogResult, 'LogResult missing');
  const log = Buffer.from(r.LogResult, 'base64').toString();
  assert.ok(Buffer.from(r.LogResult, 'base64').length <= 4096, 'the tail is at most 4 KB');
  const start = log.match(/START RequestId: ([0-9a-f-]+)/);
  assert.ok(start, log);
  const id = start[1];
  assert.match(log, /hello from the logs handler tail-check-42/);
  assert.ok(log.includes(`END RequestId: ${id}`), log);
  assert.match(log, new RegExp(`REPORT RequestId: ${id}\\s+Duration: [0-9.]+ ms\\s+Billed Duration: \\d+ ms\\s+` +
    'Memory Size: 256 MB\\s+Max Memory Used: \\d+ MB'));
  assert.ok(log.indexOf('START') < log.indexOf('hello from') && log.indexOf('hello from') < log.indexOf('END'));
  if (r.$metadata.requestId) assert.equal(r.$metadata.requestId, id);
  // no tail unless asked
  const r2 = await lambda.send(new InvokeCommand({ FunctionName: 'logs', Payload: enc({ tag: 'x' }) }));
  assert.equal(r2.LogResult, undefined);
});

test('function error: FunctionError and the error payload', async () => {
  const r = await lambda.send(new InvokeCommand({ FunctionName: 'throws', Payload: enc({ message: 'sdk sees this' }) }));
  assert.equal(r.StatusCode, 200);
  assert.equal(r.FunctionError, 'Unhandled');
  const b = dec(r.Payload);
  assert.equal(b.errorType, 'TestError');
  assert.equal(b.errorMessage, 'sdk sees this');
});

test('404: ResourceNotFoundException', async () => {
  await expectError(lambda.send(new InvokeCommand({ FunctionName: 'no-such-function', Payload: enc({}) })),
    'ResourceNotFoundException', 404);
});

test('404 for a handler name: AWS\'s message plus which function has that Handler', async () => {
  // 'handlers.echo' is echo's Handler; AWS's pattern allows '.', so this is
  // not a validation error but an unknown function, and the SDK reads the
  // hint as part of the error's message
  const arn = 'arn:aws:lambda:us-east-1:123456789012:function:handlers.echo';
  let e = await expectError(lambda.send(new InvokeCommand({ FunctionName: 'handlers.echo', Payload: enc({}) })),
    'ResourceNotFoundException', 404);
  assert.equal(e.message, `Function not found: ${arn}; did you mean echo (Handler handlers.echo)?`);
  assert.equal(e.Type, 'User');
  e = await expectError(lambda.send(new InvokeCommand({ FunctionName: arn, InvocationType: 'DryRun' })),
    'ResourceNotFoundException', 404);
  assert.equal(e.message, `Function not found: ${arn}; did you mean echo (Handler handlers.echo)?`);
  // two functions share a Handler: both are named
  e = await expectError(lambda.send(new InvokeCommand({ FunctionName: 'handlers.sleep', Payload: enc({}) })),
    'ResourceNotFoundException', 404);
  assert.match(e.message, /; did you mean timeout \(Handler handlers\.sleep\) or sleepy \(Handler handlers\.sleep\)\?$/);
  // a logical id, as `sam local invoke` takes it
  e = await expectError(lambda.send(new InvokeCommand({ FunctionName: 'Echo', Payload: enc({}) })),
    'ResourceNotFoundException', 404);
  assert.match(e.message, /:function:Echo; did you mean echo \(logical id Echo\)\?$/);
  // a name nothing resembles: AWS's message alone
  e = await expectError(lambda.send(new InvokeCommand({ FunctionName: 'no-such.function', Payload: enc({}) })),
    'ResourceNotFoundException', 404);
  assert.match(e.message, /^Function not found: arn:aws:lambda:[a-z0-9-]+:\d{12}:function:no-such\.function$/);
});

test('413: RequestTooLargeException', async () => {
  const big = new Uint8Array(6 * 1024 * 1024 + 1).fill(0x20);
  await expectError(lambda.send(new InvokeCommand({ FunctionName: 'echo', Payload: big })),
    'RequestTooLargeException', 413);
});

test('429: TooManyRequestsException past ReservedConcurrentExecutions', async () => {
  // sleepy is capped at 2: hold both with slow invocations, then a third is throttled
  const held = [1, 2].map(() => L.invoke(p.port, 'sleepy', { ms: 4000 }));
  await L.waitFor('two sleepy instances in use', async () => {
    const inst = L.instancesOf(await L.status(p.port), 'sleepy');
    return inst.filter((i) => i.state === 'busy' || i.state === 'init').length === 2;
  });
  const e = await expectError(lambda.send(new InvokeCommand({ FunctionName: 'sleepy', Payload: enc({ ms: 1 }) })),
    'TooManyRequestsException', 429);
  assert.ok(e.$metadata.attempts === undefined || e.$metadata.attempts === 1);
  for (const r of await Promise.all(held)) assert.equal(r.status, 200);
  // and once they are done, the function serves again
  const r = await lambda.send(new InvokeCommand({ FunctionName: 'sleepy', Payload: enc({ ms: 1 }) }));
  assert.equal(r.StatusCode, 200);
});

test('a payload that is not UTF-8: 400 InvalidRequestContentException, as AWS answers', async () => {
  // 0x97 cannot begin a character; 0xc3 wants a continuation byte, not '('
  for (const [bytes, words] of [
    [Buffer.from([0x7b, 0x22, 0x97, 0x22, 0x3a, 0x31, 0x7d]), 'Invalid UTF-8 start byte 0x97'],
    [Buffer.from([0x7b, 0x22, 0xc3, 0x28, 0x22, 0x3a, 0x31, 0x7d]), 'Invalid UTF-8 middle byte 0x28'],
  ]) {
    const e = await expectError(lambda.send(new InvokeCommand({ FunctionName: 'echo', Payload: bytes })),
      'InvalidRequestContentException', 400);
    assert.match(e.message, /^Could not parse request body into json: Could not parse payload into json: /);
    assert.ok(e.message.includes(words), e.message);
    const raw = await L.request(p.port, 'POST', '/2015-03-31/functions/echo/invocations', bytes);
    assert.equal(raw.status, 400, raw.body);
    assert.equal(raw.headers['x-amzn-errortype'], 'InvalidRequestContentException');
    const j = JSON.parse(raw.body);
    assert.equal(j.Type, 'User');
    assert.ok(j.message.includes(words), j.message);
  }
  // well-formed multi-byte UTF-8 passes through
  const r = await lambda.send(new InvokeCommand({ FunctionName: 'echo', Payload: enc({ s: 'héllo €𝄞' }) }));
  assert.equal(r.StatusCode, 200);
  assert.deepEqual(dec(r.Payload).event, { s: 'héllo €𝄞' });
});
