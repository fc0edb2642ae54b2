// The express session store connect-mongo (npm, pinned in tests/package.json)
// in its default configuration against `tether db --ttl-monitor-seconds 1`:
// MongoStore.create({mongoUrl}) builds its TTL index ({expires: 1},
// expireAfterSeconds 0, "native" auto-removal); express-session over a plain
// Node HTTP server sets, reads, touches and destroys sessions through it; a
// session with a short cookie lifetime is deleted by the docstore's TTL
// monitor (the raw collection is checked, not only the store's filtered get).
'use strict';
const http = require('http');
const assert = require('assert/strict');
const session = require('express-session');
const MongoStore = require('connect-mongo').default || require('connect-mongo');
const { MongoClient } = require('mongodb');

const L = require('./docstore_lib');
const DEADLINE_MS = 300000;

// A tiny app: express-session as plain connect middleware.
function startApp(store) {
    const mw = session({ secret: 'tether-test', store, resave: false, saveUninitialized: false,
        cookie: { maxAge: 3600 * 1000 } });
    const server = http.createServer((req, res) => {
        mw(req, res, (err) => {
            if (err) { res.statusCode = 500; res.end(String(err)); return; }
            const url = new URL(req.url, 'http://x');
            const reply = (obj) => { res.setHeader('content-type', 'application/json'); res.end(JSON.stringify(obj)); };
            if (url.pathname === '/login') {
                req.session.user = url.searchParams.get('user');
                req.session.visits = 0;
                if (url.searchParams.get('short')) req.session.cookie.maxAge = 1500;
                reply({ id: req.sessionID });
            } else if (url.pathname === '/me') {
                if (req.session.user) req.session.visits++;
                reply({ user: req.session.user || null, visits: req.session.visits || 0, id: req.sessionID });
            } else if (url.pathname === '/logout') {
                req.session.destroy((e) => reply({ destroyed: !e }));
            } else {
                res.statusCode = 404;
                res.end();
            }
        });
    });
    return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

async function get(app, path, cookie) {
    const res = await fetch(`http://127.0.0.1:${app.address().port}${path}`,
        { headers: cookie ? { cookie } : {} });
    const set = res.headers.get('set-cookie');
    return { body: await res.json(), cookie: set ? set.split(';')[0] : cookie };
}

async function main() {
    const srv = await L.startServer(['--ttl-monitor-seconds', '1']);
    const uri = `mongodb://127.0.0.1:${srv.port}/app?directConnection=true`;
    const store = MongoStore.create({ mongoUrl: uri });
    const client = await MongoClient.connect(uri);
    const sessions = client.db('app').collection('sessions');
    const app = await startApp(store);

    await L.check('the default store builds its TTL index', async () => {
        await store.collectionP;
        const ix = await sessions.indexes();
        const ttl = ix.find((i) => i.key && i.key.expires === 1);
        assert.ok(ttl, JSON.stringify(ix));
        assert.equal(ttl.expireAfterSeconds, 0);
    });

    let alice;
    await L.check('set and get through express-session', async () => {
        const r = await get(app, '/login?user=alice');
        assert.ok(r.cookie && r.cookie.startsWith('connect.sid='), 'no session cookie');
        alice = r;
        const me = await get(app, '/me', r.cookie);
        assert.equal(me.body.user, 'alice');
        const again = await get(app, '/me', r.cookie);
        assert.equal(again.body.visits, 2);
        const doc = await sessions.findOne({ _id: r.body.id });
        assert.ok(doc && doc.expires instanceof Date && typeof doc.session === 'string');
        assert.ok(doc.expires > new Date(Date.now() + 3000 * 1000), String(doc.expires));
        assert.equal(JSON.parse(doc.session).user, 'alice');
    });

    await L.check('touch moves the expiry', async () => {
        const sid = alice.body.id;
        const before = (await sessions.findOne({ _id: sid })).expires;
        const sess = await new Promise((res, rej) => store.get(sid, (e, s) => (e ? rej(e) : res(s))));
        sess.cookie.expires = new Date(Date.now() + 7200 * 1000);
        await new Promise((res, rej) => store.touch(sid, sess, (e) => (e ? rej(e) : res())));
        const after = (await sessions.findOne({ _id: sid })).expires;
        assert.ok(after > before, `${after} <= ${before}`);
    });

    await L.check('destroy removes the session', async () => {
        const r = await get(app, '/logout', alice.cookie);
        assert.equal(r.body.destroyed, true);
        assert.equal(await sessions.findOne({ _id: alice.body.id }), null);
        const me = await get(app, '/me', alice.cookie);
        assert.equal(me.body.user, null);
    });

    await L.check('a session past its short lifetime is deleted by the TTL monitor', async () => {
        const keep = await get(app, '/login?user=bob');
        const gone = await get(app, '/login?user=carol&short=1');
        assert.ok(await sessions.findOne({ _id: gone.body.id }), 'short session not stored');
        const st0 = (await client.db('admin').command({ serverStatus: 1 })).metrics.ttl;
        await L.waitUntil(async () => (await sessions.findOne({ _id: gone.body.id })) === null,
            'the expired session document to be deleted');
        assert.ok(await sessions.findOne({ _id: keep.body.id }), 'the live session was deleted');
        const st1 = (await client.db('admin').command({ serverStatus: 1 })).metrics.ttl;
        assert.ok(st1.deletedDocuments > st0.deletedDocuments, JSON.stringify([st0, st1]));
        const me = await get(app, '/me', gone.cookie);
        assert.equal(me.body.user, null);
    });

    app.close();
    await store.close();
    await client.close();
    await L.stopAndCheck(srv);
}

L.run(main, DEADLINE_MS);
