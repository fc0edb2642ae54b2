// No cross-stall in `tether up`: the embedded docstore runs on its own thread
// with its own event loop, so a long docstore query (a backtracking $regex
// over 3,000 documents, run with --db-max-time-ms 0 so it is not cut short)
// does not delay the Invoke API: invocations of a function are answered while
// the query is still running (before, none could be: the query held the one
// loop). Latencies are printed; the only condition is that invocations
// complete during the query. Then a query with the default budget answers 50
// (MaxTimeMSExpired) through `tether up` too, and tether up stops cleanly
// (the docstore thread is joined).
'use strict';
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { MongoClient } = require('mongodb');
const L = require('./platform_lib');

L.deadline(180000);

function dbPort(text) {
  const m = /docstore listening on 127\.0\.0\.1:(\d+)/.exec(text);
  return m ? Number(m[1]) : null;
}

async function runPlatform(extra) {
  const up = await L.startPlatform({ db: true, args: extra });
  const port = await L.waitFor('the docstore line', () => dbPort(up.logs()));
  const client = new MongoClient(`mongodb://127.0.0.1:${port}/?directConnection=true`);
  await client.connect();
  return { up, client };
}

test('a long docstore query does not delay invocations', async () => {
  const { up, client } = await runPlatform(['--db-max-time-ms', '0']);
  try {
    const coll = client.db('t').collection('slow');
    await coll.insertMany(Array.from({ length: 3000 }, (_, i) => ({ _id: i, s: 'a'.repeat(30) + '!' })));
    const first = await L.invoke(up.port, 'echo', { warm: true }); // the cold start
    assert.equal(first.status, 200, first.body);

    let done = false;
    const t0 = Date.now();
    const query = coll.find({ s: { $regex: '(a+)+$' } }).toArray()
      .then(() => 'answered', (e) => `error ${e.code}`)
      .finally(() => { done = true; });
    const during = [];
    while (!done) {
      const s = Date.now();
      const r = await L.invoke(up.port, 'echo', { n: during.length });
      assert.equal(r.status, 200, r.body);
      if (!done) during.push(Date.now() - s);
    }
    const outcome = await query;
    const took = Date.now() - t0;
    console.log(`     docstore query: ${took} ms (${outcome}); ${during.length} invocations answered ` +
      `meanwhile, worst ${Math.max(0, ...during)} ms, median ${during.sort((a, b) => a - b)[during.length >> 1]} ms`);
    assert.ok(during.length >= 3, `only ${during.length} invocations answered during a ${took} ms query`);
  } finally {
    await client.close();
    const ex = await up.stop();
    assert.equal(ex.code, 0, up.logs());
  }
});

test('the default budget applies inside tether up', async () => {
  const { up, client } = await runPlatform(['--db-max-time-ms', '200']);
  try {
    const coll = client.db('t').collection('slow');
    await coll.insertMany(Array.from({ length: 3000 }, (_, i) => ({ _id: i, s: 'a'.repeat(30) + '!' })));
    await assert.rejects(coll.find({ s: { $regex: '(a+)+$' } }).toArray(),
      (e) => e.code === 50 && e.codeName === 'MaxTimeMSExpired' && /operation exceeded time limit/.test(e.message));
    await assert.rejects(coll.find({ s: { $regex: '(a+)+$' } }).maxTimeMS(100).toArray(), (e) => e.code === 50);
    assert.equal(await coll.countDocuments({ _id: { $lt: 5 } }), 5);
  } finally {
    await client.close();
    const ex = await up.stop();
    assert.equal(ex.code, 0, up.logs());
  }
});
