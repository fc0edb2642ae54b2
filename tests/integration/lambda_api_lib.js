// The template the Lambda API tests (test_platform_lambda_api.*) run: the C
// echo example (buffered), the streamgate test function (streams, waits on a
// gate file), the Node streaming and echo handlers, one function with a
// reservation and environment variables, and padding functions so that
// ListFunctions needs more than one page of 50.
'use strict';
const fs = require('fs');
const path = require('path');
const L = require('./platform_lib');

const BUILD = process.env.TETHER_BUILD || path.join(L.SRC, 'build');
const PADDING = 51; // with the 7 below: 58 functions, two pages of 50

function writeTemplate(dir) {
  fs.mkdirSync(dir, { recursive: true });
  const echo = path.join(BUILD, 'examples', 'echo');
  const gate = path.join(BUILD, 'tests', 'functions', 'streamgate');
  for (const d of [echo, gate]) {
    if (!fs.existsSync(path.join(d, 'bootstrap'))) throw new Error(`${d}/bootstrap is missing: build first`);
  }
  const node = path.join(L.FUNCTIONS, 'node');
  const lines = [
    "AWSTemplateFormatVersion: '2010-09-09'",
    'Transform: AWS::Serverless-2016-10-31',
    'Globals:',
    '  Function:',
    '    Runtime: provided.al2023',
    '    Timeout: 10',
    '    Environment:',
    '      Variables:',
    "        STAGE: 'test'",
    'Resources:',
  ];
  const fn = (id, props) => {
    lines.push(`  ${id}:`, '    Type: AWS::Serverless::Function', '    Properties:');
    for (const p of props) lines.push(`      ${p}`);
  };
  fn('Echo', ['FunctionName: echo', `CodeUri: ${echo}/`, 'Handler: echo']);
  fn('Gate', ['FunctionName: gate', `CodeUri: ${gate}/`, 'Handler: streamgate', 'Timeout: 3']);
  // the streamed-size tests stream 10 and 21 MB: a Timeout that a loaded machine meets
  fn('GateBig', ['FunctionName: gate-big', `CodeUri: ${gate}/`, 'Handler: streamgate', 'Timeout: 60']);
  fn('Reserved', ['FunctionName: reserved', `CodeUri: ${echo}/`, 'Handler: echo', 'MemorySize: 512',
    'ReservedConcurrentExecutions: 3', 'Role: arn:aws:iam::123456789012:role/reserved-role',
    'Environment:', '  Variables:', "    COLOR: 'blue'", "    STAGE: 'prod'"]);
  fn('NodeGate', ['FunctionName: node-gate', 'Runtime: nodejs20.x', `CodeUri: ${node}/`, 'Handler: stream.gate']);
  fn('NodeEcho', ['FunctionName: node-echo', 'Runtime: nodejs20.x', `CodeUri: ${node}/`, 'Handler: handlers.echo']);
  fn('Dotted', ['FunctionName: orders-create', `CodeUri: ${echo}/`, 'Handler: orders.create']);
  for (let i = 0; i < PADDING; i++)
    fn(`Pad${i}`, [`FunctionName: pad-${String(i).padStart(2, '0')}`, `CodeUri: ${echo}/`, 'Handler: echo']);
  const file = path.join(dir, 'template.yaml');
  fs.writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

const NAMES = ['echo', 'gate', 'gate-big', 'node-echo', 'node-gate', 'orders-create', 'reserved',
  ...Array.from({ length: PADDING }, (_, i) => `pad-${String(i).padStart(2, '0')}`)].sort();

module.exports = { writeTemplate, NAMES };
