// Pattern 2 in Node.js: the client in its own module, so every logical
// function packaged in this handler file shares one connection.
'use strict';
const { MongoClient } = require('mongodb');

const client = new MongoClient(process.env.MONGODB_URI, {
  appName: process.env.AWS_LAMBDA_FUNCTION_NAME,
});
module.exports = client.connect();
