// tether up on bad templates: a malformed template or an unknown runtime is a
// clear error naming the file and line, and tether up exits without serving;
// unknown properties are one warning each and the rest runs.
'use strict';
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('child_process');
const fs = require('fs');
const path = require('path');
const L = require('./platform_lib');

L.deadline(60000);

function up(template) {
  return new Promise((resolve) => {
    const c = spawn(L.BIN, ['up', '--port', '0', '--no-db', '--template', template]);
    let out = '';
    c.stdout.on('data', (d) => (out += d));
    c.stderr.on('data', (d) => (out += d));
    const t = setTimeout(() => c.kill('SIGKILL'), 15000);
    c.on('close', (code, sig) => {
      clearTimeout(t);
      resolve({ code, sig, out });
    });
  });
}

function write(name, text) {
  const f = path.join(L.TMP, name);
  fs.writeFileSync(f, text);
  return f;
}

test('malformed YAML: FILE:LINE: message, exit non-zero', async () => {
  const f = write('malformed.yaml', 'Resources:\n  F:\n    Type: [unclosed\n');
  const r = await up(f);
  assert.notEqual(r.code, 0);
  assert.equal(r.sig, null, 'it exits by itself');
  assert.ok(r.out.includes(`${f}:`), r.out);
  assert.match(r.out, /malformed\.yaml:[34]: /);
  assert.doesNotMatch(r.out, /platform listening/);
});

test('an unknown runtime names its line', async () => {
  const f = write('runtime.yaml', 'Resources:\n  F:\n    Type: AWS::Serverless::Function\n' +
    '    Properties:\n      CodeUri: fn\n      Runtime: go1.x\n');
  const r = await up(f);
  assert.notEqual(r.code, 0);
  assert.match(r.out, /runtime\.yaml:6: unknown runtime 'go1\.x'/);
});

test('unknown properties: one warning each, the function still runs', async () => {
  const f = write('unknown.yaml', 'Resources:\n  F:\n    Type: AWS::Serverless::Function\n' +
    '    Properties:\n' +
    `      CodeUri: ${path.join(L.FUNCTIONS, 'node')}\n      Runtime: nodejs20.x\n` +
    '      Handler: handlers.plain\n      FunctionName: plain\n' +
    '      Events: {Api: {Type: Api}}\n      Tracing: Active\n' +
    '  Bucket:\n    Type: AWS::S3::Bucket\n');
  const p = await L.startPlatform({ template: f });
  try {
    const r = await L.invoke(p.port, 'plain', { ok: true });
    assert.equal(r.status, 200, r.body);
    assert.deepEqual(JSON.parse(r.body), { ok: true });
    const logs = p.logs();
    assert.equal((logs.match(/unknown property 'Events'/g) || []).length, 1, logs);
    assert.equal((logs.match(/unknown property 'Tracing'/g) || []).length, 1, logs);
    assert.match(logs, /unknown\.yaml:9: unknown property 'Events' ignored/);
  } finally {
    await p.stop();
  }
});
