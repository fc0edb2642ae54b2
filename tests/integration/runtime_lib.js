// Helpers for the runtime's integration tests (test_runtime_*.js): templates
// that run the C example bootstraps (built under $TETHER_BUILD/examples) on
// tether up. Builds on platform_lib.js.
'use strict';
const fs = require('fs');
const path = require('path');
const L = require('./platform_lib');

const BUILD = process.env.TETHER_BUILD || path.join(L.SRC, 'build');
const EXAMPLES = path.join(BUILD, 'examples');

// Writes a SAM template into dir with one function per spec:
//   { name, code (a folder with a bootstrap), handler, timeout, env: {...}, runtime }
// CodeUri is relative to the template's folder, as SAM reads it.
function writeTemplate(dir, specs, globalsEnv = {}) {
  fs.mkdirSync(dir, { recursive: true });
  const lines = [
    "AWSTemplateFormatVersion: '2010-09-09'",
    'Transform: AWS::Serverless-2016-10-31',
    'Globals:',
    '  Function:',
    '    Runtime: provided.al2023',
    '    Timeout: 10',
  ];
  if (Object.keys(globalsEnv).length) {
    lines.push('    Environment:', '      Variables:');
    for (const [k, v] of Object.entries(globalsEnv)) lines.push(`        ${k}: '${v}'`);
  }
  lines.push('Resources:');
  specs.forEach((s, i) => {
    lines.push(`  Fn${i}:`, '    Type: AWS::Serverless::Function', '    Properties:',
      `      FunctionName: ${s.name}`,
      `      CodeUri: ${path.relative(dir, s.code) || '.'}/`,
      `      Handler: ${s.handler}`);
    if (s.runtime) lines.push(`      Runtime: ${s.runtime}`);
    if (s.timeout) lines.push(`      Timeout: ${s.timeout}`);
    if (s.concurrency) lines.push(`      ReservedConcurrentExecutions: ${s.concurrency}`);
    if (s.env && Object.keys(s.env).length) {
      lines.push('      Environment:', '        Variables:');
      for (const [k, v] of Object.entries(s.env)) lines.push(`          ${k}: '${v}'`);
    }
  });
  const file = path.join(dir, 'template.yaml');
  fs.writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

function example(name) {
  const dir = path.join(EXAMPLES, name);
  if (!fs.existsSync(path.join(dir, 'bootstrap')))
    throw new Error(`${dir}/bootstrap is missing: build the examples first`);
  return dir;
}

// Waits until every live instance of function name is back in /next (idle or
// frozen), so the next invocation is a warm one on an existing instance: an
// instance that has answered but not yet asked for the next event is busy, and
// the platform would start another (as AWS Lambda does).
async function waitIdle(port, name) {
  await L.waitFor(`${name}'s instances to be idle`, async () =>
    L.instancesOf(await L.status(port), name).every((i) => i.state === 'idle' || i.state === 'frozen'),
  10000, 10);
}

// invoke(), after waiting for the function's instances to be idle.
async function invokeWarm(port, name, payload) {
  await waitIdle(port, name);
  return L.invoke(port, name, payload);
}

module.exports = { BUILD, EXAMPLES, writeTemplate, example, waitIdle, invokeWarm };

// Starts `tether db --port 0 [args]` and waits for its listening line.
// Returns { port, uri, logs(), stop() }.
async function startDocstore(args = []) {
  const { spawn } = require('child_process');
  const proc = spawn(L.BIN, ['db', '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  let exited = null;
  proc.stdout.on('data', (d) => { text += d; });
  proc.stderr.on('data', (d) => { text += d; });
  proc.on('exit', (code, sig) => { exited = { code, sig }; });
  const port = await L.waitFor('the docstore listening line', () => {
    if (exited) throw new Error(`tether db exited ${JSON.stringify(exited)}: ${text}`);
    const m = text.match(/listening on [0-9.]+:(\d+)/);
    return m ? Number(m[1]) : null;
  }, 15000);
  return {
    port,
    uri: `mongodb://127.0.0.1:${port}/app`,
    logs: () => text,
    async stop() {
      if (exited) return;
      proc.kill('SIGTERM');
      await L.waitFor('tether db to exit', () => exited, 10000).catch(() => proc.kill('SIGKILL'));
    },
  };
}
module.exports.startDocstore = startDocstore;
