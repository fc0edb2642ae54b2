// The docstore judged by the official Node.js driver (npm `mongodb` 7.x):
// handshake, CRUD, cursors over many batches and killCursors, aggregation,
// indexes and duplicate-key paths, admin listings, error shapes and a few
// query/update semantics. Starts its own `tether db --port 0`, runs every
// check (a failing check does not hide the others), stops the server and
// fails if any check failed or the server crashed.
'use strict';
const path = require('path');
const assert = require('assert/strict');
const { MongoClient, MongoServerError, MongoBulkWriteError, Long } = require('mongodb');

const L = require('./docstore_lib');
const DEADLINE_MS = 480000; // ctest allows 600 s; a loaded 2-core machine is slow

async function expectServerError(promise, code) {
    try {
        await promise;
    } catch (e) {
        assert.ok(e instanceof MongoServerError || e instanceof MongoBulkWriteError,
            `expected a server error, got ${e && e.name}: ${e && e.message}`);
        assert.equal(e.code, code, `code ${e.code} (${e.codeName}) "${e.message}"`);
        return e;
    }
    assert.fail(`expected server error ${code}, got success`);
}

async function main() {
    const dir = path.join(L.TMP, 'node-db');
    require('fs').mkdirSync(dir, { recursive: true });
    // --max-time-ms 0: the 15 MB documents and driver-split batches take
    // seconds under ASan on a loaded machine; the default 1 s budget is
    // sized for release builds (test_docstore_max_time.py checks it).
    const srv = await L.startServer(['--dir', dir, '--max-time-ms', '0']);
    const uri = `mongodb://127.0.0.1:${srv.port}/?directConnection=true&serverSelectionTimeoutMS=5000`;
    const client = new MongoClient(uri, { appName: 'tether-node-suite' });
    const db = client.db('nodesuite');

    await L.check('connect and hello', async () => {
        await client.connect();
        const hello = await client.db('admin').command({ hello: 1 });
        assert.equal(hello.isWritablePrimary, true);
        assert.equal(hello.helloOk, true);
        assert.equal(hello.maxBsonObjectSize, 16777216);
        assert.equal(hello.maxMessageSizeBytes, 48000000);
        assert.equal(hello.maxWriteBatchSize, 100000);
        assert.ok(hello.maxWireVersion >= 9, 'maxWireVersion ' + hello.maxWireVersion);
        assert.equal(hello.setName, undefined);
        assert.ok(hello.localTime instanceof Date);
        const ping = await client.db('admin').command({ ping: 1 });
        assert.equal(ping.ok, 1);
        const bi = await client.db('admin').command({ buildInfo: 1 });
        assert.equal(typeof bi.version, 'string');
    });

    const c = db.collection('crud');
    await L.check('insertOne / insertMany', async () => {
        const r = await c.insertOne({ name: 'ann', age: 31, tags: ['a', 'b'] });
        assert.equal(r.acknowledged, true);
        assert.ok(r.insertedId, 'insertedId');
        const many = await c.insertMany([
            { _id: 1, name: 'bob', age: 25, city: 'Oslo' },
            { _id: 2, name: 'cy', age: 40, city: 'Rome' },
            { _id: 3, name: 'dee', age: 35, city: 'Oslo' },
            { _id: 4, name: 'eve', age: 22, city: 'Lima', nested: { x: { y: 5 } } },
        ]);
        assert.equal(many.insertedCount, 4);
        assert.deepEqual(Object.values(many.insertedIds), [1, 2, 3, 4]);
        const back = await c.findOne({ _id: r.insertedId });
        assert.equal(back.name, 'ann');
        assert.deepEqual(back.tags, ['a', 'b']);
    });

    await L.check('find filter / projection / sort / skip / limit', async () => {
        const docs = await c.find({ age: { $gte: 25 } }, { projection: { _id: 0, name: 1 }, sort: { age: -1 } }).toArray();
        assert.deepEqual(docs, [{ name: 'cy' }, { name: 'dee' }, { name: 'ann' }, { name: 'bob' }]);
        const page = await c.find({}, { sort: { age: 1 }, skip: 1, limit: 2, projection: { age: 1 } }).toArray();
        assert.deepEqual(page.map(d => d.age), [25, 31]);
        assert.ok('_id' in page[0], '_id kept by default');
        const excl = await c.findOne({ _id: 4 }, { projection: { city: 0, 'nested.x': 0 } });
        assert.deepEqual(excl, { _id: 4, name: 'eve', age: 22, nested: {} });
        const dotted = await c.findOne({ 'nested.x.y': 5 }, { projection: { 'nested.x.y': 1, _id: 0 } });
        assert.deepEqual(dotted, { nested: { x: { y: 5 } } });
        const compound = await c.find({ city: { $in: ['Oslo', 'Lima'] } }, { sort: { city: 1, age: -1 } }).toArray();
        assert.deepEqual(compound.map(d => d._id), [4, 3, 1]);
        const or = await c.find({ $or: [{ age: { $lt: 23 } }, { name: 'cy' }] }, { sort: { _id: 1 } }).toArray();
        assert.deepEqual(or.map(d => d._id), [2, 4]);
        const rx = await c.find({ name: { $regex: '^E', $options: 'i' } }).toArray();
        assert.deepEqual(rx.map(d => d._id), [4]);
    });

    await L.check('updateOne / updateMany / replaceOne / upsert', async () => {
        let r = await c.updateOne({ _id: 1 }, { $set: { age: 26 }, $inc: { visits: 1 } });
        assert.equal(r.matchedCount, 1);
        assert.equal(r.modifiedCount, 1);
        r = await c.updateMany({ city: 'Oslo' }, { $set: { country: 'NO' } });
        assert.equal(r.matchedCount, 2);
        assert.equal(r.modifiedCount, 2);
        r = await c.updateOne({ _id: 1 }, { $set: { age: 26 } });
        assert.equal(r.matchedCount, 1);
        assert.equal(r.modifiedCount, 0, 'no-op update is not a modification');
        r = await c.replaceOne({ _id: 2 }, { name: 'cy', age: 41 });
        assert.equal(r.modifiedCount, 1);
        assert.deepEqual(await c.findOne({ _id: 2 }), { _id: 2, name: 'cy', age: 41 });
        r = await c.updateOne({ _id: 99 }, { $set: { name: 'zed' }, $setOnInsert: { created: true } }, { upsert: true });
        assert.equal(r.upsertedCount, 1);
        assert.equal(r.upsertedId, 99);
        assert.deepEqual(await c.findOne({ _id: 99 }), { _id: 99, name: 'zed', created: true });
        r = await c.updateOne({ name: 'newbie' }, { $set: { age: 1 } }, { upsert: true });
        assert.equal(r.upsertedCount, 1);
        const up = await c.findOne({ _id: r.upsertedId });
        assert.equal(up.name, 'newbie', 'upsert copies equality fields of the filter');
        assert.equal(up.age, 1);
        r = await c.replaceOne({ _id: 100 }, { name: 'rep' }, { upsert: true });
        assert.equal(r.upsertedId, 100);
        assert.equal(r.matchedCount, 0);
    });

    await L.check('deleteOne / deleteMany', async () => {
        let r = await c.deleteOne({ _id: 100 });
        assert.equal(r.deletedCount, 1);
        r = await c.deleteMany({ name: { $in: ['newbie', 'zed'] } });
        assert.equal(r.deletedCount, 2);
        r = await c.deleteOne({ _id: 'absent' });
        assert.equal(r.deletedCount, 0);
    });

    await L.check('findOneAndUpdate / findOneAndDelete / findOneAndReplace', async () => {
        const before = await c.findOneAndUpdate({ _id: 3 }, { $inc: { age: 1 } });
        assert.equal(before.age, 35, 'returns the document before by default');
        const after = await c.findOneAndUpdate({ _id: 3 }, { $inc: { age: 1 } }, { returnDocument: 'after', projection: { age: 1 } });
        assert.deepEqual(after, { _id: 3, age: 37 });
        const meta = await c.findOneAndUpdate({ _id: 555 }, { $set: { v: 1 } }, { upsert: true, returnDocument: 'after', includeResultMetadata: true });
        assert.deepEqual(meta.value, { _id: 555, v: 1 });
        assert.equal(meta.lastErrorObject.updatedExisting, false);
        assert.equal(meta.lastErrorObject.upserted, 555);
        const none = await c.findOneAndUpdate({ _id: 'nope' }, { $set: { v: 1 } });
        assert.equal(none, null);
        const sorted = await c.findOneAndUpdate({ city: 'Oslo' }, { $set: { picked: true } }, { sort: { age: -1 }, returnDocument: 'after' });
        assert.equal(sorted._id, 3);
        const rep = await c.findOneAndReplace({ _id: 555 }, { v: 2 }, { returnDocument: 'after' });
        assert.deepEqual(rep, { _id: 555, v: 2 });
        const del = await c.findOneAndDelete({ _id: 555 });
        assert.deepEqual(del, { _id: 555, v: 2 });
        assert.equal(await c.findOne({ _id: 555 }), null);
    });

    await L.check('countDocuments / estimatedDocumentCount / distinct', async () => {
        assert.equal(await c.countDocuments({}), 5);
        assert.equal(await c.countDocuments({ city: 'Oslo' }), 2);
        assert.equal(await c.countDocuments({}, { skip: 1, limit: 2 }), 2);
        assert.equal(await c.estimatedDocumentCount(), 5);
        const cities = await c.distinct('city');
        assert.deepEqual([...cities].sort(), ['Lima', 'Oslo']);
        const tags = await c.distinct('tags');
        assert.deepEqual([...tags].sort(), ['a', 'b'], 'distinct unwinds arrays');
        assert.deepEqual(await c.distinct('name', { age: { $lt: 25 } }), ['eve']);
        assert.equal(await db.collection('never_created').countDocuments({}), 0);
    });

    await L.check('cursor across many batches (1,234 docs, batchSize 7)', async () => {
        const big = db.collection('big');
        const docs = [];
        for (let i = 0; i < 1234; i++) docs.push({ _id: i, n: i, pad: 'x'.repeat(i % 50) });
        const r = await big.insertMany(docs);
        assert.equal(r.insertedCount, 1234);
        const cur = big.find({}, { batchSize: 7, sort: { _id: 1 } });
        let expect = 0;
        for await (const d of cur) {
            assert.equal(d._id, expect);
            expect++;
        }
        assert.equal(expect, 1234);
        const agg = await big.aggregate([{ $match: { n: { $gte: 1000 } } }], { batchSize: 7 }).toArray();
        assert.equal(agg.length, 234);
        const lim = await big.find({}, { batchSize: 7, limit: 20 }).toArray();
        assert.equal(lim.length, 20);
    });

    await L.check('early close kills the cursor (killCursors)', async () => {
        const big = db.collection('big');
        const cur = big.find({}, { batchSize: 7 });
        await cur.next();
        const id = cur.id;
        assert.ok(id && !(id.isZero && id.isZero()), 'cursor stays open after the first batch');
        await cur.close();
        const e = await expectServerError(db.command({ getMore: id, collection: 'big', batchSize: 7 }), 43);
        assert.equal(e.codeName, 'CursorNotFound');
        // An explicit killCursors reply lists what it killed.
        const raw = await db.command({ find: 'big', batchSize: 2 });
        const kid = typeof raw.cursor.id === 'number' ? Long.fromNumber(raw.cursor.id) : raw.cursor.id;
        const k = await db.command({ killCursors: 'big', cursors: [kid] });
        assert.equal(k.cursorsKilled.length, 1);
        assert.equal(String(k.cursorsKilled[0]), String(kid));
        const k2 = await db.command({ killCursors: 'big', cursors: [kid] });
        assert.equal(k2.cursorsNotFound.length, 1);
    });

    await L.check('aggregation: $match $group $sort $project $unwind $lookup $count $limit', async () => {
        const sales = db.collection('sales');
        await sales.insertMany([
            { _id: 1, item: 'apple', qty: 5, price: 2, tags: ['fruit', 'red'], store: 'n' },
            { _id: 2, item: 'apple', qty: 3, price: 2, tags: ['fruit'], store: 's' },
            { _id: 3, item: 'pear', qty: 10, price: 3, tags: ['fruit', 'green'], store: 'n' },
            { _id: 4, item: 'kale', qty: 1, price: 4, tags: ['veg', 'green'], store: 's' },
        ]);
        const stores = db.collection('stores');
        await stores.insertMany([{ _id: 'n', city: 'North' }, { _id: 's', city: 'South' }]);
        const g = await sales.aggregate([
            { $match: { qty: { $gt: 1 } } },
            { $group: { _id: '$item', total: { $sum: '$qty' }, revenue: { $sum: { $multiply: ['$qty', '$price'] } }, n: { $sum: 1 }, avg: { $avg: '$qty' } } },
            { $sort: { total: -1 } },
            { $project: { _id: 0, item: '$_id', total: 1, revenue: 1, n: 1, avg: 1 } },
        ]).toArray();
        assert.deepEqual(g, [
            { total: 10, revenue: 30, n: 1, avg: 10, item: 'pear' },
            { total: 8, revenue: 16, n: 2, avg: 4, item: 'apple' },
        ]);
        const tags = await sales.aggregate([
            { $unwind: '$tags' },
            { $group: { _id: '$tags', c: { $sum: 1 } } },
            { $sort: { c: -1, _id: 1 } },
            { $limit: 2 },
        ]).toArray();
        assert.deepEqual(tags, [{ _id: 'fruit', c: 3 }, { _id: 'green', c: 2 }]);
        const look = await sales.aggregate([
            { $match: { _id: { $in: [1, 4] } } },
            { $lookup: { from: 'stores', localField: 'store', foreignField: '_id', as: 'st' } },
            { $sort: { _id: 1 } },
            { $project: { _id: 1, st: 1 } },
        ]).toArray();
        assert.deepEqual(look, [{ _id: 1, st: [{ _id: 'n', city: 'North' }] }, { _id: 4, st: [{ _id: 's', city: 'South' }] }]);
        const cnt = await sales.aggregate([{ $match: { tags: 'green' } }, { $count: 'greens' }]).toArray();
        assert.deepEqual(cnt, [{ greens: 2 }]);
        const grpAll = await sales.aggregate([{ $group: { _id: null, mx: { $max: '$qty' }, mn: { $min: '$qty' }, items: { $addToSet: '$item' }, first: { $first: '$item' } } }]).toArray();
        assert.equal(grpAll.length, 1);
        assert.equal(grpAll[0].mx, 10);
        assert.equal(grpAll[0].mn, 1);
        assert.deepEqual([...grpAll[0].items].sort(), ['apple', 'kale', 'pear']);
        assert.equal(grpAll[0].first, 'apple');
    });

    await L.check('indexes: create / list / drop', async () => {
        const ix = db.collection('ix');
        await ix.insertMany([{ a: 1, b: 1 }, { a: 2, b: 1 }]);
        const n1 = await ix.createIndex({ a: 1 });
        assert.equal(n1, 'a_1');
        const n2 = await ix.createIndex({ a: 1, b: -1 }, { name: 'ab' });
        assert.equal(n2, 'ab');
        assert.equal(await ix.createIndex({ a: 1 }), 'a_1', 'same index again is no error');
        const list = await ix.listIndexes().toArray();
        assert.deepEqual(list.map(i => i.name), ['_id_', 'a_1', 'ab']);
        assert.deepEqual(list[2].key, { a: 1, b: -1 });
        assert.equal(await ix.indexExists('a_1'), true);
        await ix.dropIndex('a_1');
        assert.deepEqual((await ix.listIndexes().toArray()).map(i => i.name), ['_id_', 'ab']);
        await expectServerError(ix.dropIndex('nope_1'), 27);
        await expectServerError(ix.dropIndex('_id_'), 72);
        await ix.dropIndexes();
        assert.deepEqual((await ix.listIndexes().toArray()).map(i => i.name), ['_id_']);
        await expectServerError(db.collection('no_such_coll').listIndexes().toArray(), 26);
    });

    await L.check('unique index violations: 11000 with keyPattern / keyValue', async () => {
        const u = db.collection('uniq');
        await u.createIndex({ email: 1 }, { unique: true });
        await u.insertOne({ _id: 1, email: 'a@x' });
        let e = await expectServerError(u.insertOne({ _id: 2, email: 'a@x' }), 11000);
        assert.deepEqual(e.keyPattern, { email: 1 });
        assert.deepEqual(e.keyValue, { email: 'a@x' });
        assert.match(e.message, /E11000 duplicate key error/);
        e = await expectServerError(u.insertOne({ _id: 1, email: 'b@x' }), 11000);
        assert.deepEqual(e.keyPattern, { _id: 1 });
        assert.deepEqual(e.keyValue, { _id: 1 });
        await u.insertOne({ _id: 3, email: 'c@x' });
        e = await expectServerError(u.updateOne({ _id: 3 }, { $set: { email: 'a@x' } }), 11000);
        assert.deepEqual(e.keyValue, { email: 'a@x' });
        assert.equal((await u.findOne({ _id: 3 })).email, 'c@x', 'failed update leaves the document');
        await expectServerError(u.updateOne({ email: 'a@x' }, { $set: { _id: 9 } }), 66);
        await expectServerError(db.collection('crud').createIndex({ city: 1 }, { unique: true }), 11000);
    });

    await L.check('bulk write errors: ordered and unordered insertMany, bulkWrite', async () => {
        const b = db.collection('bulk');
        await b.insertOne({ _id: 1 });
        let e = await expectServerError(b.insertMany([{ _id: 0 }, { _id: 1 }, { _id: 2 }]), 11000);
        assert.ok(e instanceof MongoBulkWriteError);
        assert.equal(e.insertedCount, 1, 'ordered stops at the first error');
        assert.equal(e.writeErrors.length, 1);
        assert.equal(e.writeErrors[0].index, 1);
        assert.equal(e.writeErrors[0].code, 11000);
        assert.equal(await b.countDocuments({}), 2);
        e = await expectServerError(b.insertMany([{ _id: 3 }, { _id: 1 }, { _id: 4 }, { _id: 0 }, { _id: 5 }], { ordered: false }), 11000);
        assert.equal(e.insertedCount, 3, 'unordered goes on');
        assert.deepEqual(e.writeErrors.map(w => w.index), [1, 3]);
        assert.equal(await b.countDocuments({}), 5);
        const r = await b.bulkWrite([
            { insertOne: { document: { _id: 10 } } },
            { updateOne: { filter: { _id: 10 }, update: { $set: { x: 1 } } } },
            { updateMany: { filter: {}, update: { $set: { seen: true } } } },
            { deleteOne: { filter: { _id: 0 } } },
            { replaceOne: { filter: { _id: 11 }, replacement: { y: 2 }, upsert: true } },
        ]);
        assert.equal(r.insertedCount, 1);
        assert.equal(r.matchedCount, 7);
        assert.equal(r.deletedCount, 1);
        assert.equal(r.upsertedCount, 1);
        e = await expectServerError(b.bulkWrite([
            { insertOne: { document: { _id: 20 } } },
            { insertOne: { document: { _id: 20 } } },
            { updateOne: { filter: { _id: 20 }, update: { $set: { z: 1 } } } },
        ], { ordered: false }), 11000);
        assert.equal(e.result.insertedCount, 1);
        assert.equal(e.result.modifiedCount, 1);
    });

    await L.check('listDatabases / listCollections / drop / dropDatabase', async () => {
        const dbs = await client.db('admin').admin().listDatabases();
        assert.ok(dbs.databases.some(d => d.name === 'nodesuite'), JSON.stringify(dbs.databases.map(d => d.name)));
        const names = (await db.listCollections().toArray()).map(x => x.name).sort();
        for (const n of ['big', 'bulk', 'crud', 'ix', 'sales', 'stores', 'uniq']) assert.ok(names.includes(n), `${n} in ${names}`);
        const only = await db.listCollections({ name: 'crud' }).toArray();
        assert.equal(only.length, 1);
        assert.equal(only[0].type, 'collection');
        const nameOnly = await db.listCollections({}, { nameOnly: true }).toArray();
        assert.ok(nameOnly.length >= 7);
        await db.createCollection('made');
        await expectServerError(db.createCollection('made'), 48);
        assert.equal(await db.collection('made').drop(), true);
        assert.equal((await db.listCollections({ name: 'made' }).toArray()).length, 0);
        await db.collection('stores').rename('stores2');
        assert.equal(await db.collection('stores2').countDocuments(), 2);
        const other = client.db('nodesuite_tmp');
        await other.collection('t').insertOne({ a: 1 });
        assert.equal(await other.dropDatabase(), true);
        const after = await client.db('admin').admin().listDatabases();
        assert.ok(!after.databases.some(d => d.name === 'nodesuite_tmp'));
    });

    await L.check('error shapes: unknown command 59, bad operators', async () => {
        const e = await expectServerError(db.command({ noSuchCommand: 1 }), 59);
        assert.equal(e.codeName, 'CommandNotFound');
        assert.match(e.message, /no such command/);
        const b = await expectServerError(c.find({ age: { $bogus: 1 } }).toArray(), 2);
        assert.equal(b.codeName, 'BadValue');
        await expectServerError(c.updateOne({ _id: 1 }, { $bogus: { a: 1 } }), 9);
        await expectServerError(c.aggregate([{ $bogusStage: {} }]).toArray(), 40324);
        const ex = await expectServerError(c.aggregate([{ $project: { x: { $bogusExpr: 1 } } }]).toArray(), 168);
        assert.equal(ex.codeName, 'InvalidPipelineOperator');
        const ci = await expectServerError(db.collection('ix2').createIndex({ '': 1 }), 67);
        assert.equal(ci.codeName, 'CannotCreateIndex');
        await expectServerError(c.updateOne({ _id: 1 }, { $set: { a: 1 }, $inc: { a: 1 } }), 40);
        await expectServerError(c.updateOne({ _id: 1 }, { $inc: { name: 1 } }), 14);
        // The connection is still good after errors.
        assert.equal((await c.findOne({ _id: 1 })).name, 'bob');
    });

    await L.check('semantics: dotted paths through arrays', async () => {
        const s = db.collection('sem_paths');
        await s.insertMany([
            { _id: 1, a: [{ b: 1 }, { b: 2 }] },
            { _id: 2, a: { b: 2 } },
            { _id: 3, a: [{ b: [3, 4] }] },
            { _id: 4, a: [[{ b: 2 }]] },
            { _id: 5, a: [10, 20] },
        ]);
        const ids = async (f) => (await s.find(f, { sort: { _id: 1 } }).toArray()).map(d => d._id);
        assert.deepEqual(await ids({ 'a.b': 2 }), [1, 2], 'arrays of arrays are not traversed by a.b');
        assert.deepEqual(await ids({ 'a.b': 4 }), [3]);
        assert.deepEqual(await ids({ 'a.1': 20 }), [5]);
        assert.deepEqual(await ids({ 'a.0.b': 1 }), [1]);
        assert.deepEqual(await ids({ a: 10 }), [5]);
        assert.deepEqual(await ids({ a: [10, 20] }), [5]);
        assert.deepEqual(await ids({ a: { $size: 2 } }), [1, 5]);
        assert.deepEqual(await ids({ a: { $all: [10, 20] } }), [5]);
    });

    await L.check('semantics: null vs missing, $exists, $type', async () => {
        const s = db.collection('sem_null');
        await s.insertMany([{ _id: 1, x: null }, { _id: 2 }, { _id: 3, x: 1 }, { _id: 4, x: [null, 2] }]);
        const ids = async (f) => (await s.find(f, { sort: { _id: 1 } }).toArray()).map(d => d._id);
        assert.deepEqual(await ids({ x: null }), [1, 2, 4]);
        assert.deepEqual(await ids({ x: { $ne: null } }), [3]);
        assert.deepEqual(await ids({ x: { $exists: false } }), [2]);
        assert.deepEqual(await ids({ x: { $exists: true } }), [1, 3, 4]);
        assert.deepEqual(await ids({ x: { $type: 'null' } }), [1, 4]);
        assert.deepEqual(await ids({ x: { $type: 'number' } }), [3, 4]);
        assert.deepEqual(await ids({ x: { $in: [null] } }), [1, 2, 4]);
    });

    await L.check('semantics: type bracketing and mixed-type sort', async () => {
        const s = db.collection('sem_types');
        await s.insertMany([
            { _id: 1, v: 5 }, { _id: 2, v: 'abc' }, { _id: 3, v: null }, { _id: 4, v: true },
            { _id: 5, v: { k: 1 } }, { _id: 6, v: 2.5 }, { _id: 7 }, { _id: 8, v: Long.fromNumber(3) },
        ]);
        const ids = async (f, o) => (await s.find(f, o || { sort: { _id: 1 } }).toArray()).map(d => d._id);
        assert.deepEqual(await ids({ v: { $gt: 1 } }), [1, 6, 8], 'numbers compare only with numbers');
        assert.deepEqual(await ids({ v: { $gte: '' } }), [2]);
        assert.deepEqual(await ids({ v: { $lt: true } }), []);
        assert.deepEqual(await ids({ v: 3 }), [8], 'int64 equals double 3');
        const order = await ids({}, { sort: { v: 1, _id: 1 } });
        assert.deepEqual(order, [3, 7, 6, 8, 1, 2, 5, 4], 'null/missing < numbers < strings < objects < booleans');
        const desc = await ids({}, { sort: { v: -1, _id: 1 } });
        assert.deepEqual(desc, [4, 5, 2, 1, 8, 6, 3, 7]);
    });

    await L.check('semantics: $elemMatch (query and projection)', async () => {
        const s = db.collection('sem_elem');
        await s.insertMany([
            { _id: 1, r: [82, 85, 88] },
            { _id: 2, r: [75, 88, 89] },
            { _id: 3, items: [{ p: 'a', q: 1 }, { p: 'b', q: 5 }] },
            { _id: 4, items: [{ p: 'a', q: 5 }, { p: 'b', q: 1 }] },
        ]);
        const ids = async (f) => (await s.find(f, { sort: { _id: 1 } }).toArray()).map(d => d._id);
        assert.deepEqual(await ids({ r: { $elemMatch: { $gte: 80, $lt: 85 } } }), [1]);
        assert.deepEqual(await ids({ r: { $gte: 80, $lt: 85 } }), [1, 2], 'without $elemMatch any element may satisfy each');
        assert.deepEqual(await ids({ items: { $elemMatch: { p: 'a', q: 5 } } }), [4]);
        assert.deepEqual(await ids({ 'items.p': 'a', 'items.q': 5 }), [3, 4]);
        const pj = await s.findOne({ _id: 3 }, { projection: { items: { $elemMatch: { q: { $gt: 2 } } } } });
        assert.deepEqual(pj, { _id: 3, items: [{ p: 'b', q: 5 }] });
        const sl = await s.findOne({ _id: 1 }, { projection: { r: { $slice: -2 } } });
        assert.deepEqual(sl, { _id: 1, r: [85, 88] });
    });

    await L.check('semantics: $push $each/$slice/$sort, $addToSet, $pull, $pop', async () => {
        const s = db.collection('sem_push');
        await s.insertOne({ _id: 1, a: [5, 1], set: ['x'] });
        await s.updateOne({ _id: 1 }, { $push: { a: { $each: [9, 3, 7], $sort: 1, $slice: 4 } } });
        assert.deepEqual((await s.findOne({ _id: 1 })).a, [1, 3, 5, 7]);
        await s.updateOne({ _id: 1 }, { $push: { a: { $each: [0], $position: 0 } } });
        assert.deepEqual((await s.findOne({ _id: 1 })).a, [0, 1, 3, 5, 7]);
        await s.updateOne({ _id: 1 }, { $push: { a: { $each: [], $slice: -2 } } });
        assert.deepEqual((await s.findOne({ _id: 1 })).a, [5, 7]);
        await s.updateOne({ _id: 1 }, { $push: { docs: { $each: [{ k: 2 }, { k: 1 }, { k: 3 }], $sort: { k: -1 } } } });
        assert.deepEqual((await s.findOne({ _id: 1 })).docs, [{ k: 3 }, { k: 2 }, { k: 1 }]);
        let r = await s.updateOne({ _id: 1 }, { $addToSet: { set: 'x' } });
        assert.equal(r.modifiedCount, 0);
        await s.updateOne({ _id: 1 }, { $addToSet: { set: { $each: ['y', 'x', 'z', 'y'] } } });
        assert.deepEqual((await s.findOne({ _id: 1 })).set, ['x', 'y', 'z']);
        await s.updateOne({ _id: 1 }, { $pull: { set: 'y' }, $pop: { a: -1 } });
        const d = await s.findOne({ _id: 1 });
        assert.deepEqual(d.set, ['x', 'z']);
        assert.deepEqual(d.a, [7]);
        await s.updateOne({ _id: 1 }, { $unset: { docs: '' }, $rename: { set: 'tags' }, $mul: { m: 2 }, $max: { hi: 10 }, $min: { lo: -1 } });
        assert.deepEqual(await s.findOne({ _id: 1 }), { _id: 1, a: [7], tags: ['x', 'z'], m: 0, hi: 10, lo: -1 });
    });

    await L.check('semantics: positional $ and $[]', async () => {
        const s = db.collection('sem_pos');
        await s.insertMany([
            { _id: 1, grades: [80, 85, 80] },
            { _id: 2, kids: [{ n: 'a', g: 1 }, { n: 'b', g: 2 }] },
        ]);
        await s.updateOne({ _id: 1, grades: 80 }, { $set: { 'grades.$': 82 } });
        assert.deepEqual((await s.findOne({ _id: 1 })).grades, [82, 85, 80], '$ is the first match');
        await s.updateOne({ _id: 2, 'kids.n': 'b' }, { $inc: { 'kids.$.g': 10 } });
        assert.deepEqual((await s.findOne({ _id: 2 })).kids, [{ n: 'a', g: 1 }, { n: 'b', g: 12 }]);
        await s.updateOne({ _id: 1 }, { $inc: { 'grades.$[]': 1 } });
        assert.deepEqual((await s.findOne({ _id: 1 })).grades, [83, 86, 81]);
        await expectServerError(s.updateOne({ _id: 1 }, { $set: { 'grades.$': 0 } }), 2);
    });

    await L.check('BSON types round-trip; 15 MB document; driver-split batches', async () => {
        const { ObjectId, Binary, Decimal128, Timestamp, MinKey, MaxKey, Double, Int32, BSONRegExp, UUID } = require('mongodb');
        const t = db.collection('types');
        const doc = {
            _id: new ObjectId(), i: new Int32(7), l: Long.fromString('9007199254740993'), d: new Double(2.5),
            dec: Decimal128.fromString('1.10'), s: 'ünïcödé ✓', b: true, n: null, dt: new Date(1700000000123),
            bin: new Binary(Buffer.from([0, 1, 2, 255]), 0), uuid: new UUID('0123456789abcdef0123456789abcdef'),
            re: new BSONRegExp('^a.c$', 'im'), ts: new Timestamp({ t: 5, i: 9 }), mn: new MinKey(), mx: new MaxKey(),
            arr: [1, [2, [3]], { x: [] }], obj: { deep: { deeper: { deepest: 'y' } } }, empty: {},
        };
        await t.insertOne(doc);
        const back = await t.findOne({ _id: doc._id }, { promoteLongs: false, promoteValues: false });
        const { BSON } = require('mongodb');
        assert.deepEqual(Buffer.from(BSON.serialize(back)).toString('hex'), Buffer.from(BSON.serialize(doc)).toString('hex'),
            'the stored document comes back byte for byte');
        assert.equal((await t.findOne({ l: Long.fromString('9007199254740993') }, { projection: { _id: 1 } }))._id.toString(), doc._id.toString(),
            'int64 beyond 2^53 matched exactly');
        assert.equal(await t.countDocuments({ l: Long.fromString('9007199254740992') }), 0);
        const huge = { _id: 'huge', blob: 'z'.repeat(15 * 1024 * 1024) };
        await t.insertOne(huge);
        const hb = await t.findOne({ _id: 'huge' });
        assert.equal(hb.blob.length, huge.blob.length);
        let tooBig = null;
        try {
            await t.insertOne({ _id: 'toobig', blob: 'z'.repeat(16 * 1024 * 1024) });
        } catch (e) {
            tooBig = e;
        }
        // The driver may refuse a document over maxBsonObjectSize itself; either way a clear error.
        assert.ok(tooBig && (tooBig.code === 10334 || /too large|exceeds|BSONObjectTooLarge/i.test(tooBig.message)),
            `over 16 MiB: ${tooBig && tooBig.message}`);
        assert.equal(await t.countDocuments({ _id: 'toobig' }), 0);
        const many = [];
        for (let k = 0; k < 12000; k++) many.push({ k, pad: 'p'.repeat(4500) });
        const r = await db.collection('split').insertMany(many);
        assert.equal(r.insertedCount, 12000, '54 MB of inserts, split by the driver into several messages');
        assert.equal(await db.collection('split').countDocuments({ k: { $gte: 11990 } }), 10);
    });

    await L.check('a pool of connections: 64 concurrent operations, compressors offered', async () => {
        const pooled = new MongoClient(uri + '&compressors=zstd,zlib,snappy', { maxPoolSize: 20 });
        try {
            const big = pooled.db('nodesuite').collection('big');
            const jobs = [];
            for (let j = 0; j < 64; j++) {
                jobs.push(j % 2 ? big.findOne({ _id: j }) : big.find({ n: { $lt: 50 } }, { batchSize: 7 }).toArray());
            }
            const res = await Promise.all(jobs);
            for (let j = 0; j < 64; j++) {
                if (j % 2) assert.equal(res[j]._id, j);
                else assert.equal(res[j].length, 50);
            }
            const st = await pooled.db('admin').command({ serverStatus: 1 });
            assert.ok(st.connections.current >= 2, 'several pooled connections: ' + JSON.stringify(st.connections));
        } finally {
            await pooled.close();
        }
    });

    await L.check('server survives and reports connections', async () => {
        const st = await client.db('admin').command({ serverStatus: 1 });
        assert.ok(st.connections.current >= 1, JSON.stringify(st.connections));
        const ls = await client.db('admin').command({ listDatabases: 1, nameOnly: true });
        assert.ok(ls.databases.length >= 1);
    });

    await client.close();
    await L.stopAndCheck(srv);
}

L.run(main, DEADLINE_MS);
