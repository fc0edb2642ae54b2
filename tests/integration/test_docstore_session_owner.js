// Sessions belong to their user, seen by the Node driver (npm `mongodb` 7)
// against `tether db --auth scram --users F`: user B's and an unauthenticated
// client's endSessions/killSessions naming user A's lsid leave A's session
// cursor alone (the cursor then drains in full); A's own endSessions frees it
// (the next getMore is 43 CursorNotFound). The pymongo twin is
// test_docstore_session_owner.py.
'use strict';
const fs = require('fs');
const path = require('path');
const assert = require('assert/strict');
const { MongoClient, MongoServerError } = require('mongodb');

const L = require('./docstore_lib');

async function main() {
  const users = [
    { user: 'alice', db: 'app', password: 'pw-alice', roles: ['readWrite'] },
    { user: 'bob', db: 'app', password: 'pw-bob', roles: ['readWrite'] },
  ];
  const usersPath = path.join(L.TMP, 'session-users.json');
  fs.writeFileSync(usersPath, JSON.stringify(users));
  const srv = await L.startServer(['--auth', 'scram', '--users', usersPath]);
  const url = (u) => u ? `mongodb://${u}:pw-${u}@127.0.0.1:${srv.port}/?authSource=app&directConnection=true`
    : `mongodb://127.0.0.1:${srv.port}/?directConnection=true`;
  const a = new MongoClient(url('alice'));
  const b = new MongoClient(url('bob'));
  const anon = new MongoClient(url(null));
  let exit;
  try {
    await Promise.all([a.connect(), b.connect(), anon.connect()]);
    const things = a.db('app').collection('things');
    await things.insertMany(Array.from({ length: 20 }, (_, i) => ({ i })));

    const s = a.startSession();
    const cur = things.find({}, { session: s, batchSize: 2 });
    assert.equal((await cur.next()).i, 0);
    for (const c of [b, anon]) {
      await c.db('admin').command({ endSessions: [s.id] });
      await c.db('admin').command({ refreshSessions: [s.id] });
    }
    await b.db('admin').command({ killSessions: [s.id] });
    await assert.rejects(anon.db('admin').command({ killSessions: [s.id] }),
      (e) => e instanceof MongoServerError && e.code === 13);
    const rest = await cur.toArray();
    assert.equal(rest.length, 19, 'alice\'s cursor survives bob\'s and an anonymous client\'s session kills');

    const s2 = a.startSession();
    const cur2 = things.find({}, { session: s2, batchSize: 2 });
    await cur2.next();
    await a.db('admin').command({ endSessions: [s2.id] });
    await assert.rejects(cur2.toArray(), (e) => e instanceof MongoServerError && e.code === 43);
  } finally {
    await Promise.all([a.close(), b.close(), anon.close()]);
    exit = await L.stopServer(srv);
  }
  assert.equal(exit.code, 0, 'clean stop');
  console.log('ok');
}

main().catch((e) => { console.error('FAIL:', e); process.exit(1); });
