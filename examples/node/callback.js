// The Node.js pitfall MongoDB's Lambda guidance warns about, both ways. A
// callback-style handler with the client created once, outside the handler:
// the open connection keeps Node's event loop busy, and by default Lambda
// (aws-lambda-ric) sends a callback's answer only once the event loop is
// empty, so the invocation waits until it times out ("Task timed out") and the
// instance, client and all, is thrown away. Setting
// context.callbackWaitsForEmptyEventLoop = false answers as soon as the
// callback is called and keeps the client for the next invocation.
//   callback.handler  sets it to false: answers at once, one connection reused
//   callback.waits    leaves the default: runs into its timeout every time
'use strict';
const { MongoClient } = require('mongodb');

const client = new MongoClient(process.env.MONGODB_URI, {
  appName: process.env.AWS_LAMBDA_FUNCTION_NAME,
});
const ready = client.connect();

function count(callback) {
  ready
    .then((c) => c.db('app').collection('counters').findOneAndUpdate(
      { _id: 'node-callback-hits' }, { $inc: { n: 1 } }, { upsert: true, returnDocument: 'after' }))
    .then((r) => callback(null, { hits: r.n, instance: process.pid }), (err) => callback(err));
}

module.exports.handler = function (event, context, callback) {
  context.callbackWaitsForEmptyEventLoop = false;
  count(callback);
};

module.exports.waits = function (event, context, callback) {
  count(callback);
};
