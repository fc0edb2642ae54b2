// An ODM application (mongoose 8, pinned in tests/package.json) against
// `tether db --ttl-monitor-seconds 1`, through mongoose's automatic index
// build: a `unique: true, sparse: true` field refuses duplicates and allows
// any number of documents without it; an `expires` (TTL) field's documents
// disappear once expired; Decimal128 money adds up exactly in an aggregation
// ($sum, $avg, $multiply) and through $inc.
'use strict';
const { spawn } = require('child_process');
const assert = require('assert/strict');
const mongoose = require('mongoose');

const BIN = process.env.TETHER_BIN;
const DEADLINE_MS = 300000;

function startServer() {
    return new Promise((resolve, reject) => {
        const proc = spawn(BIN, ['db', '--port', '0', '--ttl-monitor-seconds', '1'],
            { stdio: ['ignore', 'pipe', 'pipe'] });
        let log = '';
        let done = false;
        const timer = setTimeout(() => {
            if (!done) { done = true; proc.kill('SIGKILL'); reject(new Error('no listening line:\n' + log)); }
        }, 20000);
        const onData = (chunk) => {
            log += chunk.toString();
            const m = /docstore listening on 127\.0\.0\.1:(\d+)/.exec(log);
            if (m && !done) { done = true; clearTimeout(timer); resolve({ proc, port: Number(m[1]), log: () => log }); }
        };
        proc.stdout.on('data', onData);
        proc.stderr.on('data', onData);
        proc.on('exit', (code, sig) => {
            if (!done) { done = true; clearTimeout(timer); reject(new Error(`server exited (${code} ${sig}):\n${log}`)); }
        });
    });
}

function stopServer(srv) {
    return new Promise((resolve) => {
        if (srv.proc.exitCode !== null || srv.proc.signalCode !== null) {
            resolve({ early: true });
            return;
        }
        const t = setTimeout(() => srv.proc.kill('SIGKILL'), 10000);
        srv.proc.on('exit', () => { clearTimeout(t); resolve({ early: false }); });
        srv.proc.kill('SIGTERM');
    });
}

const results = [];
async function check(name, fn) {
    try {
        await fn();
        results.push([name, null]);
        console.log(`ok   ${name}`);
    } catch (e) {
        results.push([name, e]);
        console.log(`FAIL ${name}: ${e && e.stack ? e.stack.split('\n').slice(0, 20).join('\n     ') : e}`);
    }
}

async function waitFor(cond, what, ms = 60000) {
    const end = Date.now() + ms;
    while (Date.now() < end) {
        if (await cond()) return;
        await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error('timed out waiting for ' + what);
}

const D = (s) => mongoose.Types.Decimal128.fromString(s);

async function main() {
    const srv = await startServer();
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

    await check('automatic index build: unique sparse and TTL indexes exist', async () => {
        await User.init();
        await Token.init();
        const ui = await User.collection.indexes();
        const email = ui.find((i) => i.key.email === 1);
        assert.ok(email && email.unique === true && email.sparse === true, JSON.stringify(ui));
        const ti = await Token.collection.indexes();
        const ttl = ti.find((i) => i.key.createdAt === 1);
        assert.ok(ttl && ttl.expireAfterSeconds === 2, JSON.stringify(ti));
    });

    await check('unique sparse: duplicates refused, documents without the field allowed', async () => {
        await User.create({ name: 'a', email: 'a@example.com' });
        await User.create({ name: 'no email 1' });
        await User.create({ name: 'no email 2' });
        await assert.rejects(User.create({ name: 'b', email: 'a@example.com' }),
            (e) => e.code === 11000);
        assert.equal(await User.countDocuments({}), 3);
        assert.equal((await User.findOne({ email: 'a@example.com' })).name, 'a');
        assert.equal(await User.countDocuments({ email: { $exists: false } }), 2);
    });

    await check('expires: expired tokens disappear, fresh ones stay', async () => {
        await Token.create({ value: 'old', createdAt: new Date(Date.now() - 60000) });
        await Token.create({ value: 'fresh', createdAt: new Date(Date.now() + 3600000) });
        await Token.create({ value: 'no date' });
        await waitFor(async () => (await Token.countDocuments({ value: 'old' })) === 0,
            'the expired token to be deleted');
        assert.deepEqual((await Token.find({}).sort({ value: 1 })).map((t) => t.value), ['fresh', 'no date']);
    });

    await check('Decimal128 money totals in an aggregation are exact', async () => {
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
    const exit = await stopServer(srv);
    await check('server ran to the end, no sanitizer report', async () => {
        assert.equal(exit.early, false);
        assert.equal(/(AddressSanitizer|LeakSanitizer|runtime error:)/.exec(srv.log()), null, srv.log().slice(-3000));
    });
}

const deadline = setTimeout(() => { console.log('FAIL: did not finish in time'); process.exit(1); }, DEADLINE_MS);
main().then(() => {
    clearTimeout(deadline);
    const failed = results.filter((r) => r[1]);
    console.log(`${results.length - failed.length}/${results.length} checks passed`);
    process.exit(failed.length ? 1 : 0);
}, (e) => {
    clearTimeout(deadline);
    console.log('FAIL: ' + (e && e.stack || e));
    process.exit(1);
});
