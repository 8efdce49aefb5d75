#!/usr/bin/env node
// Runs the compiled CLI (npm run build writes dist/).
import { main } from '../dist/runtime/cli.js';

process.exitCode = await main(process.argv.slice(2));
// Everything was drained, flushed and closed: do not let an idle keep-alive socket or an open
// standard input hold the process. The timer does not keep the process alive by itself.
setTimeout(() => process.exit(), 1000).unref();
