// Pattern 1 in Node.js, with the official driver, as MongoDB's Lambda guidance
// shows it: the client is created and connected outside the handler, once per
// instance, and every invocation awaits the same promise.
'use strict';
const { MongoClient } = require('mongodb');

const client = new MongoClient(process.env.MONGODB_URI, {
  appName: process.env.AWS_LAMBDA_FUNCTION_NAME,
});
const clientPromise = client.connect();

module.exports.handler = async function (event) {
  const c = await clientPromise;
  const r = await c.db('app').collection('counters').findOneAndUpdate(
    { _id: 'node-hits' }, { $inc: { n: 1 } }, { upsert: true, returnDocument: 'after' });
  return { hits: r.n, instance: process.pid };
};

// The benchmark's Node side: no database.
module.exports.echo = async function (event) {
  return event;
};
