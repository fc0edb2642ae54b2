// The docstore's query features judged by an ODM: mongoose 8 (its own
// bundled Node driver) against `tether db`. populate, $lookup with let and
// pipeline (correlated, nested, and localField/foreignField with a pipeline),
// a collation query (case-insensitive find and sort, strength 2), and
// explain() showing IXSCAN with the index name when an index exists and
// COLLSCAN otherwise; the Node driver's explain('executionStats') and
// aggregate explain too. Every check runs; any failure fails.
'use strict';
const path = require('path');
const fs = require('fs');
const assert = require('assert/strict');
const mongoose = require('mongoose');

const L = require('./docstore_lib');
const DEADLINE_MS = 480000;

// The first stage of a winning plan with the given name, searching inputStage(s).
function findStage(plan, name) {
    if (!plan || typeof plan !== 'object') return null;
    if (plan.stage === name) return plan;
    for (const k of ['inputStage', 'queryPlan']) {
        const r = findStage(plan[k], name);
        if (r) return r;
    }
    for (const s of plan.inputStages || []) {
        const r = findStage(s, name);
        if (r) return r;
    }
    return null;
}

function winningPlan(explain) {
    if (explain.queryPlanner) return explain.queryPlanner.winningPlan;
    if (explain.stages && explain.stages[0].$cursor) return explain.stages[0].$cursor.queryPlanner.winningPlan;
    throw new Error('no queryPlanner in ' + JSON.stringify(explain).slice(0, 500));
}

async function main() {
    const dir = path.join(L.TMP, 'mongoose-query-db');
    fs.mkdirSync(dir, { recursive: true });
    const srv = await L.startServer(['--dir', dir]);
    const uri = `mongodb://127.0.0.1:${srv.port}/odmquery?directConnection=true&serverSelectionTimeoutMS=5000`;
    await mongoose.connect(uri, { autoIndex: false });

    const Author = mongoose.model('Author', new mongoose.Schema({ name: String }));
    const bookSchema = new mongoose.Schema({
        title: String,
        author: { type: mongoose.Schema.Types.ObjectId, ref: 'Author' },
        price: Number,
    });
    const Book = mongoose.model('Book', bookSchema);
    const Review = mongoose.model('Review', new mongoose.Schema({
        book: mongoose.Schema.Types.ObjectId, stars: Number,
    }));
    const Person = mongoose.model('Person', new mongoose.Schema({ name: String, n: Number }));

    let ann, bo, books;
    await L.check('populate a reference', async () => {
        [ann, bo] = await Author.create([{ name: 'Ann' }, { name: 'Bo' }]);
        books = await Book.create([
            { title: 'Alpha', author: ann._id, price: 10 },
            { title: 'Beta', author: ann._id, price: 20 },
            { title: 'Gamma', author: bo._id, price: 30 },
        ]);
        await Review.create([
            { book: books[0]._id, stars: 5 }, { book: books[0]._id, stars: 3 },
            { book: books[1]._id, stars: 2 }, { book: books[2]._id, stars: 4 },
        ]);
        const got = await Book.find().sort({ title: 1 }).populate('author').lean();
        assert.deepEqual(got.map(b => [b.title, b.author.name]), [['Alpha', 'Ann'], ['Beta', 'Ann'], ['Gamma', 'Bo']]);
    });

    await L.check('$lookup with let and a correlated, nested pipeline', async () => {
        const got = await Author.aggregate([
            { $lookup: {
                from: 'books', let: { aid: '$_id' }, as: 'books',
                pipeline: [
                    { $match: { $expr: { $eq: ['$author', '$$aid'] } } },
                    { $lookup: {
                        from: 'reviews', let: { bid: '$_id' }, as: 'rating',
                        pipeline: [
                            { $match: { $expr: { $eq: ['$book', '$$bid'] } } },
                            { $group: { _id: null, avg: { $avg: '$stars' } } },
                        ] } },
                    { $project: { _id: 0, title: 1, rating: { $first: '$rating.avg' }, aid: '$$aid' } },
                    { $sort: { title: 1 } },
                ] } },
            { $sort: { name: 1 } },
            { $project: { _id: 0, name: 1, books: 1 } },
        ]);
        assert.deepEqual(JSON.parse(JSON.stringify(got)), JSON.parse(JSON.stringify([
            { name: 'Ann', books: [{ title: 'Alpha', rating: 4, aid: ann._id }, { title: 'Beta', rating: 2, aid: ann._id }] },
            { name: 'Bo', books: [{ title: 'Gamma', rating: 4, aid: bo._id }] },
        ])));
    });

    await L.check('$lookup with localField/foreignField and a pipeline', async () => {
        const got = await Book.aggregate([
            { $sort: { title: 1 } },
            { $lookup: { from: 'reviews', localField: '_id', foreignField: 'book', as: 'good',
                pipeline: [{ $match: { stars: { $gte: 4 } } }, { $project: { _id: 0, stars: 1 } }] } },
            { $project: { _id: 0, title: 1, good: 1 } },
        ]);
        assert.deepEqual(got, [
            { title: 'Alpha', good: [{ stars: 5 }] },
            { title: 'Beta', good: [] },
            { title: 'Gamma', good: [{ stars: 4 }] },
        ]);
    });

    await L.check('collation: case-insensitive find, count and sort (strength 2)', async () => {
        await Person.create([{ name: 'bob', n: 1 }, { name: 'Alice', n: 2 }, { name: 'alice', n: 3 },
            { name: 'ALICE', n: 4 }, { name: 'Carl', n: 5 }]);
        const ci = { locale: 'en', strength: 2 };
        const found = await Person.find({ name: 'alice' }).collation(ci).sort({ n: 1 }).lean();
        assert.deepEqual(found.map(p => p.n), [2, 3, 4]);
        assert.equal(await Person.countDocuments({ name: 'ALICE' }).collation(ci), 3);
        const binary = await Person.find({ name: 'alice' }).lean();
        assert.deepEqual(binary.map(p => p.n), [3]);
        const sorted = await Person.find().collation(ci).sort({ name: 1, n: 1 }).lean();
        assert.deepEqual(sorted.map(p => p.name), ['Alice', 'alice', 'ALICE', 'bob', 'Carl']);
        const bytes = await Person.find().sort({ name: 1 }).lean();
        assert.deepEqual(bytes.map(p => p.name), ['ALICE', 'Alice', 'Carl', 'alice', 'bob']);
    });

    await L.check('explain(): COLLSCAN without an index, IXSCAN with its name once indexed', async () => {
        const before = await Book.find({ title: 'Beta' }).explain('queryPlanner');
        const plan0 = winningPlan(Array.isArray(before) ? before[0] : before);
        assert.ok(findStage(plan0, 'COLLSCAN'), JSON.stringify(plan0));
        assert.equal(findStage(plan0, 'IXSCAN'), null);
        await Book.collection.createIndex({ title: 1 });
        const after = await Book.find({ title: 'Beta' }).explain('queryPlanner');
        const plan1 = winningPlan(Array.isArray(after) ? after[0] : after);
        const ix = findStage(plan1, 'IXSCAN');
        assert.ok(ix, JSON.stringify(plan1));
        assert.equal(ix.indexName, 'title_1');
        assert.deepEqual(ix.keyPattern, { title: 1 });
        assert.deepEqual(ix.indexBounds, { title: ['["Beta", "Beta"]'] });
        assert.deepEqual((Array.isArray(after) ? after[0] : after).queryPlanner.rejectedPlans, []);
    });

    await L.check('explain executionStats through the Node driver: keys and documents examined', async () => {
        const coll = Book.collection;
        const ex = await coll.find({ title: 'Gamma' }).explain('executionStats');
        assert.equal(ex.executionStats.nReturned, 1);
        assert.equal(ex.executionStats.totalDocsExamined, 1);
        assert.equal(ex.executionStats.totalKeysExamined, 1);
        assert.equal(typeof ex.executionStats.executionTimeMillis, 'number');
        const scan = await coll.find({ price: { $gt: 15 } }).explain('executionStats');
        assert.equal(scan.executionStats.nReturned, 2);
        assert.equal(scan.executionStats.totalDocsExamined, 3);
        assert.equal(scan.executionStats.totalKeysExamined, 0);
        assert.ok(findStage(scan.executionStats.executionStages, 'COLLSCAN'));
        const sorted = await coll.find({}).sort({ price: -1 }).limit(2).explain('queryPlanner');
        assert.ok(findStage(sorted.queryPlanner.winningPlan, 'SORT'), JSON.stringify(sorted.queryPlanner.winningPlan));
    });

    await L.check('aggregate explain shows the $match index and the stages after it', async () => {
        const ex = await Book.aggregate([{ $match: { title: 'Alpha' } }, { $group: { _id: '$author' } }]).explain();
        const plan = winningPlan(ex);
        assert.equal(findStage(plan, 'IXSCAN').indexName, 'title_1');
        assert.ok(ex.stages.some(s => s.$group), JSON.stringify(ex.stages));
        const count = await Book.collection.countDocuments({ title: 'Alpha' });
        assert.equal(count, 1);
    });

    await L.check('explain of a delete does not delete', async () => {
        const ex = await mongoose.connection.db.command({
            explain: { delete: 'books', deletes: [{ q: { title: 'Alpha' }, limit: 0 }] }, verbosity: 'executionStats' });
        assert.ok(findStage(ex.queryPlanner.winningPlan, 'DELETE'));
        assert.equal(ex.executionStats.nReturned, 1);
        assert.equal(await Book.countDocuments({ title: 'Alpha' }), 1);
    });

    await mongoose.disconnect();
    await L.stopAndCheck(srv);
}

L.run(main, DEADLINE_MS);
