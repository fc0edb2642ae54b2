// The Lambda read API and InvokeWithResponseStream through @aws-sdk/client-lambda:
// ListFunctions and its paginator across the 50-per-page cap, GetFunction /
// GetFunctionConfiguration / GetFunctionConcurrency by name, ARN, partial ARN
// and qualifier, ResourceNotFoundException for unknown names, the waiters, and
// streamed invocations read incrementally with the SDK's async iterator: a C
// function that waits for the test to have read its first chunk before it
// sends the second (so a buffering platform fails), a buffered function, a
// failure after streaming, a timeout mid-stream, and a Node streamifyResponse
// handler.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const {
  LambdaClient, ListFunctionsCommand, GetFunctionCommand, GetFunctionConfigurationCommand,
  GetFunctionConcurrencyCommand, InvokeWithResponseStreamCommand, InvokeCommand, paginateListFunctions,
  waitUntilFunctionActive, waitUntilFunctionActiveV2, waitUntilFunctionUpdated,
  waitUntilFunctionUpdatedV2, waitUntilFunctionExists,
} = require('@aws-sdk/client-lambda');
const L = require('./platform_lib');
const A = require('./lambda_api_lib');

L.deadline(180000);
const ARN = 'arn:aws:lambda:us-east-1:123456789012:function:';
let p;
let lambda;
before(async () => {
  p = await L.startPlatform({ template: A.writeTemplate(path.join(L.TMP, 'lambda-api')) });
  lambda = new LambdaClient({
    endpoint: `http://127.0.0.1:${p.port}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDTETHERTEST', secretAccessKey: 'not-a-secret' },
    maxAttempts: 1,
  });
});
after(async () => {
  if (lambda) lambda.destroy();
  if (p) {
    await p.stop();
    // a sanitizer build reports leaks and memory errors as tether up exits
    assert.doesNotMatch(p.logs(), /ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:/);
  }
});

const enc = (o) => new TextEncoder().encode(JSON.stringify(o));
const text = (u8) => new TextDecoder().decode(u8);

async function expectError(promise, name, code) {
  try {
    await promise;
  } catch (e) {
    assert.equal(e.name, name, `${e.name}: ${e.message}`);
    assert.equal(e.$metadata.httpStatusCode, code);
    return e;
  }
  assert.fail(`expected ${name}`);
}

test('ListFunctions: 50 per page, NextMarker, the paginator sees every function once', async () => {
  const first = await lambda.send(new ListFunctionsCommand({}));
  assert.equal(first.Functions.length, 50);
  assert.ok(first.NextMarker, 'a second page');
  const names = [];
  for await (const page of paginateListFunctions({ client: lambda }, {}))
    names.push(...page.Functions.map((f) => f.FunctionName));
  assert.deepEqual(names, A.NAMES);
});

test('ListFunctions: MaxItems pages through Marker; bad values are refused', async () => {
  const names = [];
  let marker;
  let pages = 0;
  do {
    const r = await lambda.send(new ListFunctionsCommand({ MaxItems: 7, Marker: marker }));
    assert.ok(r.Functions.length <= 7 && r.Functions.length > 0);
    names.push(...r.Functions.map((f) => f.FunctionName));
    marker = r.NextMarker;
    pages++;
  } while (marker);
  assert.deepEqual(names, A.NAMES);
  assert.equal(pages, Math.ceil(A.NAMES.length / 7));
  const paged = [];
  for await (const page of paginateListFunctions({ client: lambda, pageSize: 20 }, {})) {
    assert.ok(page.Functions.length <= 20);
    paged.push(...page.Functions.map((f) => f.FunctionName));
  }
  assert.deepEqual(paged, A.NAMES);
  await expectError(lambda.send(new ListFunctionsCommand({ MaxItems: 0 })), 'ValidationException', 400);
  await expectError(lambda.send(new ListFunctionsCommand({ Marker: 'nonsense' })),
    'InvalidParameterValueException', 400);
});

test('GetFunctionConfiguration: the fields the SDK and waiters read', async () => {
  const c = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: 'reserved' }));
  assert.equal(c.FunctionName, 'reserved');
  assert.equal(c.FunctionArn, `${ARN}reserved`);
  assert.equal(c.Runtime, 'provided.al2023');
  assert.equal(c.Handler, 'echo');
  assert.equal(c.Role, 'arn:aws:iam::123456789012:role/reserved-role');
  assert.equal(c.Timeout, 10);
  assert.equal(c.MemorySize, 512);
  assert.equal(c.Version, '$LATEST');
  assert.equal(c.State, 'Active');
  assert.equal(c.LastUpdateStatus, 'Successful');
  assert.equal(c.PackageType, 'Zip');
  assert.equal(c.Description, '');
  assert.deepEqual(c.Environment, { Variables: { STAGE: 'prod', COLOR: 'blue' } });
  assert.deepEqual(c.EphemeralStorage, { Size: 512 });
  assert.equal(c.Architectures.length, 1);
  assert.ok(c.CodeSize > 0, `CodeSize ${c.CodeSize}`);
  assert.ok(!Number.isNaN(Date.parse(c.LastModified.replace('+0000', 'Z'))), c.LastModified);
  const again = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: 'reserved' }));
  assert.equal(again.LastModified, c.LastModified, 'LastModified does not move');
  const n = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: 'node-echo' }));
  assert.equal(n.Runtime, 'nodejs20.x');
  assert.equal(n.Handler, 'handlers.echo');
  assert.deepEqual(n.Environment, { Variables: { STAGE: 'test' } });
});

test('GetFunction by name, ARN, partial ARN and qualifier; Code is local; Concurrency when reserved', async () => {
  for (const name of ['reserved', `${ARN}reserved`, '123456789012:function:reserved', 'reserved:$LATEST']) {
    const r = await lambda.send(new GetFunctionCommand({ FunctionName: name }));
    assert.equal(r.Configuration.FunctionName, 'reserved', name);
    assert.equal(r.Code.RepositoryType, 'Local');
    assert.match(r.Code.Location, /^file:\/\/\/.*examples\/echo$/);
    assert.deepEqual(r.Concurrency, { ReservedConcurrentExecutions: 3 });
  }
  const q = await lambda.send(new GetFunctionCommand({ FunctionName: 'echo', Qualifier: '$LATEST' }));
  assert.equal(q.Configuration.FunctionArn, `${ARN}echo:$LATEST`);
  assert.equal(q.Concurrency, undefined, 'no reservation without ReservedConcurrentExecutions');
  const c = await lambda.send(new GetFunctionConcurrencyCommand({ FunctionName: `${ARN}reserved` }));
  assert.equal(c.ReservedConcurrentExecutions, 3);
  const none = await lambda.send(new GetFunctionConcurrencyCommand({ FunctionName: 'echo' }));
  assert.equal(none.ReservedConcurrentExecutions, undefined);
});

test('unknown names and qualifiers: ResourceNotFoundException with the ARN AWS names', async () => {
  let e = await expectError(lambda.send(new GetFunctionCommand({ FunctionName: 'nope' })),
    'ResourceNotFoundException', 404);
  assert.equal(e.message, `Function not found: ${ARN}nope`);
  e = await expectError(lambda.send(new GetFunctionConfigurationCommand({ FunctionName: 'echo', Qualifier: 'prod' })),
    'ResourceNotFoundException', 404);
  assert.equal(e.message, `Function not found: ${ARN}echo:prod`);
  await expectError(lambda.send(new GetFunctionConcurrencyCommand({ FunctionName: `${ARN}nope` })),
    'ResourceNotFoundException', 404);
  await expectError(lambda.send(new GetFunctionCommand({ FunctionName: 'orders.create' })),
    'ResourceNotFoundException', 404);
});

test('waiters pass at once: FunctionActive(V2), FunctionUpdated(V2), FunctionExists', async () => {
  const cfg = { client: lambda, maxWaitTime: 20, minDelay: 1, maxDelay: 1 };
  for (const w of [waitUntilFunctionActive, waitUntilFunctionActiveV2, waitUntilFunctionUpdated,
    waitUntilFunctionUpdatedV2, waitUntilFunctionExists]) {
    const r = await w(cfg, { FunctionName: 'echo' });
    assert.equal(r.state, 'SUCCESS', w.name);
  }
  const gone = await waitUntilFunctionExists({ client: lambda, maxWaitTime: 2, minDelay: 1, maxDelay: 1 },
    { FunctionName: 'nope' }).catch((err) => err);
  assert.ok(gone instanceof Error && /TIMEOUT|RETRY/.test(`${gone.name} ${gone.message}`), String(gone));
});

// Reads a streamed invocation's events one at a time; gate (a file path) is
// created after the first PayloadChunk arrives.
async function streamInvoke(name, event, gate, opts = {}) {
  const r = await lambda.send(new InvokeWithResponseStreamCommand(Object.assign(
    { FunctionName: name, Payload: enc(event) }, opts)));
  assert.equal(r.StatusCode, 200);
  assert.equal(r.ExecutedVersion, '$LATEST');
  const chunks = [];
  let complete;
  for await (const ev of r.EventStream) {
    if (ev.PayloadChunk) {
      chunks.push(text(ev.PayloadChunk.Payload));
      if (chunks.length === 1 && gate) fs.writeFileSync(gate, '');
    } else if (ev.InvokeComplete) {
      complete = ev.InvokeComplete;
    }
  }
  assert.ok(complete, 'an InvokeComplete event ends the stream');
  return { chunks, complete, joined: chunks.join('') };
}

let gates = 0;
const gateFile = () => path.join(L.TMP, `gate-${++gates}`);

test('a streaming C function: the first chunk arrives before the function sends the second', async () => {
  const gate = gateFile();
  const r = await streamInvoke('gate', { gate, end: 'ok' }, gate, { LogType: 'Tail' });
  assert.deepEqual(r.chunks, ['first\n', 'second\n']);
  assert.equal(r.complete.ErrorCode, undefined);
  const tail = Buffer.from(r.complete.LogResult, 'base64').toString();
  assert.match(tail, /START RequestId: [0-9a-f-]{36}/);
  assert.match(tail, /REPORT RequestId: [0-9a-f-]{36}/);
  const quiet = await streamInvoke('gate', { gate: path.join(L.TMP, 'gate-never') }, null);
  assert.equal(quiet.complete.LogResult, undefined, 'no LogResult without LogType Tail');
});

test('a buffered function answers with one PayloadChunk, then InvokeComplete', async () => {
  const r = await streamInvoke('echo', { hello: 'stream' }, null);
  assert.equal(r.chunks.length, 1);
  assert.deepEqual(JSON.parse(r.joined), { hello: 'stream' });
  assert.equal(r.complete.ErrorCode, undefined);
});

test('an error after streaming, a timeout and a crash mid-stream end in InvokeComplete', async () => {
  let gate = gateFile();
  const failed = await streamInvoke('gate', { gate, end: 'fail' }, gate);
  assert.deepEqual(failed.chunks, ['first\n', 'second\n']);
  assert.equal(failed.complete.ErrorCode, 'GateError');
  assert.equal(failed.complete.ErrorDetails, 'failed after streaming');
  gate = gateFile();
  const hung = await streamInvoke('gate', { gate, end: 'hang' }, gate);
  assert.deepEqual(hung.chunks, ['first\n', 'second\n']);
  assert.equal(hung.complete.ErrorCode, 'Sandbox.Timedout');
  assert.match(hung.complete.ErrorDetails, /Task timed out after 3\.00 seconds/);
  gate = gateFile();
  const crashed = await streamInvoke('gate', { gate, end: 'exit' }, gate);
  assert.deepEqual(crashed.chunks, ['first\n', 'second\n']);
  assert.equal(crashed.complete.ErrorCode, 'Runtime.ExitError');
  assert.match(crashed.complete.ErrorDetails, /exit status 3/);
});

test('a Node streamifyResponse handler streams through aws-lambda-ric', async () => {
  const gate = gateFile();
  const r = await streamInvoke('node-gate', { gate }, gate);
  assert.deepEqual(r.chunks.join(''), 'first\nsecond\n');
  assert.equal(r.chunks[0], 'first\n', 'the first write arrives alone, before the gate opens');
  assert.equal(r.complete.ErrorCode, undefined);
  const gate2 = gateFile();
  const failed = await streamInvoke('node-gate', { gate: gate2, end: 'fail' }, gate2);
  assert.equal(failed.chunks[0], 'first\n');
  assert.ok(failed.complete.ErrorCode, 'the error reaches InvokeComplete');
});

// Streams n bytes from the C streamgate function; the chunks' total and InvokeComplete.
async function streamBytes(n) {
  const r = await lambda.send(new InvokeWithResponseStreamCommand({ FunctionName: 'gate-big', Payload: enc({ bytes: String(n) }) }));
  let total = 0;
  let allX = true;
  let complete;
  for await (const ev of r.EventStream) {
    if (ev.PayloadChunk) {
      const b = ev.PayloadChunk.Payload;
      total += b.length;
      if (allX && !b.every((c) => c === 0x78)) allX = false;
    } else if (ev.InvokeComplete) {
      complete = ev.InvokeComplete;
    }
  }
  assert.ok(complete, 'an InvokeComplete event ends the stream');
  assert.ok(allX, 'every byte streamed arrives as sent');
  return { total, complete };
}

const MB = 1024 * 1024;
test('a streamed response may pass 6 MB up to 20 MiB; past it InvokeComplete says ResponseSizeTooLarge', async () => {
  const ten = await streamBytes(10 * MB);
  assert.equal(ten.total, 10 * MB);
  assert.equal(ten.complete.ErrorCode, undefined, JSON.stringify(ten.complete));
  const big = await streamBytes(21 * MB);
  assert.equal(big.total, 20 * MB, 'the first 20 MiB reach the caller, no more');
  assert.equal(big.complete.ErrorCode, 'Function.ResponseSizeTooLarge');
  assert.match(big.complete.ErrorDetails, /exceeded maximum allowed payload size \(20971520 bytes\)/);
  // the instance serves the next stream as usual
  const again = await streamBytes(1000);
  assert.equal(again.total, 1000);
  assert.equal(again.complete.ErrorCode, undefined);
});

test('a streaming function read through plain Invoke keeps the 6 MB buffered limit', async () => {
  const ok = await lambda.send(new InvokeCommand({ FunctionName: 'gate-big', Payload: enc({ bytes: String(5 * MB) }) }));
  assert.equal(ok.FunctionError, undefined);
  assert.equal(ok.Payload.length, 5 * MB);
  const r = await lambda.send(new InvokeCommand({ FunctionName: 'gate-big', Payload: enc({ bytes: String(10 * MB) }) }));
  assert.equal(r.FunctionError, 'Unhandled');
  const err = JSON.parse(text(r.Payload));
  assert.equal(err.errorType, 'Function.ResponseSizeTooLarge');
  assert.match(err.errorMessage, /\(6291556 bytes\)/);
});

test('InvokeWithResponseStream errors: unknown function, Event, DryRun', async () => {
  const e = await expectError(lambda.send(new InvokeWithResponseStreamCommand({ FunctionName: 'nope' })),
    'ResourceNotFoundException', 404);
  assert.equal(e.message, `Function not found: ${ARN}nope`);
  await expectError(lambda.send(new InvokeWithResponseStreamCommand({ FunctionName: 'echo', InvocationType: 'Event' })),
    'InvalidParameterValueException', 400);
  const dry = await lambda.send(new InvokeWithResponseStreamCommand({ FunctionName: 'echo', InvocationType: 'DryRun' }));
  assert.equal(dry.StatusCode, 204);
});

test('the read routes refuse other methods; the Invoke API still works beside them', async () => {
  const r = await L.request(p.port, 'DELETE', '/2015-03-31/functions/echo', null);
  assert.equal(r.status, 405);
  assert.equal(r.headers['x-amzn-errortype'], 'MethodNotAllowedException');
  const inv = await L.invoke(p.port, 'echo', { a: 1 });
  assert.equal(inv.status, 200);
  assert.deepEqual(JSON.parse(inv.body), { a: 1 });
});

test('Invoke (buffered) of a stream that fails after streaming reports the error from its trailers', async () => {
  // evhttp 2.1 drops trailers; the Runtime API's tap keeps them
  const r = await L.invoke(p.port, 'gate', { gate: '/', end: 'fail' });
  assert.equal(r.status, 200);
  assert.equal(r.headers['x-amz-function-error'], 'Unhandled');
  const body = JSON.parse(r.body);
  assert.equal(body.errorType, 'GateError');
  assert.equal(body.errorMessage, 'failed after streaming');
});

test('tether invoke --stream prints each chunk as it arrives; InvokeComplete sets the exit status', async () => {
  const { spawn } = require('child_process');
  const run = (args, onOut) => new Promise((resolve) => {
    const c = spawn(L.BIN || process.env.TETHER_BIN, ['invoke', '--stream', ...args],
      { env: Object.assign({}, process.env, { TETHER_ENDPOINT: `http://127.0.0.1:${p.port}` }) });
    let out = '';
    let err = '';
    c.stdout.on('data', (d) => { out += d; if (onOut) onOut(out); });
    c.stderr.on('data', (d) => { err += d; });
    c.on('exit', (code) => resolve({ code, out, err }));
  });
  const gate = gateFile();
  const ok = await run(['gate', JSON.stringify({ gate })], (out) => {
    if (out === 'first\n') fs.writeFileSync(gate, ''); // only once "first" was printed
  });
  assert.equal(ok.out, 'first\nsecond\n', ok.err);
  assert.equal(ok.code, 0);
  const gate2 = gateFile();
  const failed = await run(['--log-tail', 'gate', JSON.stringify({ gate: gate2, end: 'fail' })], (out) => {
    if (out === 'first\n') fs.writeFileSync(gate2, '');
  });
  assert.equal(failed.out, 'first\nsecond\n');
  assert.equal(failed.code, 1);
  assert.match(failed.err, /tether invoke: GateError: failed after streaming/);
  assert.match(failed.err, /REPORT RequestId: /);
  const buffered = await run(['echo', '{"b":2}']);
  assert.equal(buffered.out, '{"b":2}\n');
  assert.equal(buffered.code, 0);
  const unknown = await run(['nope']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.err, /ResourceNotFoundException \(HTTP 404\): Function not found/);
});

test('bad input on the new routes gets a clear error; a caller leaving mid-stream harms nothing', async () => {
  for (const [q, type] of [['MaxItems=-1', 'ValidationException'], ['MaxItems=99999999999999999999', 'ValidationException'],
    ['MaxItems=abc', 'ValidationException'], ['Marker=%ff', 'InvalidParameterValueException'],
    ['Marker=9999', 'InvalidParameterValueException']]) {
    const r = await L.request(p.port, 'GET', `/2015-03-31/functions/?${q}`, null);
    assert.equal(r.status, 400, q);
    assert.equal(r.headers['x-amzn-errortype'], type, q);
  }
  const long = await L.request(p.port, 'GET', `/2015-03-31/functions/${'a'.repeat(300)}`, null);
  assert.equal(long.status, 400);
  assert.equal(long.headers['x-amzn-errortype'], 'ValidationException');
  const notJson = await L.request(p.port, 'POST', '/2021-11-15/functions/echo/response-streaming-invocations', '{nope');
  assert.equal(notJson.status, 400);
  assert.equal(notJson.headers['x-amzn-errortype'], 'InvalidRequestContentException');
  const big = await L.request(p.port, 'POST', '/2021-11-15/functions/echo/response-streaming-invocations',
    `"${'x'.repeat(7 << 20)}"`);
  assert.equal(big.status, 413);
  assert.equal(big.headers['x-amzn-errortype'], 'RequestTooLargeException');

  // leave after the first event: the function goes on, its chunks are dropped
  const http = require('http');
  const gate = gateFile();
  await new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: p.port, method: 'POST', agent: false,
      path: '/2021-11-15/functions/gate/response-streaming-invocations' }, (res) => {
      assert.equal(res.statusCode, 200);
      res.once('data', () => {
        req.destroy();
        fs.writeFileSync(gate, '');
        resolve();
      });
    });
    req.on('error', () => {});
    req.end(JSON.stringify({ gate }));
    setTimeout(() => reject(new Error('no first event')), 20000).unref();
  });
  await L.waitFor('the gate instance to be back in /next', async () => {
    const st = await L.status(p.port);
    return L.instancesOf(st, 'gate').every((i) => i.state !== 'busy');
  }, 15000);
  const after = await streamInvoke('gate', { gate: '/', end: 'ok' }, null);
  assert.deepEqual(after.chunks, ['first\n', 'second\n']);
  const inv = await L.invoke(p.port, 'echo', { still: 'up' });
  assert.deepEqual(JSON.parse(inv.body), { still: 'up' });
});
