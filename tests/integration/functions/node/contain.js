// Test handlers for test_platform_contain.js (control groups per instance).
'use strict';
const { spawn } = require('child_process');

const kept = [];

// Allocates and touches event.mb megabytes (kept until the instance dies),
// then answers with its pid: past MemorySize the instance is killed.
exports.memhog = async (event) => {
  const mb = event && event.mb ? event.mb : 1;
  for (let i = 0; i < mb; i++) kept.push(Buffer.alloc(1 << 20, i & 0x7f));
  const n = kept.length;
  kept.length = 0; // inside its limit: the next invocation starts afresh
  return { pid: process.pid, mb: n };
};

// Starts `sleep 300` in a session of its own (spawn detached: setsid), out
// of the instance's process group, and answers with both pids.
exports.detach = async () => {
  const child = spawn('sleep', ['300'], { detached: true, stdio: 'ignore' });
  child.unref();
  return { pid: process.pid, child: child.pid };
};

// {sleeper: true}: starts `sleep 300` in a session of its own and answers
// with both pids. Otherwise starts a child that makes itself the OOM
// killer's first choice and allocates until it is killed, and answers with
// how the child ended (on Lambda the whole environment ends instead).
exports.childhog = async (event) => {
  if (event && event.sleeper) {
    const s = spawn('sleep', ['300'], { detached: true, stdio: 'ignore' });
    s.unref();
    return { pid: process.pid, sleeper: s.pid };
  }
  const hog = `const a = []; for (;;) a.push(Buffer.alloc(1 << 20, 1));`;
  const child = spawn('/bin/sh', ['-c', `echo 1000 > /proc/self/oom_score_adj; exec "${process.execPath}" -e '${hog}'`], { stdio: 'ignore' });
  return new Promise((resolve) => {
    child.on('exit', (code, signal) => resolve({ pid: process.pid, child: child.pid, code, signal }));
  });
};
