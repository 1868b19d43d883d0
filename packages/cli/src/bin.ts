#!/usr/bin/env node
/** The `soe` executable: runs the command line and exits once output is flushed. */
import { main } from './program.js';

// Exit explicitly once stdout is flushed: SDK clients and sockets must not keep a finished command alive.
main(process.argv).then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`soe: unexpected error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
