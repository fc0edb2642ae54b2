// bench_system's Node.js functions for the latency chart: the same work as
// bench/system/system_fn.c (one findOneAndUpdate, $inc with upsert, of one
// document in bench.system), with the official driver (bench_system copies
// this file into a folder of its own beside a link to examples/node's
// node_modules):
// - reused: one MongoClient created and connected outside the handler, once
//   per instance, as MongoDB's Lambda guidance and examples/node/index.js do;
// - naive: a MongoClient made, connected and closed in every invocation.
// Both answer {"handler_ns": N}, the handler's own time, as the C ones do.
'use strict';
const { MongoClient } = require('mongodb');

const options = { appName: process.env.AWS_LAMBDA_FUNCTION_NAME };
const shared = new MongoClient(process.env.MONGODB_URI, options);
let connected = null;

async function work(client) {
  await client.db('bench').collection('system').findOneAndUpdate(
    { _id: 'node' }, { $inc: { n: 1 } }, { upsert: true, returnDocument: 'after' });
}

module.exports.reused = async function () {
  const t0 = process.hrtime.bigint();
  if (connected === null) connected = shared.connect();
  await work(await connected);
  return { handler_ns: Number(process.hrtime.bigint() - t0) };
};

module.exports.naive = async function () {
  const t0 = process.hrtime.bigint();
  const client = new MongoClient(process.env.MONGODB_URI, options);
  try {
    await client.connect();
    await work(client);
  } finally {
    await client.close();
  }
  return { handler_ns: Number(process.hrtime.bigint() - t0) };
};
