// Helpers for the platform integration tests (test_platform_*.js): start
// `tether up` on a free port, invoke functions over plain HTTP, read
// /_tether/status, inspect processes in /proc, and wait on conditions.
'use strict';
const { spawn } = require('child_process');
const fs = require('fs');
const http = require('http');
const net = require('net');
const path = require('path');

const SRC = process.env.TETHER_SRC || path.resolve(__dirname, '../..');
const BIN = process.env.TETHER_BIN || path.join(SRC, 'build/tether');
const TMP = process.env.TETHER_TEST_TMP || fs.mkdtempSync('/tmp/tether-test.');
const FUNCTIONS = path.join(__dirname, 'functions');
const TEMPLATE = path.join(FUNCTIONS, 'template.yaml');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Polls fn until it returns a truthy value (returned) or ms pass (throws, naming what).
async function waitFor(what, fn, ms = 10000, every = 20) {
  const end = Date.now() + ms;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what} (last: ${last})`);
    await sleep(every);
  }
}

// Kills the whole test if it runs longer than ms (every test is bounded in time).
function deadline(ms) {
  const t = setTimeout(() => {
    console.error(`FAIL: test took longer than ${ms} ms`);
    for (const p of live) p.kill('SIGKILL');
    process.exit(1);
  }, ms);
  t.unref();
}

const live = new Set();
process.on('exit', () => {
  for (const p of live) {
    try {
      p.kill('SIGKILL');
    } catch (e) {
      /* already gone */
    }
  }
});

// Starts `tether up --port 0 --no-db --template T` (with opts.db, its embedded
// docstore on a free port instead of --no-db) and waits for its "listening"
// line. Returns { port, pid, logs(), stop() }.
async function startPlatform(opts = {}) {
  const args = ['up', '--port', '0', ...(opts.db ? ['--db-port', '0'] : ['--no-db']),
    '--template', opts.template || TEMPLATE];
  if (opts.idleTimeout !== undefined) args.push('--idle-timeout', String(opts.idleTimeout));
  if (opts.args) args.push(...opts.args);
  const proc = spawn(BIN, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: Object.assign({}, process.env, opts.env || {}),
  });
  live.add(proc);
  let text = '';
  let exited = null;
  const onData = (d) => {
    text += d.toString();
    if (text.length > 64 << 20) text = text.slice(-(32 << 20)); // flood tests: keep the tail
  };
  proc.stdout.on('data', onData);
  proc.stderr.on('data', onData);
  proc.on('exit', (code, sig) => {
    exited = { code, sig };
    live.delete(proc);
  });
  const port = await waitFor('the platform\'s "listening" line', () => {
    if (exited) throw new Error(`tether up exited (${JSON.stringify(exited)}):\n${text}`);
    const m = platformPort(text);
    return m;
  }, 15000);
  return {
    port,
    pid: proc.pid,
    proc,
    logs: () => text,
    exited: () => exited,
    async stop() {
      if (exited) return exited;
      proc.kill('SIGTERM');
      await waitFor('tether up to exit', () => exited, 10000).catch(() => proc.kill('SIGKILL'));
      return exited;
    },
  };
}

// The Invoke API's port from tether up's log: "platform listening on 127.0.0.1:PORT"
// (up.c), else the first other "listening" line that is not a Runtime API's.
function platformPort(text) {
  const exact = text.match(/platform listening on [^\s:]+:(\d+)/);
  if (exact) return Number(exact[1]);
  for (const line of text.split('\n')) {
    if (!/listening/i.test(line) || /runtime api/i.test(line)) continue;
    const m = line.match(/(?:127\.0\.0\.1|0\.0\.0\.0|localhost|port)[: ]+(\d+)/i);
    if (m && Number(m[1]) > 0) return Number(m[1]);
  }
  return null;
}

// One HTTP request on a fresh connection (or opts.agent). Resolves { status, headers, body }.
function request(port, method, urlPath, body, headers = {}, opts = {}) {
  return new Promise((resolve, reject) => {
    const h = Object.assign({}, headers);
    if (body !== undefined && body !== null) h['content-length'] = Buffer.byteLength(body);
    const req = http.request(
      { host: '127.0.0.1', port, method, path: urlPath, headers: h, agent: opts.agent || false },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      });
    req.on('error', reject);
    if (opts.timeout) req.setTimeout(opts.timeout, () => req.destroy(new Error('request timed out')));
    req.end(body === null ? undefined : body);
  });
}

// POST /2015-03-31/functions/NAME/invocations with the given payload (string or object).
function invoke(port, name, payload, headers = {}, opts = {}) {
  const body = typeof payload === 'string' || Buffer.isBuffer(payload) ? payload : JSON.stringify(payload === undefined ? {} : payload);
  return request(port, 'POST', `/2015-03-31/functions/${encodeURIComponent(name)}/invocations`,
    body, headers, opts);
}

async function status(port) {
  const r = await request(port, 'GET', '/_tether/status');
  if (r.status !== 200) throw new Error(`/_tether/status answered ${r.status}: ${r.body}`);
  return JSON.parse(r.body);
}

// The instances of function name in a /_tether/status document.
function instancesOf(st, name) {
  const fns = Array.isArray(st.functions) ? st.functions : Object.entries(st.functions || {}).map(([k, v]) => Object.assign({ name: k }, v));
  const f = fns.find((x) => x.name === name || x.function === name);
  if (!f) throw new Error(`function ${name} not in /_tether/status: ${JSON.stringify(st).slice(0, 500)}`);
  return (f.instances || []).filter((i) => i.state !== 'dead');
}

// Waits until function name has n live instances, all parked in /next
// (frozen): only then is the next invocation sure to find a warm instance.
async function waitParked(port, name, n = 1) {
  return waitFor(`${n} parked instance(s) of ${name}`, async () => {
    const inst = instancesOf(await status(port), name);
    return inst.length === n && inst.every((i) => i.state === 'frozen' || i.state === 'idle') ? inst : null;
  });
}

// Sends raw bytes on a fresh TCP connection; resolves with what came back before
// the server closed the connection (or after ms of silence).
function rawExchange(port, bytes, ms = 3000) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    const chunks = [];
    let done = false;
    const finish = (how) => {
      if (done) return;
      done = true;
      s.destroy();
      resolve({ text: Buffer.concat(chunks).toString('latin1'), how });
    };
    s.on('connect', () => s.write(bytes));
    s.on('data', (c) => chunks.push(c));
    s.on('end', () => finish('closed'));
    s.on('close', () => finish('closed'));
    s.on('error', () => finish('error'));
    setTimeout(() => finish('timeout'), ms);
  });
}

// /proc/PID/stat: { state, ppid, pgrp } or null when the process is gone.
function procStat(pid) {
  let s;
  try {
    s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch (e) {
    return null;
  }
  const rest = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return { state: rest[0], ppid: Number(rest[1]), pgrp: Number(rest[2]) };
}

// Live (non-zombie) processes whose process group is pgrp.
function groupMembers(pgrp) {
  const out = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const st = procStat(d);
    if (st && st.pgrp === pgrp && st.state !== 'Z') out.push(Number(d));
  }
  return out;
}

// Live descendants of pid (children, grandchildren, ...).
function descendants(pid) {
  const children = new Map();
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const st = procStat(d);
    if (!st || st.state === 'Z') continue;
    if (!children.has(st.ppid)) children.set(st.ppid, []);
    children.get(st.ppid).push(Number(d));
  }
  const out = [];
  const stack = [pid];
  while (stack.length) {
    for (const c of children.get(stack.pop()) || []) {
      out.push(c);
      stack.push(c);
    }
  }
  return out;
}

function alive(pid) {
  const st = procStat(pid);
  return st !== null && st.state !== 'Z';
}

module.exports = {
  SRC, BIN, TMP, FUNCTIONS, TEMPLATE, sleep, waitFor, deadline, startPlatform, request, invoke,
  status, instancesOf, waitParked, rawExchange, procStat, groupMembers, descendants, alive, platformPort,
};
