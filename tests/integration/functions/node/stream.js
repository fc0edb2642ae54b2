// A streaming Node handler (awslambda.streamifyResponse, aws-lambda-ric) for
// test_platform_stream.js: it streams "first\n", waits (at most 10 s) for the
// file named by event.gate, which the test creates once it has read "first"
// from the InvokeWithResponseStream answer, then streams "second\n" (or
// "gate closed\n" had the platform held "first" back). event.end "fail"
// then throws.
'use strict';
const fs = require('fs');

async function gateOpens(file) {
  for (let i = 0; i < 1000; i++) {
    if (file && fs.existsSync(file)) return true;
    await new Promise((r) => setTimeout(r, 10));
  }
  return false;
}

exports.gate = awslambda.streamifyResponse(async (event, responseStream) => {
  responseStream.setContentType('text/plain');
  responseStream.write('first\n');
  responseStream.write(await gateOpens(event.gate) ? 'second\n' : 'gate closed\n');
  if (event.end === 'fail') {
    const e = new Error('failed after streaming');
    e.name = 'GateError';
    throw e;
  }
  responseStream.end();
});
