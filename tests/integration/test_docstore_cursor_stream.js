// Streamed index-served cursors through the Node driver (npm `mongodb` 7)
// against `tether db`: finds an index serves (a secondary index, a unique
// one, a multikey one, _id) read in batches of 2..7 give exactly the
// documents and order of one batch, a multikey document once; finds sorted
// by an index walk equal the in-memory sort of an unindexed copy; a document
// deleted between getMores is not returned and none twice; a collection
// dropped or renamed, or the index dropped, under an open cursor fails its
// next getMore with 175 QueryPlanKilled. The pymongo twin is
// test_docstore_cursor_stream.py.
'use strict';
const assert = require('assert/strict');
const {MongoClient} = require('mongodb');

const L = require('./docstore_lib');

const doc = (i) => ({_id : i, a : i % 7, u : 1000 - i, m : [ i % 5, (i + 1) % 5 ], s : `x${i}`});

async function main()
{
    const srv = await L.startServer([ '--max-time-ms', '0' ]);
    const cli = new MongoClient(`mongodb://127.0.0.1:${srv.port}/?directConnection=true`);
    try {
        await cli.connect();
        const db = cli.db('st');
        const c = db.collection('docs');
        await c.createIndex({a : 1});
        await c.createIndex({u : 1}, {unique : true});
        await c.createIndex({m : 1});
        const order = Array.from({length : 200}, (_, i) => (i * 37) % 200); // not _id order
        await c.insertMany(order.map(doc));

        const queries = [
            {a : 4}, {a : {$gte : 2, $lt : 5}}, {u : {$gt : 900}}, {m : {$gte : 2}},
            {m : {$in : [ 0, 3 ]}}, {_id : {$in : [ 7, 150, 3, 99 ]}},
            {_id : {$gte : 20, $lt : 180}}, {$or : [ {a : 1}, {_id : {$lt : 20}} ]}
        ];
        for (const q of queries) {
            const one = (await c.find(q, {batchSize : 100000}).toArray()).map((d) => d._id);
            assert.ok(one.length > 0, JSON.stringify(q));
            assert.equal(new Set(one).size, one.length, `duplicates for ${JSON.stringify(q)}`);
            for (let bs = 2; bs <= 7; bs++) {
                const got = (await c.find(q, {batchSize : bs}).toArray()).map((d) => d._id);
                assert.deepEqual(got, one, `${JSON.stringify(q)} batchSize ${bs}`);
            }
        }
        console.log('ok   index-served finds in batches of 2..7 match one batch');

    await c.createIndex({ s: -1 });
    const plain = db.collection('plain');
    await plain.insertMany(await c.find({}).toArray()); // same order, no index
    for (const [q, sort] of [[{}, { a: 1 }], [{ a: { $gte: 3 } }, { a: -1 }], [{}, { _id: -1 }],
      [{}, { s: 1 }], [{ u: { $lt: 950 } }, { u: -1 }]]) {
      const want = (await plain.find(q).sort(sort).toArray()).map((d) => d._id);
      for (let bs = 2; bs <= 7; bs++) {
        const got = (await c.find(q, { batchSize: bs }).sort(sort).toArray()).map((d) => d._id);
        assert.deepEqual(got, want, `${JSON.stringify(q)} sort ${JSON.stringify(sort)} batchSize ${bs}`);
      }
    }
    console.log('ok   index-sorted finds in batches of 2..7 equal the in-memory sort');

        const cur = c.find({a : {$gte : 0}}, {batchSize : 3});
        const seen = [];
        const deleted = new Set();
        for (let i = 0; await cur.hasNext(); i++) {
            const d = await cur.next();
            assert.ok(!deleted.has(d._id), `deleted document ${d._id} returned`);
            seen.push(d._id);
            if (i % 4 === 0 && cur.bufferedCount() === 0) { // the next document comes by a getMore
                const victim = order[(i * 7 + 50) % 200];
                if (!deleted.has(victim)) {
                    await c.deleteOne({_id : victim});
                    deleted.add(victim);
                }
                await c.insertOne({...doc(i), _id : 5000 + i, u : 5000 + i});
            }
        }
        assert.equal(new Set(seen).size, seen.length, 'a document returned twice');
        for (const id of order)
            assert.ok(deleted.has(id) || seen.includes(id), `missed ${id}`);
        console.log('ok   deletes and inserts between getMores: never twice, never deleted');

        const killed = async (setup, q, act, re) => {
            const t = db.collection('k');
            await t.drop().catch(() => {});
            await db.collection('k2').drop().catch(() => {});
            await t.createIndex({a : 1});
            await t.insertMany(Array.from({length : 30}, (_, i) => doc(i)));
            const k = t.find(q, {batchSize : 2});
            await k.next();
            await k.next();
            await act(t);
            await assert.rejects(k.next(), (e) => e.code === 175 &&
                                                  e.codeName === 'QueryPlanKilled' &&
                                                  re.test(e.message));
        };
        await killed('drop', {a : 3}, (t) => t.drop(), /collection dropped/);
        await killed('drop+create', {_id : {$gte : 0}}, async (t) => {
            await t.drop();
            await t.insertOne({a : 1});
        }, /collection dropped/);
        await killed('rename', {a : {$gte : 1}}, (t) => t.rename('k2'), /renamed .*st\.k2/);
        await killed('dropIndex', {a : {$gte : 1}}, (t) => t.dropIndex('a_1'),
                     /index 'a_1' dropped/);
        console.log(
            'ok   drop, drop and recreate, rename, dropIndex under a cursor: 175 QueryPlanKilled');
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
