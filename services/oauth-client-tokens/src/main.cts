// Start file: sizes libuv's thread pool, which signs the tokens, then starts the service
// (start-service.js). CommonJS on purpose: node's loader reads an ES module entry through that very
// pool, so an ES module's first line already runs with the pool started at node's default size.
import os = require('node:os');
import threadPool = require('./thread-pool.cjs');

threadPool.sizeThreadPool(process.env, process.env.OAUTH_SIGNING_ALG, os.availableParallelism());
void import('./start-service.js');
