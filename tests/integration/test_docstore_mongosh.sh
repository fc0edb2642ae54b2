#!/usr/bin/env bash
# The docstore judged by mongosh 2.x, scripted: one --file script runs the
# checks (CRUD, cursors over many batches, aggregation, indexes, duplicate
# keys, listings, error shapes, query/update semantics) and prints one line
# per check; a few --eval one-liners check what mongosh prints. Starts its own
# `tether db --port 0`, waits for its "listening" line, stops it at the end.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

tmp=${TETHER_TEST_TMP:?}
export HOME=$tmp/home # mongosh keeps logs and history under $HOME
mkdir -p "$HOME" "$tmp/db"
log=$tmp/docstore.log
: >"$log"
"$TETHER_BIN" db --port 0 --dir "$tmp/db" >"$log" 2>&1 &
srv=$!
stop() { kill -TERM "$srv" 2>/dev/null; wait "$srv" 2>/dev/null; }
trap stop EXIT
listening() { grep -Eo 'docstore listening on 127\.0\.0\.1:[0-9]+' "$log"; }
wait_for 20 listening || { cat "$log"; fail "docstore did not report listening"; }
port=$(listening | head -1 | sed 's/.*://')
uri="mongodb://127.0.0.1:$port/shsuite?directConnection=true&serverSelectionTimeoutMS=5000"
sh() { timeout 240 mongosh --quiet --norc "$uri" "$@"; }

failures=0
expect_eq() { # NAME EXPECTED ACTUAL
    if [ "$2" = "$3" ]; then echo "ok   $1"; else echo "FAIL $1: expected [$2], got [$3]"; failures=$((failures + 1)); fi
}

# --eval one-liners: what the shell prints.
expect_eq "eval ping" "1" "$(sh --eval 'db.runCommand({ping: 1}).ok')"
expect_eq "eval insert and count" "3" "$(sh --eval 'db.ev.insertMany([{a: 1}, {a: 2}, {a: 3}]); db.ev.countDocuments()')"
expect_eq "eval findOne field" "2" "$(sh --eval 'db.ev.findOne({a: {$gt: 1}}, {_id: 0, a: 1}, {sort: {a: 1}}).a' 2>&1)"
expect_eq "eval EJSON output" '{"a":3}' "$(sh --eval 'EJSON.stringify(db.ev.find({}, {_id: 0}).sort({a: -1}).limit(1).toArray()[0])')"
expect_eq "eval db.currentOp() (admin aggregate with \$currentOp)" "true" \
    "$(sh --eval 'print(db.currentOp(true).inprog.some(o => JSON.stringify(o).includes("mongosh")))')"
expect_eq "eval unknown command error" "59 CommandNotFound" \
    "$(sh --eval 'try { db.runCommand({noSuchCommand: 1}); print("no error") } catch (e) { print(e.code + " " + e.codeName) }')"

script=$tmp/suite.js
cat >"$script" <<'EOF'
let pass = 0, failed = 0;
function check(name, fn) {
    try { fn(); pass++; print('ok   ' + name); }
    catch (e) { failed++; print('FAIL ' + name + ': ' + (e && e.message) + (e && e.code ? ' (code ' + e.code + ')' : '')); }
}
function eq(a, b, what) {
    const x = EJSON.stringify(a), y = EJSON.stringify(b);
    if (x !== y) throw new Error((what || 'mismatch') + ': got ' + x + ' expected ' + y);
}
function serverError(code, fn) {
    try { fn(); } catch (e) {
        if (e.code !== code) throw new Error('expected code ' + code + ', got ' + e.code + ' ' + e.message);
        return e;
    }
    throw new Error('expected server error ' + code + ', got success');
}
const t = db.getSiblingDB('shsuite');

check('hello', () => {
    const h = t.hello();
    eq(h.isWritablePrimary, true, 'isWritablePrimary');
    eq(h.maxBsonObjectSize, 16777216);
    eq(typeof db.version(), 'string');
});

check('insertOne / insertMany / find with projection sort skip limit', () => {
    const r = t.people.insertOne({ name: 'ann', age: 31 });
    eq(r.acknowledged, true);
    t.people.insertMany([
        { _id: 1, name: 'bob', age: 25, city: 'Oslo' }, { _id: 2, name: 'cy', age: 40, city: 'Rome' },
        { _id: 3, name: 'dee', age: 35, city: 'Oslo' }, { _id: 4, name: 'eve', age: 22, city: 'Lima' },
    ]);
    eq(t.people.find({ age: { $gte: 25 } }, { _id: 0, name: 1 }).sort({ age: -1 }).toArray(),
       [{ name: 'cy' }, { name: 'dee' }, { name: 'ann' }, { name: 'bob' }]);
    eq(t.people.find({}, { _id: 0, age: 1 }).sort({ age: 1 }).skip(1).limit(2).toArray(), [{ age: 25 }, { age: 31 }]);
    eq(t.people.find({ city: 'Oslo' }).count(), 2);
});

check('updateOne / updateMany / replaceOne / upsert / deletes', () => {
    eq(t.people.updateOne({ _id: 1 }, { $inc: { age: 1 } }).modifiedCount, 1);
    eq(t.people.updateMany({ city: 'Oslo' }, { $set: { c: 'NO' } }).matchedCount, 2);
    eq(t.people.replaceOne({ _id: 2 }, { name: 'cy' }).modifiedCount, 1);
    eq(t.people.findOne({ _id: 2 }), { _id: 2, name: 'cy' });
    const up = t.people.updateOne({ _id: 9 }, { $set: { n: 1 } }, { upsert: true });
    eq([up.upsertedCount, up.insertedId], [1, 9]); // mongosh names the upserted _id insertedId
    eq(t.people.deleteOne({ _id: 9 }).deletedCount, 1);
    eq(t.people.deleteMany({ city: 'Oslo' }).deletedCount, 2);
    eq(t.people.countDocuments(), 3);
    eq(t.people.estimatedDocumentCount(), 3);
});

check('findOneAndUpdate / findOneAndDelete / distinct', () => {
    eq(t.people.findOneAndUpdate({ _id: 4 }, { $set: { age: 23 } }, { returnDocument: 'after', projection: { age: 1 } }), { _id: 4, age: 23 });
    eq(t.people.findOneAndDelete({ _id: 4 }).age, 23);
    t.people.insertMany([{ k: 'x', tags: ['p', 'q'] }, { k: 'y', tags: ['q'] }, { k: 'x' }]);
    eq(t.people.distinct('k').sort(), ['x', 'y']);
    eq(t.people.distinct('tags').sort(), ['p', 'q']);
});

check('cursor across many batches (1,500 docs, batchSize 7) and early close', () => {
    const docs = [];
    for (let i = 0; i < 1500; i++) docs.push({ _id: i, v: i % 10 });
    eq(Object.keys(t.big.insertMany(docs).insertedIds).length, 1500);
    const cur = t.big.find().sort({ _id: 1 }).batchSize(7);
    let n = 0, ok = true;
    while (cur.hasNext()) { if (cur.next()._id !== n) ok = false; n++; }
    eq([n, ok], [1500, true]);
    const early = t.big.find().batchSize(7);
    early.next();
    early.close();
    const raw = t.runCommand({ find: 'big', batchSize: 2 });
    eq(t.runCommand({ killCursors: 'big', cursors: [raw.cursor.id] }).cursorsKilled.length, 1);
    eq(serverError(43, () => t.runCommand({ getMore: raw.cursor.id, collection: 'big' })).codeName, 'CursorNotFound');
    eq(t.big.aggregate([{ $match: { v: 3 } }], { batchSize: 7 }).toArray().length, 150);
});

check('aggregation: $match $group $sort $project $unwind $lookup $count $limit', () => {
    t.sales.insertMany([
        { _id: 1, item: 'apple', qty: 5, tags: ['fruit', 'red'], store: 'n' },
        { _id: 2, item: 'apple', qty: 3, tags: ['fruit'], store: 's' },
        { _id: 3, item: 'pear', qty: 10, tags: ['fruit', 'green'], store: 'n' },
    ]);
    t.stores.insertMany([{ _id: 'n', city: 'North' }, { _id: 's', city: 'South' }]);
    eq(t.sales.aggregate([{ $match: { qty: { $gt: 1 } } }, { $group: { _id: '$item', total: { $sum: '$qty' } } },
        { $sort: { total: -1 } }, { $project: { _id: 0, item: '$_id', total: 1 } }]).toArray(),
       [{ total: 10, item: 'pear' }, { total: 8, item: 'apple' }]);
    eq(t.sales.aggregate([{ $unwind: '$tags' }, { $group: { _id: '$tags', c: { $sum: 1 } } },
        { $sort: { c: -1, _id: 1 } }, { $limit: 2 }]).toArray(), [{ _id: 'fruit', c: 3 }, { _id: 'green', c: 1 }]);
    eq(t.sales.aggregate([{ $match: { _id: 2 } }, { $lookup: { from: 'stores', localField: 'store', foreignField: '_id', as: 's' } },
        { $project: { _id: 0, city: { $arrayElemAt: ['$s.city', 0] } } }]).toArray(), [{ city: 'South' }]);
    eq(t.sales.aggregate([{ $count: 'n' }]).toArray(), [{ n: 3 }]);
});

check('indexes and duplicate keys', () => {
    eq(t.u.createIndex({ email: 1 }, { unique: true }), 'email_1');
    eq(t.u.getIndexes().map(i => i.name), ['_id_', 'email_1']);
    t.u.insertOne({ _id: 1, email: 'a' });
    const e = serverError(11000, () => t.u.insertOne({ _id: 2, email: 'a' }));
    eq([e.keyPattern, e.keyValue], [{ email: 1 }, { email: 'a' }]);
    const b = serverError(11000, () => t.u.insertMany([{ _id: 3, email: 'b' }, { _id: 4, email: 'a' }, { _id: 5, email: 'c' }], { ordered: false }));
    eq(b.writeErrors.length, 1);
    eq(t.u.countDocuments(), 3);
    eq(t.u.dropIndex('email_1').ok, 1);
    eq(t.u.getIndexes().length, 1);
    serverError(27, () => t.u.dropIndex('email_1'));
});

check('listDatabases / listCollections / drop', () => {
    const dbs = db.adminCommand({ listDatabases: 1 }).databases.map(d => d.name);
    if (!dbs.includes('shsuite')) throw new Error('shsuite not in ' + dbs);
    const names = t.getCollectionNames();
    for (const n of ['big', 'people', 'sales', 'stores', 'u']) if (!names.includes(n)) throw new Error(n + ' not in ' + names);
    eq(t.stores.drop(), true);
    eq(t.getCollectionNames().includes('stores'), false);
    const o = db.getSiblingDB('shsuite_tmp');
    o.x.insertOne({ a: 1 });
    eq(o.dropDatabase().ok, 1);
    eq(db.adminCommand({ listDatabases: 1 }).databases.some(d => d.name === 'shsuite_tmp'), false);
});

check('error shapes', () => {
    eq(serverError(59, () => t.runCommand({ nope: 1 })).codeName, 'CommandNotFound');
    serverError(2, () => t.people.find({ a: { $bogus: 1 } }).toArray());
    serverError(9, () => t.people.updateOne({}, { $bogus: { a: 1 } }));
});

check('semantics: arrays, null vs missing, $elemMatch, $push/$addToSet, positional $', () => {
    t.sem.insertMany([{ _id: 1, a: [{ b: 1 }, { b: 2 }], x: null }, { _id: 2, a: { b: 2 } }, { _id: 3, a: [[{ b: 2 }]], x: 1 }]);
    eq(t.sem.find({ 'a.b': 2 }).sort({ _id: 1 }).toArray().map(d => d._id), [1, 2]);
    eq(t.sem.find({ x: null }).sort({ _id: 1 }).toArray().map(d => d._id), [1, 2]);
    eq(t.sem.find({ a: { $elemMatch: { b: { $gt: 1 } } } }).toArray().map(d => d._id), [1]);
    t.sem.updateOne({ _id: 2 }, { $push: { l: { $each: [3, 1, 2], $sort: -1, $slice: 2 } } });
    eq(t.sem.findOne({ _id: 2 }).l, [3, 2]);
    t.sem.updateOne({ _id: 2 }, { $addToSet: { l: { $each: [2, 5] } } });
    eq(t.sem.findOne({ _id: 2 }).l, [3, 2, 5]);
    t.sem.updateOne({ _id: 1, 'a.b': 2 }, { $set: { 'a.$.b': 20 } });
    eq(t.sem.findOne({ _id: 1 }).a, [{ b: 1 }, { b: 20 }]);
});

print('SUITE pass=' + pass + ' fail=' + failed);
EOF
out=$(sh --file "$script" 2>&1)
echo "$out"
summary=$(echo "$out" | grep -E '^SUITE pass=[0-9]+ fail=[0-9]+$' | tail -1)
[ -n "$summary" ] || { echo "FAIL mongosh script did not finish"; failures=$((failures + 1)); }
case $summary in *" fail=0") ;; *) failures=$((failures + 1)) ;; esac

if ! kill -0 "$srv" 2>/dev/null; then echo "FAIL server died during the suite"; failures=$((failures + 1)); fi
stop
trap - EXIT
if grep -Eq 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:' "$log"; then
    echo "FAIL sanitizer report in the server log:"; tail -60 "$log"; failures=$((failures + 1))
fi
[ "$failures" -eq 0 ] || fail "$failures mongosh check group(s) failed"
echo "mongosh suite passed"
