// Node handlers run by aws-lambda-ric on tether up (tests/integration/functions/template.yaml).
// Each one exercises one thing the platform must handle; the tests name them by _HANDLER.
'use strict';
const { spawn } = require('child_process');
const fs = require('fs');

const started = Date.now();

// Returns the event as it came, with the instance's pid (to tell instances apart).
exports.echo = async (event) => ({ pid: process.pid, event });

// Answers with the event itself, nothing added (the soak and the benchmark use it).
exports.plain = async (event) => event;

// A handled rejection: the platform answers X-Amz-Function-Error: Unhandled.
exports.throws = async (event) => {
  const e = new Error(event && event.message ? event.message : 'boom');
  e.name = 'TestError';
  throw e;
};

// Sleeps event.ms milliseconds (default: long past any test function's Timeout).
exports.sleep = async (event) => {
  const ms = event && event.ms ? event.ms : 60000;
  await new Promise((r) => setTimeout(r, ms));
  return { slept: ms };
};

// Exits the runtime process in the middle of an invocation.
exports.exit = async (event) => {
  process.exit(event && event.code !== undefined ? event.code : 3);
};

// A response body of exactly event.size bytes (a JSON string: size - 2 characters + quotes).
exports.big = async (event) => 'x'.repeat(Math.max(0, event.size - 2));

// Returns the size of the request it received (for request-size tests).
exports.size = async (event) => ({ length: JSON.stringify(event).length });

// Writes event.mb megabytes to stdout as fast as it can, then answers.
exports.flood = async (event) => {
  const line = 'y'.repeat(1023) + '\n';
  const chunk = line.repeat(1024);
  const mb = event && event.mb ? event.mb : 8;
  for (let i = 0; i < mb; i++) {
    if (!process.stdout.write(chunk)) await new Promise((r) => process.stdout.once('drain', r));
  }
  return { flooded: mb };
};

// Starts a long-lived child in the same process group, writes its pid to
// event.pidfile, then exits the runtime: the platform must not leak the child.
exports.forkexit = async (event) => {
  const child = spawn('sleep', ['300'], { stdio: 'ignore' });
  fs.writeFileSync(event.pidfile, String(child.pid));
  if (event.exit === false) return { child: child.pid, pid: process.pid };
  process.exit(0);
};

// Busy for event.ms milliseconds of CPU (asleep instead with event.sleep: true),
// then answers with the pid and the event id.
exports.busy = async (event) => {
  const ms = event && event.ms ? event.ms : 1000;
  const end = Date.now() + ms;
  if (event && event.sleep) await new Promise((r) => setTimeout(r, ms));
  while (Date.now() < end) {
    /* spin */
  }
  if (event && event.file) fs.appendFileSync(event.file, `${event.id}\n`);
  return { pid: process.pid, id: event ? event.id : undefined };
};

// Records the event's id (one line, appended) and answers with the event:
// the soak counts the lines to prove no invocation ran twice.
exports.soak = async (event) => {
  fs.appendFileSync(event.file, `${event.id}\n`);
  return event;
};

// The environment the platform gave this instance (docs/platform.md's list).
exports.env = async () => {
  const names = ['_HANDLER', 'AWS_LAMBDA_RUNTIME_API', 'AWS_LAMBDA_FUNCTION_NAME',
    'AWS_LAMBDA_FUNCTION_VERSION', 'AWS_LAMBDA_FUNCTION_MEMORY_SIZE', 'AWS_LAMBDA_LOG_GROUP_NAME',
    'AWS_LAMBDA_LOG_STREAM_NAME', 'AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_EXECUTION_ENV',
    'LAMBDA_TASK_ROOT', 'LAMBDA_RUNTIME_DIR', 'TZ', 'TETHER_TEST',
    'AWS_LAMBDA_NODEJS_USE_ALTERNATIVE_CLIENT_1', 'MONGODB_URI'];
  const out = { pid: process.pid };
  for (const n of names) out[n] = process.env[n];
  return out;
};

// Writes event.id into event.file (Event invocations leave this evidence).
exports.touch = async (event) => {
  fs.writeFileSync(event.file, String(event.id));
  return { wrote: event.file };
};

// Logs a line (to stdout) and answers: the log tail tests look for it.
exports.logs = async (event) => {
  console.log(`hello from the logs handler ${event.tag}`);
  return { logged: event.tag };
};

// What aws-lambda-ric put in the context from the Runtime API's /next headers.
exports.context = async (event, context) => ({
  awsRequestId: context.awsRequestId,
  invokedFunctionArn: context.invokedFunctionArn,
  functionName: context.functionName,
  functionVersion: context.functionVersion,
  memoryLimitInMB: context.memoryLimitInMB,
  logGroupName: context.logGroupName,
  remainingMs: context.getRemainingTimeInMillis(),
  clientContext: context.clientContext,
  traceId: process.env._X_AMZN_TRACE_ID,
});

// How long ago this module was loaded (cold start checks).
exports.uptime = async () => ({ pid: process.pid, loadedMsAgo: Date.now() - started });

// Fails its first event.fail attempts, then succeeds: each attempt appends
// "REQUEST-ID MS-SINCE-EPOCH" to event.file, and the number of lines is the
// attempt number. event.how: 'throw' (a function error), 'exit' (the runtime
// crashes), 'hang' (runs past the function's Timeout). Async retry tests use it.
exports.flaky = async (event, context) => {
  fs.appendFileSync(event.file, `${context.awsRequestId} ${Date.now()}\n`);
  const attempts = fs.readFileSync(event.file, 'utf8').trim().split('\n').length;
  if (attempts > (event.fail || 0)) return { attempts };
  if (event.how === 'exit') process.exit(5);
  if (event.how === 'hang') await new Promise((r) => setTimeout(r, 60000));
  const e = new Error(`attempt ${attempts} fails`);
  e.name = 'FlakyError';
  throw e;
};
