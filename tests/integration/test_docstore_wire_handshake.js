// The real Node driver (mongodb 7.x) against `tether db`: connect, ping, the
// hello fields and their BSON types (int32 where docs/docstore.md says so), the
// second-hello rule, serverStatus, currentOp with client metadata, and
// CommandNotFound. Types are checked on the raw reply, not the JS numbers.
'use strict';
const { MongoClient } = require('mongodb');

const L = require('./docstore_lib');

function fail(msg) {
  console.error('FAIL: ' + msg);
  process.exit(1);
}
function check(cond, msg) {
  if (!cond) fail(msg);
}

async function rawCommand(db, cmd) {
  return db.command(cmd, { promoteValues: false, promoteLongs: false });
}

function typeName(v) {
  if (v === null || v === undefined) return String(v);
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'string') return 'string';
  if (v instanceof Date) return 'date';
  return v._bsontype || typeof v;
}

async function main() {
  const server = await L.startServer();
  const timer = setTimeout(() => fail('test timed out'), 60000);
  let client;
  try {
    client = new MongoClient(`mongodb://127.0.0.1:${server.port}/?appName=orders-fn`, {
      serverSelectionTimeoutMS: 5000,
    });
    await client.connect();
    const admin = client.db('admin');
    const ping = await admin.command({ ping: 1 });
    check(ping.ok === 1, 'ping ok');

    const hello = await rawCommand(admin, { hello: 1 });
    const want = {
      isWritablePrimary: 'bool', helloOk: 'bool', maxBsonObjectSize: 'Int32',
      maxMessageSizeBytes: 'Int32', maxWriteBatchSize: 'Int32', minWireVersion: 'Int32',
      maxWireVersion: 'Int32', logicalSessionTimeoutMinutes: 'Int32', connectionId: 'Int32',
      localTime: 'date', readOnly: 'bool', ok: 'Double',
    };
    for (const [k, t] of Object.entries(want))
      check(typeName(hello[k]) === t, `hello.${k} is ${t}, got ${typeName(hello[k])}`);
    check(hello.isWritablePrimary === true && hello.readOnly === false, 'standalone primary');
    check(hello.maxBsonObjectSize.value === 16777216, 'maxBsonObjectSize');
    check(hello.maxMessageSizeBytes.value === 48000000, 'maxMessageSizeBytes');
    check(hello.maxWriteBatchSize.value === 100000, 'maxWriteBatchSize');
    check(hello.maxWireVersion.value === 17 && hello.minWireVersion.value === 0, 'wire versions');
    check(hello.logicalSessionTimeoutMinutes.value === 30, 'session timeout');
    for (const absent of ['setName', 'topologyVersion', 'msg', 'ismaster', 'hosts'])
      check(!(absent in hello), `no ${absent} in hello`);
    const legacy = await admin.command({ isMaster: 1 });
    check(legacy.ismaster === true && !('isWritablePrimary' in legacy), 'legacy form says ismaster');

    let err = null;
    try {
      await admin.command({ hello: 1, client: { driver: { name: 'x', version: '1' } } });
    } catch (e) {
      err = e;
    }
    check(err && err.code === 186, 'second hello with client metadata is an error: ' + err);

    const status = await admin.command({ serverStatus: 1 });
    const conns = status.connections;
    check(conns.current >= 1 && conns.totalCreated >= conns.current, 'connections counted');
    check('available' in conns && 'rejected' in conns && 'active' in conns, 'connection fields');
    check(status.process === 'tether' && typeof status.uptime === 'number', 'process, uptime');
    const rawStatus = await rawCommand(admin, { serverStatus: 1 });
    check(typeName(rawStatus.connections.current) === 'Int32', 'connections.current is int32');

    const ops = (await admin.command({ currentOp: 1, $all: true })).inprog;
    const mine = ops.filter((op) => op.appName === 'orders-fn');
    check(mine.length >= 1, 'currentOp shows the driver connections by appName');
    check(mine.every((op) => op.clientMetadata.driver.name.startsWith('nodejs')),
      'client metadata kept');
    check(mine.every((op) => /^127\.0\.0\.1:\d+$/.test(op.client)), 'peer address');
    check(mine.every((op) => typeof op.idleMillis === 'number'), 'idle time');

    err = null;
    try {
      await admin.command({ frobnicate: 1 });
    } catch (e) {
      err = e;
    }
    check(err && err.code === 59 && err.codeName === 'CommandNotFound' &&
      /no such command: 'frobnicate'/.test(err.message), 'CommandNotFound: ' + err);

    const bi = await admin.command({ buildInfo: 1 });
    check(bi.version === '6.0.0' && Array.isArray(bi.versionArray), 'buildInfo');
    await client.close();
    client = null;
  } finally {
    clearTimeout(timer);
    if (client) await client.close().catch(() => {});
    server.proc.kill('SIGTERM');
  }
  const code = await new Promise((resolve) => server.proc.on('exit', (c) => resolve(c)));
  check(code === 0, 'clean exit on SIGTERM, got ' + code);
  const log = server.log();
  check(/client nodejs/.test(log), 'client metadata logged');
  console.log('ok');
}

main().catch((e) => fail(e.stack || String(e)));
