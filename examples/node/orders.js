// Three logical functions sharing the client module (pattern 2), the Node.js
// twin of examples/orders in C.
'use strict';
const clientPromise = require('./mongodb-client');

async function orders() {
  const client = await clientPromise;
  return client.db(process.env.ORDERS_DB || 'app').collection('orders');
}

module.exports.create = async function (event) {
  await (await orders()).insertOne(Object.assign({}, event));
  return { created: true };
};

module.exports.get = async function (event) {
  const doc = await (await orders()).findOne({ id: event.id }, { projection: { _id: 0 } });
  if (!doc) throw new Error('no such order');
  return doc;
};

module.exports.list = async function () {
  return (await orders()).find({}, { projection: { _id: 0 } }).limit(100).toArray();
};
