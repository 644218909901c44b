// The napi config of package.json narrowed to the targets whose binary exists under <dir>
// (`vdedup.<platform>.node`, at any depth): what `napi artifacts` and `napi pre-publish` may
// release from this machine. package.json declares every usual target; only linux-x64-gnu can
// be built here (the others need their own machines: docs/development.md, "Releasing").
// Usage: node scripts/napi-built-config.mjs <dir> <out.json> [package.json]
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseTriple } from '@napi-rs/cli';

const [dir, out, pkgPath = 'package.json'] = process.argv.slice(2);
if (dir === undefined || out === undefined) {
  console.error('usage: node scripts/napi-built-config.mjs <dir> <out.json> [package.json]');
  process.exit(2);
}
const napi = JSON.parse(readFileSync(pkgPath, 'utf8')).napi;
const present = new Set(readdirSync(dir, { recursive: true }).map((f) => path.basename(String(f))));
const built = napi.targets.filter((t) => present.has(`${napi.binaryName}.${parseTriple(t).platformArchABI}.node`));
if (built.length === 0) {
  console.error(`no ${napi.binaryName}.<platform>.node under ${dir}: nothing to release`);
  process.exit(1);
}
writeFileSync(out, `${JSON.stringify({ ...napi, targets: built }, null, 2)}\n`);
console.error(`napi targets built here: ${built.join(', ')} (declared: ${napi.targets.length})`);
