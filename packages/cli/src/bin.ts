#!/usr/bin/env node
import { main } from './program.js';

// Exit explicitly once stdout is flushed: SDK clients and sockets must not keep a finished command alive.
main(process.argv).then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`soe: unexpected error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
