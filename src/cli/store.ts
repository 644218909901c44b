import type { Command } from 'commander';
import { FingerprintStore } from '../fingerprint/store.js';
import { reportFailure, UsageError } from './output.js';

/** "30d", "12h", "90m", "0" -> milliseconds. */
export function parseAge(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([smhd]?)$/.exec(text.trim());
  if (m === null) throw new UsageError(`--older-than: "${text}" is not an age like 30d, 12h, 90m or 0`);
  const unit = { '': 1000, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as '' | 's' | 'm' | 'h' | 'd'];
  return Number(m[1]) * unit;
}

export function registerStore(program: Command, setExit: (code: number) => void): void {
  const store = program.command('store').description('inspect and maintain the fingerprint store');
  const open = (o: { cacheDir?: string }) => new FingerprintStore(o.cacheDir);
  store
    .command('list')
    .description('list stored fingerprints (content key, size, date)')
    .option('--cache-dir <dir>', 'store location (default: $VDEDUP_CACHE_DIR or ~/.cache/vdedup)')
    .action(async (o: { cacheDir?: string }) => {
      try {
        const s = open(o);
        let n = 0;
        let bytes = 0;
        for await (const e of s.entries()) {
          n++;
          bytes += e.bytes;
          process.stdout.write(`${e.key}  ${String(e.bytes).padStart(9)} B  ${e.modified.toISOString()}\n`);
        }
        process.stdout.write(`${n} fingerprints, ${bytes} bytes in ${s.dir}\n`);
        setExit(0);
      } catch (err) {
        setExit(reportFailure(err));
      }
    });
  store
    .command('verify')
    .description('read every entry and check its checksum; exit 1 when any is corrupt')
    .option('--cache-dir <dir>', 'store location')
    .action(async (o: { cacheDir?: string }) => {
      try {
        const r = await open(o).verify();
        for (const c of r.corrupt) process.stdout.write(`corrupt ${c.key}: ${c.reason}\n`);
        process.stdout.write(`checked ${r.checked} fingerprints, ${r.corrupt.length} corrupt\n`);
        setExit(r.corrupt.length === 0 ? 0 : 1);
      } catch (err) {
        setExit(reportFailure(err));
      }
    });
  store
    .command('prune')
    .description('remove entries not written for a while, corrupt entries, and temp files of crashed writers')
    .option('--older-than <age>', 'age like 30d, 12h, 90m; 0 removes everything', '30d')
    .option('--cache-dir <dir>', 'store location')
    .action(async (o: { cacheDir?: string; olderThan: string }) => {
      try {
        const r = await open(o).prune(parseAge(o.olderThan));
        process.stdout.write(`removed ${r.removed} old and ${r.corrupt} corrupt entries, ${r.tempFiles} stale temp files\n`);
        setExit(0);
      } catch (err) {
        setExit(reportFailure(err));
      }
    });
}
