// An ODM application (mongoose 8, pinned in tests/package.json) against
// `tether db --ttl-monitor-seconds 1`, through mongoose's automatic index
// build: a `unique: true, sparse: true` field refuses duplicates and allows
// any number of documents without it; an `expires` (TTL) field's documents
// disappear once expired; Decimal128 money adds up exactly in an aggregation
// ($sum, $avg, $multiply) and through $inc.
'use strict';
const assert = require('assert/strict');
const mongoose = require('mongoose');

const L = require('./docstore_lib');
const DEADLINE_MS = 300000;

const D = (s) => mongoose.Types.Decimal128.fromString(s);

async function main() {
    const srv = await L.startServer(['--ttl-monitor-seconds', '1']);
    await mongoose.connect(`mongodb://127.0.0.1:${srv.port}/shop?directConnection=true`);

    const User = mongoose.model('User', new mongoose.Schema({
        name: String,
        email: { type: String, unique: true, sparse: true },
    }));
    const Token = mongoose.model('Token', new mongoose.Schema({
        value: String,
        createdAt: { type: Date, expires: 2 }, // expireAfterSeconds: 2
    }));
    const Order = mongoose.model('Order', new mongoose.Schema({
        customer: String,
        total: mongoose.Schema.Types.Decimal128,
        qty: Number,
    }));

    await L.check('automatic index build: unique sparse and TTL indexes exist', async () => {
        await User.init();
        await Token.init();
        const ui = await User.collection.indexes();
        const email = ui.find((i) => i.key.email === 1);
        assert.ok(email && email.unique === true && email.sparse === true, JSON.stringify(ui));
        const ti = await Token.collection.indexes();
        const ttl = ti.find((i) => i.key.createdAt === 1);
        assert.ok(ttl && ttl.expireAfterSeconds === 2, JSON.stringify(ti));
    });

    await L.check('unique sparse: duplicates refused, documents without the field allowed', async () => {
        await User.create({ name: 'a', email: 'a@example.com' });
        await User.create({ name: 'no email 1' });
        await User.create({ name: 'no email 2' });
        await assert.rejects(User.create({ name: 'b', email: 'a@example.com' }),
            (e) => e.code === 11000);
        assert.equal(await User.countDocuments({}), 3);
        assert.equal((await User.findOne({ email: 'a@example.com' })).name, 'a');
        assert.equal(await User.countDocuments({ email: { $exists: false } }), 2);
    });

    await L.check('expires: expired tokens disappear, fresh ones stay', async () => {
        await Token.create({ value: 'old', createdAt: new Date(Date.now() - 60000) });
        await Token.create({ value: 'fresh', createdAt: new Date(Date.now() + 3600000) });
        await Token.create({ value: 'no date' });
        await L.waitUntil(async () => (await Token.countDocuments({ value: 'old' })) === 0,
            'the expired token to be deleted');
        assert.deepEqual((await Token.find({}).sort({ value: 1 })).map((t) => t.value), ['fresh', 'no date']);
    });

    await L.check('Decimal128 money totals in an aggregation are exact', async () => {
        const amounts = ['0.10', '0.20', '19.99', '0.01', '1000000000000000.05', '-0.35'];
        await Order.insertMany(amounts.map((t, i) => ({ customer: i % 2 ? 'x' : 'y', total: D(t), qty: i + 1 })));
        const [all] = await Order.aggregate([{ $group: {
            _id: null, sum: { $sum: '$total' }, avg: { $avg: '$total' }, n: { $sum: 1 } } }]);
        assert.equal(all.sum.toString(), '1000000000000020.00');
        assert.equal(all.avg.toString(), '166666666666670.00');
        const per = await Order.aggregate([
            { $group: { _id: '$customer', sum: { $sum: '$total' } } }, { $sort: { _id: 1 } }]);
        assert.deepEqual(per.map((p) => [p._id, p.sum.toString()]),
            [['x', '-0.14'], ['y', '1000000000000020.14']]);
        const lines = await Order.aggregate([
            { $project: { line: { $multiply: ['$total', '$qty'] } } }, { $sort: { line: 1 } }]);
        assert.deepEqual(lines.map((l) => l.line.toString()),
            ['-2.10', '0.10', '0.40', '0.04', '59.97', '5000000000000000.25'].sort((a, b) => Number(a) - Number(b)));
        const o = await Order.findOne({ customer: 'y', qty: 1 });
        await Order.updateOne({ _id: o._id }, { $inc: { total: D('0.20') } });
        assert.equal((await Order.findById(o._id)).total.toString(), '0.30');
    });

    await mongoose.disconnect();
    await L.stopAndCheck(srv);
}

L.run(main, DEADLINE_MS);
