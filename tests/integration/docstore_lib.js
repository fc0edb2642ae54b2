// Helpers for the docstore's Node integration tests (test_docstore_*.js):
// start and stop a `tether db --port 0 [args]` of their own, and a check
// harness (every check runs, a failing one does not hide the others; the
// process exits 1 if any failed, the main function threw or the deadline
// passed). The Python twin is docstore_wire_lib.py.
'use strict';
const { spawn } = require('child_process');

const BIN = process.env.TETHER_BIN || 'build/tether';
const TMP = process.env.TETHER_TEST_TMP || '/tmp';
const LISTEN_MS = 20000;

// Starts `tether db --port 0 ...args`, resolves once its "docstore listening"
// line names the port: { proc, port, log() } (log() is all output so far).
// Rejects (after SIGKILL) if no such line comes in 20 s, or if the server
// exits before listening.
function startServer(args = []) {
    return new Promise((resolve, reject) => {
        const proc = spawn(BIN, ['db', '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
        let log = '';
        let done = false;
        const timer = setTimeout(() => {
            if (done) return;
            done = true;
            proc.kill('SIGKILL');
            reject(new Error(`no "docstore listening" line in ${LISTEN_MS / 1000} s:\n${log}`));
        }, LISTEN_MS);
        const onData = (chunk) => {
            log += chunk.toString();
            const m = /docstore listening on 127\.0\.0\.1:(\d+)/.exec(log);
            if (m && !done) {
                done = true;
                clearTimeout(timer);
                resolve({ proc, port: Number(m[1]), log: () => log });
            }
        };
        proc.stdout.on('data', onData);
        proc.stderr.on('data', onData);
        proc.on('exit', (code, sig) => {
            if (done) return;
            done = true;
            clearTimeout(timer);
            reject(new Error(`server exited (${code} ${sig}) before listening:\n${log}`));
        });
    });
}

// SIGTERM, then SIGKILL after 10 s: { code, signal, early } (early: it had
// already exited, i.e. died during the test).
function stopServer(srv) {
    return new Promise((resolve) => {
        if (srv.proc.exitCode !== null || srv.proc.signalCode !== null) {
            resolve({ code: srv.proc.exitCode, signal: srv.proc.signalCode, early: true });
            return;
        }
        const t = setTimeout(() => srv.proc.kill('SIGKILL'), 10000);
        srv.proc.once('exit', (code, signal) => {
            clearTimeout(t);
            resolve({ code, signal, early: false });
        });
        srv.proc.kill('SIGTERM');
    });
}

// A sanitizer report in a server log, or null.
function sanitizerReport(log) {
    return /(AddressSanitizer|LeakSanitizer|runtime error:)/.exec(log);
}

// Polls cond (async) every 200 ms until it is true; throws after ms.
async function waitUntil(cond, what, ms = 60000) {
    const end = Date.now() + ms;
    while (Date.now() < end) {
        if (await cond()) return;
        await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error('timed out waiting for ' + what);
}

const results = [];

// Runs one named check: prints "ok   name (N ms)" or "FAIL name: stack".
async function check(name, fn) {
    const t0 = Date.now();
    try {
        await fn();
        results.push([name, null]);
        console.log(`ok   ${name} (${Date.now() - t0} ms)`);
    } catch (e) {
        results.push([name, e]);
        console.log(`FAIL ${name}: ${e && e.stack ? e.stack.split('\n').slice(0, 30).join('\n     ') : e}`);
    }
}

// stopServer, then a check that the server had not died during the test and
// its log holds no sanitizer report.
async function stopAndCheck(srv) {
    const exit = await stopServer(srv);
    await check('server ran to the end and exited cleanly', async () => {
        if (exit.early) throw new Error(`server died during the suite (${exit.code} ${exit.signal})`);
        const bad = sanitizerReport(srv.log());
        if (bad) throw new Error('sanitizer report in the server log:\n' + srv.log().slice(-3000));
    });
}

// Runs main under a deadline, prints "passed/total checks passed" and exits
// 1 if any check failed, main threw or the deadline passed.
function run(main, deadlineMs) {
    const deadline = setTimeout(() => {
        console.log('FAIL: did not finish in time');
        process.exit(1);
    }, deadlineMs);
    main().then(() => {
        clearTimeout(deadline);
        const failed = results.filter((r) => r[1]);
        console.log(`${results.length - failed.length}/${results.length} checks passed`);
        process.exit(failed.length ? 1 : 0);
    }, (e) => {
        clearTimeout(deadline);
        console.log('FAIL: ' + ((e && e.stack) || e));
        process.exit(1);
    });
}

module.exports = { BIN, TMP, startServer, stopServer, sanitizerReport, waitUntil, check, stopAndCheck, run };
