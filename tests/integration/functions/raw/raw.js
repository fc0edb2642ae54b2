// A minimal Runtime API client: GET /next, echo the body, POST /response, on
// one keep-alive connection. It appends "handler_ns" (nanoseconds from the end
// of /next to the start of the POST) so the benchmark can subtract the
// function's own time from the round trip and report the platform's share.
// An event {"sleep_ms": N} makes it wait N ms first (to hold instances busy);
// {"after_ms": N} makes it wait N ms after its response before the next /next
// (work done after answering), and adds its pid to the reply.
'use strict';
const http = require('http');

const [host, port] = process.env.AWS_LAMBDA_RUNTIME_API.split(':');
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const base = '/2018-06-01/runtime/invocation/';

function request(method, path, body) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host, port, method, path, agent,
      headers: body === undefined ? {} : { 'content-length': Buffer.byteLength(body) } },
    (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ res, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function loop() {
  for (;;) {
    const next = await request('GET', base + 'next');
    const t0 = process.hrtime.bigint();
    const id = next.res.headers['lambda-runtime-aws-request-id'];
    const text = next.body.toString();
    let reply;
    let after = 0;
    try {
      const ev = JSON.parse(text);
      if (ev && ev.sleep_ms) await new Promise((r) => setTimeout(r, ev.sleep_ms));
      if (ev && ev.after_ms) after = ev.after_ms;
      reply = JSON.stringify(after ? { event: ev, pid: process.pid, handler_ns: 0 }
        : { event: ev, handler_ns: 0 });
    } catch (e) {
      reply = JSON.stringify({ event: text, handler_ns: 0 });
    }
    const ns = Number(process.hrtime.bigint() - t0);
    reply = reply.replace(/"handler_ns":0}$/, `"handler_ns":${ns}}`);
    await request('POST', base + id + '/response', reply);
    if (after) await new Promise((r) => setTimeout(r, after));
  }
}

loop().catch((e) => {
  console.error('raw runtime:', e.message);
  process.exit(1);
});
