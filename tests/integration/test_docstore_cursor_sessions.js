// A session's cursors go with its client, seen by the Node driver (npm
// `mongodb` 7) against `tether db`: a child process opens a cursor in a
// session and is killed (SIGKILL: no endSessions, no killCursors); once its
// connections close the server holds no cursor, and a getMore on it is 43
// CursorNotFound. maxTimeMS through the Node driver: a backtracking $regex
// over 2,000 documents answers 50 MaxTimeMSExpired. The pymongo twin is
// test_docstore_cursor_sessions.py (and test_docstore_max_time.py).
'use strict';
const { spawn } = require('child_process');
const assert = require('assert/strict');
const { MongoClient, Long } = require('mongodb');

const L = require('./docstore_lib');

const CHILD = `
const { MongoClient } = require('mongodb');
(async () => {
  const c = new MongoClient(process.argv[1]);
  await c.connect();
  const s = c.startSession();
  const cur = c.db('t').collection('items').find({}, { session: s, batchSize: 3 });
  await cur.next();
  console.log(String(cur.id));
  setInterval(() => {}, 1000);
})();
`;

async function waitFor(what, fn, ms = 20000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function main() {
  const srv = await L.startServer(['--max-time-ms', '5000']);
  const url = `mongodb://127.0.0.1:${srv.port}/?directConnection=true`;
  const cli = new MongoClient(url);
  try {
    await cli.connect();
    const items = cli.db('t').collection('items');
    await items.insertMany(Array.from({ length: 2000 }, (_, i) => ({ _id: i, s: 'a'.repeat(30) + '!' })));
    const open = async () => (await cli.db('admin').command({ serverStatus: 1 })).metrics.cursor.open.total;

    const child = spawn(process.execPath, ['-e', CHILD, url], { stdio: ['ignore', 'pipe', 'inherit'] });
    const id = await new Promise((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d) => { out += d; if (out.includes('\n')) resolve(out.trim()); });
      child.on('exit', (code) => reject(new Error(`child exited ${code}`)));
    });
    assert.notEqual(id, '0');
    assert.equal(await open(), 1);
    child.removeAllListeners('exit');
    child.kill('SIGKILL');
    await waitFor('the killed client\'s cursor to go', async () => (await open()) === 0);
    await assert.rejects(cli.db('t').command({ getMore: Long.fromString(id), collection: 'items' }),
      (e) => e.code === 43);
    console.log('ok   a killed client\'s session cursor goes with its connection');

    const t0 = Date.now();
    await assert.rejects(items.find({ s: { $regex: '(a+)+$' } }).maxTimeMS(150).toArray(),
      (e) => e.code === 50 && e.codeName === 'MaxTimeMSExpired' && /operation exceeded time limit/.test(e.message));
    await assert.rejects(items.aggregate([{ $match: { s: { $regex: '(a+)+$' } } }], { maxTimeMS: 150 }).toArray(),
      (e) => e.code === 50);
    await assert.rejects(items.countDocuments({ s: { $regex: '(a+)+$' } }, { maxTimeMS: 150 }), (e) => e.code === 50);
    console.log(`ok   maxTimeMS: 50 MaxTimeMSExpired (three queries in ${Date.now() - t0} ms)`);
    assert.equal((await items.find({ _id: { $lt: 10 } }).maxTimeMS(60000).toArray()).length, 10);
  } finally {
    await cli.close();
    await L.stopServer(srv);
  }
  console.log('all ok');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
