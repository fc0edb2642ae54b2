/*
 * The Node preload that lets aws-lambda-ric 3.3 run without its native
 * Runtime API client. ric constructs its RAPIDClient with
 * require("./rapid-client.node") unconditionally and posts every response and
 * error through it (AWS_LAMBDA_NODEJS_USE_ALTERNATIVE_CLIENT_1 only replaces
 * GET /next); tether's test peers are installed without native builds (and
 * the prebuilt client crashes on Debian 12), so Node instances start with
 * `node --import <this> ric/bin/index.mjs HANDLER`. The preload resolves that
 * require to a JS client with the native contract: next() a promise, done()
 * and error() synchronous (a worker thread makes the POST on a keep-alive
 * connection while the caller waits on an Atomics flag), the same headers the
 * native client sends (content-type, lambda-runtime-function-xray-error-cause).
 */
#include "platform/ric_preload.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

static const char preload_source[] =
    "// aws-lambda-ric 3.3 loads its native Runtime API client (rapid-client.node)\n"
    "// even with AWS_LAMBDA_NODEJS_USE_ALTERNATIVE_CLIENT_1, and posts every\n"
    "// response and error through it. tether installs test peers without native\n"
    "// builds, so this preload answers that require with a JS client of the same\n"
    "// contract: next() a promise, done() and error() synchronous (a worker thread\n"
    "// does the HTTP on a keep-alive connection while the caller waits).\n"
    "import Module from 'node:module';\n"
    "import { Worker, MessageChannel, receiveMessageOnPort } from 'node:worker_threads';\n"
    "import http from 'node:http';\n"
    "\n"
    "const workerSource = `\n"
    "const { workerData } = require('worker_threads');\n"
    "const http = require('http');\n"
    "const { hostname, port, flag, reply, requests } = workerData;\n"
    "const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });\n"
    "requests.on('message', ({ path, body, headers }) => {\n"
    "  const finish = (result) => {\n"
    "    reply.postMessage(result);\n"
    "    Atomics.store(flag, 0, 1);\n"
    "    Atomics.notify(flag, 0);\n"
    "  };\n"
    "  const h = Object.assign({ 'content-type': 'application/json',\n"
    "    'content-length': Buffer.byteLength(body) }, headers);\n"
    "  const req = http.request({ hostname, port, path, method: 'POST', agent, headers: h }, (res) "
    "=> {\n"
    "    res.resume();\n"
    "    res.on('end', () => finish({ status: res.statusCode }));\n"
    "  });\n"
    "  req.on('error', (e) => finish({ error: e.message }));\n"
    "  req.end(body);\n"
    "});\n"
    "`;\n"
    "\n"
    "function makeNative() {\n"
    "  const [hostname, port] = process.env.AWS_LAMBDA_RUNTIME_API.split(':');\n"
    "  const flag = new Int32Array(new SharedArrayBuffer(4));\n"
    "  const toWorker = new MessageChannel();\n"
    "  const fromWorker = new MessageChannel();\n"
    "  const worker = new Worker(workerSource, {\n"
    "    eval: true,\n"
    "    workerData: { hostname, port: Number(port), flag, reply: fromWorker.port2, requests: "
    "toWorker.port2 },\n"
    "    transferList: [fromWorker.port2, toWorker.port2],\n"
    "  });\n"
    "  worker.unref();\n"
    "  const base = '/2018-06-01/runtime/invocation/';\n"
    "  const post = (path, body, headers) => {\n"
    "    Atomics.store(flag, 0, 0);\n"
    "    toWorker.port1.postMessage({ path, body, headers });\n"
    "    Atomics.wait(flag, 0, 0);\n"
    "    const m = receiveMessageOnPort(fromWorker.port1);\n"
    "    return m ? m.message : null;\n"
    "  };\n"
    "  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });\n"
    "  return {\n"
    "    next() {\n"
    "      return new Promise((resolve, reject) => {\n"
    "        http.get({ hostname, port: Number(port), path: base + 'next', agent }, (res) => {\n"
    "          let data = '';\n"
    "          res.setEncoding('utf-8');\n"
    "          res.on('data', (c) => (data += c));\n"
    "          res.on('end', () => resolve({ bodyJson: data, headers: res.headers }));\n"
    "        }).on('error', reject);\n"
    "      });\n"
    "    },\n"
    "    done(id, body) {\n"
    "      post(base + id + '/response', body, {});\n"
    "      return null;\n"
    "    },\n"
    "    error(id, body, xray) {\n"
    "      post(base + id + '/error', body, { 'lambda-runtime-function-xray-error-cause': xray "
    "});\n"
    "      return null;\n"
    "    },\n"
    "  };\n"
    "}\n"
    "\n"
    "// Resolve the native module's name to a cached module holding the JS client:\n"
    "// only resolution is wrapped, so no frame of ours shows in require stacks.\n"
    "const NATIVE = '/tether/aws-lambda-ric/rapid-client.node';\n"
    "const resolve = Module._resolveFilename;\n"
    "Module._resolveFilename = function (request, ...rest) {\n"
    "  if (typeof request !== 'string' || !request.endsWith('rapid-client.node'))\n"
    "    return resolve.call(this, request, ...rest);\n"
    "  if (!Module._cache[NATIVE]) {\n"
    "    const m = new Module(NATIVE);\n"
    "    m.filename = NATIVE;\n"
    "    m.loaded = true;\n"
    "    m.exports = makeNative();\n"
    "    Module._cache[NATIVE] = m;\n"
    "  }\n"
    "  return NATIVE;\n"
    "};\n";

static char *preload_url; /* "data:text/javascript;base64,..." built once */

const char *platform_ric_preload_url(void)
{
    static const char prefix[] = "data:text/javascript;base64,";
    if (preload_url != NULL)
        return preload_url;
    size_t n = sizeof preload_source - 1;
    char *url = malloc(sizeof prefix + 4 * ((n + 2) / 3) + 1);
    if (url == NULL)
        return NULL;
    memcpy(url, prefix, sizeof prefix - 1);
    EVP_EncodeBlock((unsigned char *)url + sizeof prefix - 1, (const unsigned char *)preload_source,
                    (int)n);
    preload_url = url;
    return preload_url;
}
