// Loads the dependencies with native code under the running Node and prints the ones that do
// not load (one a line; exit 1 if any): .ci/run rebuilds those with `npm rebuild` under that
// Node before its test suite. All of them use Node-API today, so one build serves every line.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const failed = [];
for (const name of ['hnswlib-node', 'msgpackr-extract', 'sharp']) {
  try {
    const mod = require(name);
    // msgpackr-extract exports its native functions; sharp and hnswlib-node fail on load already.
    if (name === 'msgpackr-extract' && typeof mod.extractStrings !== 'function') throw new Error('no native extractStrings');
    if (name === 'sharp') mod.versions.vips.toString();
  } catch (err) {
    console.error(`${name} does not load on node ${process.version}: ${String(err).split('\n')[0]}`);
    failed.push(name);
  }
}
if (failed.length > 0) {
  console.log(failed.join('\n'));
  process.exit(1);
}
console.error(`hnswlib-node, msgpackr-extract and sharp load on node ${process.version}`);
