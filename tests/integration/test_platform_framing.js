// The Invoke API under abuse, continued (test_platform_abuse.js has the
// descriptor exhaustion and idle timeouts): framing RFC 9112 calls invalid
// gets a 400 with a JSON body and the connection closed, what it allows
// passes; past --max-connections a new connection gets a clear 503 and is
// closed; a request head (the first on a connection or a later one on a
// kept-alive connection) that does not come within --header-timeout is
// answered 408 and closed, however slowly it trickles, while a keep-alive
// client idle between requests is not; a transfer coding before chunked is
// 501 (RFC 9112 6.1).
'use strict';
const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const net = require('net');
const L = require('./platform_lib');

L.deadline(180000);
const platforms = [];
after(async () => {
  for (const p of platforms) await p.stop();
});

const PATH = '/2015-03-31/functions/echo/invocations';

// A request head; Connection: close so that a served exchange ends at once.
function head(lines) {
  return `POST ${PATH} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${lines.join('\r\n')}\r\n\r\n`;
}

// The status line, the JSON body and how the exchange ended.
function parse(r) {
  const status = Number((/^HTTP\/1\.1 (\d{3})/.exec(r.text) || [])[1]);
  const i = r.text.indexOf('\r\n\r\n');
  return { status, headers: r.text.slice(0, i), body: r.text.slice(i + 4), how: r.how };
}

let p;
test('start', async () => {
  p = await L.startPlatform({ args: ['--max-connections', '6', '--header-timeout', '2'] });
  platforms.push(p);
});

const invalid = {
  'conflicting Content-Length': head(['Content-Length: 2', 'Content-Length: 3']) + '{}x',
  'Content-Length +2': head(['Content-Length: +2']) + '{}',
  'Content-Length 2a': head(['Content-Length: 2a']) + '{}',
  'empty Content-Length': head(['Content-Length:']) + '{}',
  'Content-Length and Transfer-Encoding': head(['Content-Length: 7', 'Transfer-Encoding: chunked']) + '2\r\n{}\r\n0\r\n\r\n',
  'Transfer-Encoding and Content-Length': head(['Transfer-Encoding: chunked', 'Content-Length: 2']) + '2\r\n{}\r\n0\r\n\r\n',
  'chunk size +2': head(['Transfer-Encoding: chunked']) + '+2\r\n{}\r\n0\r\n\r\n',
  'chunk size 0x2': head(['Transfer-Encoding: chunked']) + '0x2\r\n{}\r\n0\r\n\r\n',
  'chunk size " 2"': head(['Transfer-Encoding: chunked']) + ' 2\r\n{}\r\n0\r\n\r\n',
  'Transfer-Encoding gzip (chunked not final)': head(['Transfer-Encoding: gzip']) + '{}',
  'Transfer-Encoding chunked, chunked': head(['Transfer-Encoding: chunked, chunked']) + '2\r\n{}\r\n0\r\n\r\n',
};
for (const [what, req] of Object.entries(invalid)) {
  test(`invalid framing, ${what}: 400, JSON, closed, nothing smuggled`, async () => {
    // a second request rides behind: it must not be served
    const r = parse(await L.rawExchange(p.port, Buffer.from(req + `GET /_tether/status HTTP/1.1\r\nHost: x\r\n\r\n`), 15000));
    assert.equal(r.status, 400, r.headers);
    assert.equal(r.how, 'closed', 'the connection is closed after the 400');
    assert.match(r.headers, /\r\nX-Amzn-ErrorType: InvalidRequestContentException/i);
    const body = JSON.parse(r.body);
    assert.match(body.message, /^Invalid HTTP framing: .* \(RFC 9112\)$/);
    assert.equal((r.body.match(/HTTP\/1\.1/g) || []).length, 0, 'only one answer');
  });
}

const valid = {
  'leading zeros': head(['Content-Length: 0002']) + '{}',
  'whitespace around the value': head(['Content-Length: \t 2 \t']) + '{}',
  'equal duplicates': head(['Content-Length: 2', 'Content-Length: 2']) + '{}',
  'chunk size with zeros': head(['Transfer-Encoding: chunked']) + '0002\r\n{}\r\n0\r\n\r\n',
  'chunk extension': head(['Transfer-Encoding: chunked']) + '2;name=value\r\n{}\r\n0\r\n\r\n',
};
for (const [what, req] of Object.entries(valid)) {
  test(`valid framing, ${what}: served`, async () => {
    const r = parse(await L.rawExchange(p.port, Buffer.from(req), 15000));
    assert.equal(r.status, 200, r.headers + r.body);
    assert.match(r.body, /"event":\{\}/);
  });
}

// Opens a connection and asks for /_tether/status on it, keeping it open.
function heldConnection() {
  return new Promise((resolve, reject) => {
    const s = net.connect(p.port, '127.0.0.1');
    let text = '';
    s.on('error', reject);
    s.on('connect', () => s.write('GET /_tether/status HTTP/1.1\r\nHost: x\r\n\r\n'));
    s.on('data', (d) => {
      text += d.toString('latin1');
      if (/^HTTP\/1\.1 \d{3}/.test(text) && text.includes('\r\n\r\n')) resolve({ s, status: Number(text.slice(9, 12)) });
    });
  });
}

test('past --max-connections a new connection gets a clear 503 and is closed', async () => {
  const held = [];
  for (let i = 0; i < 6; i++) {
    const h = await heldConnection();
    assert.equal(h.status, 200);
    held.push(h.s);
  }
  const r = parse(await L.rawExchange(p.port, Buffer.from(head(['Content-Length: 2']) + '{}'), 15000));
  assert.equal(r.status, 503, r.headers);
  assert.equal(r.how, 'closed');
  assert.match(JSON.parse(r.body).message, /Too many open connections to the Invoke API \(--max-connections 6\)/);
  await L.waitFor('tether up to say so', () => /over --max-connections 6/.test(p.logs()));
  held.pop().destroy();
  // once one goes, new connections are served again
  await L.waitFor('a new connection served again', async () => {
    const x = parse(await L.rawExchange(p.port, Buffer.from(head(['Content-Length: 2']) + '{}'), 15000));
    return x.status === 200;
  }, 15000, 100);
  for (const s of held) s.destroy();
});

test('a first head trickled slower than --header-timeout is closed', async () => {
  const t0 = Date.now();
  const closed = await new Promise((resolve) => {
    const s = net.connect(p.port, '127.0.0.1');
    const bytes = Buffer.from(head(['Content-Length: 2']));
    let i = 0;
    let timer = null;
    s.on('connect', () => {
      timer = setInterval(() => {
        if (i < bytes.length) s.write(bytes.subarray(i, i + 1));
        i++;
      }, 200);
    });
    s.on('error', () => {});
    s.on('close', () => {
      clearInterval(timer);
      resolve(Date.now() - t0);
    });
    setTimeout(() => {
      clearInterval(timer);
      s.destroy();
      resolve(-1);
    }, 30000);
  });
  assert.ok(closed > 0, 'the trickling connection was never closed');
  assert.ok(closed >= 1500, `closed after ${closed} ms, before the header timeout`);
});

test('a transfer coding before chunked: 501, JSON, closed (RFC 9112 6.1)', async () => {
  const req = head(['Transfer-Encoding: gzip, chunked']) + '2\r\n{}\r\n0\r\n\r\n';
  const r = parse(await L.rawExchange(p.port, Buffer.from(req + `GET /_tether/status HTTP/1.1\r\nHost: x\r\n\r\n`), 15000));
  assert.equal(r.status, 501, r.headers);
  assert.equal(r.how, 'closed');
  assert.match(r.headers, /\r\nX-Amzn-ErrorType: InvalidRequestContentException/i);
  assert.match(JSON.parse(r.body).message, /^Unsupported HTTP framing: a transfer coding other than chunked \(RFC 9112\)$/);
  assert.equal((r.body.match(/HTTP\/1\.1/g) || []).length, 0, 'only one answer');
});

// A kept-alive connection: sends `first` (a whole request), waits for its
// answer, then sends `second` one byte per `every` ms (or at once after
// `pause` ms). Resolves with what came back, when it closed (ms after the
// second began) and how many answers there were. The first `lead` bytes of
// the second go at once.
function keepAlive(first, second, { every = 0, pause = 0, lead = 0, wait = 30000 } = {}) {
  return new Promise((resolve) => {
    const s = net.connect(p.port, '127.0.0.1');
    let text = '';
    let t1 = 0;
    let timer = null;
    let done = false;
    const finish = (how) => {
      if (done) return;
      done = true;
      clearInterval(timer);
      s.destroy();
      resolve({ text, how, ms: t1 ? Date.now() - t1 : -1, answers: (text.match(/HTTP\/1\.1 \d{3}/g) || []).length });
    };
    s.on('connect', () => s.write(first));
    s.on('data', (d) => {
      text += d.toString('latin1');
      const answers = (text.match(/HTTP\/1\.1 \d{3}/g) || []).length;
      if (answers === 1 && t1 === 0 && /"event":\{\}/.test(text)) {
        const bytes = Buffer.from(second);
        setTimeout(() => {
          t1 = Date.now();
          if (every === 0) {
            s.write(bytes);
            return;
          }
          s.write(bytes.subarray(0, lead));
          let i = lead;
          timer = setInterval(() => {
            if (i < bytes.length) s.write(bytes.subarray(i, i + 1));
            i++;
          }, every);
        }, pause);
      }
      if (answers === 2 && /"event":\{\}[^]*"event":\{\}/.test(text)) finish('answered');
    });
    s.on('error', () => finish('error'));
    s.on('close', () => finish('closed'));
    setTimeout(() => finish('timeout'), wait);
  });
}

function keptHead(lines) {
  return `POST ${PATH} HTTP/1.1\r\nHost: x\r\n${lines.join('\r\n')}\r\n\r\n`;
}

test('a second head trickled on a kept-alive connection gets 408 within --header-timeout', async () => {
  const r = await keepAlive(keptHead(['Content-Length: 2']) + '{}', keptHead(['Content-Length: 2', 'X-Pad: ' + 'x'.repeat(200)]) + '{}', { every: 200 });
  assert.equal(r.how, 'closed', JSON.stringify(r));
  assert.ok(r.ms >= 1500, `closed after ${r.ms} ms, before the header timeout`);
  assert.ok(r.ms < 15000, `closed after ${r.ms} ms: the head was bounded by the idle timeout only`);
  assert.equal(r.answers, 2, r.text);
  assert.match(r.text, /HTTP\/1\.1 408 Request Timeout/);
  assert.match(r.text, /"message":"Request head not received within its time \(--header-timeout 2 s\)/);
});

test('a body trickled past its time on a kept-alive connection gets 408', async () => {
  // 40 bytes declared: --header-timeout plus a negligible share for its size;
  // the head goes at once, the body a byte per 300 ms (12 s)
  const h = keptHead(['Content-Length: 40']);
  const r = await keepAlive(keptHead(['Content-Length: 2']) + '{}', h + ' '.repeat(40), { every: 300, lead: h.length });
  assert.equal(r.how, 'closed', JSON.stringify(r));
  assert.ok(r.ms >= 1500 && r.ms < 11000, `closed after ${r.ms} ms`);
  assert.match(r.text, /HTTP\/1\.1 408 Request Timeout/);
  assert.match(r.text, /"message":"Request body not received within its time/);
});

test('a keep-alive client idle between requests longer than --header-timeout is served', async () => {
  const r = await keepAlive(keptHead(['Content-Length: 2']) + '{}', keptHead(['Content-Length: 2']) + '{}', { pause: 3000 });
  assert.equal(r.how, 'answered', JSON.stringify(r));
  assert.equal(r.answers, 2);
});
