#!/usr/bin/env node
// Entry point kept outside dist/ so the bin path is stable; the CLI itself is compiled TypeScript.
import { main } from '../dist/cli/main.js';

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`vdedup: internal error: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exitCode = 70;
  },
);
