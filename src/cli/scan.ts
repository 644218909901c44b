import { writeFile } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import type { ScanProgress } from '../scan/engine.js';
import { parseScanKernel, PREFILTER_CHOICES, type Prefilter } from '../scan/settings.js';
import { runCommand, UsageError } from './output.js';

interface ScanCliOptions {
  train: string;
  bench: string;
  out: string;
  csv?: string;
  html?: string;
  keysOut?: string;
  tmpDir?: string;
  preset: string;
  exact?: boolean;
  prefilter: Prefilter;
  index?: Prefilter;
  fast?: boolean;
  cacheDir?: string;
  concurrency?: string;
}

function progressText(p: ScanProgress): string {
  const rate = p.elapsedSeconds > 0 ? p.framesDecoded / p.elapsedSeconds : 0;
  const eta = p.done > 0 && p.done < p.total ? ` ETA ${Math.ceil(((p.total - p.done) * p.elapsedSeconds) / p.done)} s` : '';
  const label = p.phase === 'bench' ? 'benchmark videos' : p.phase === 'prepare' ? 'preparing benchmark frames' : 'training videos';
  return `${label} ${p.done}/${p.total} | ${Math.round(rate)} frames/s | ${Math.round(p.elapsedSeconds)} s${eta}`;
}

export function registerScan(program: Command, setExit: (code: number) => void): void {
  program
    .command('scan')
    .description('find training videos that duplicate benchmark videos (embedded: no Redis)')
    .requiredOption(
      '--train <dir|manifest.jsonl|archive|pattern>',
      'training corpus: a directory (walked recursively, archives included), a JSONL manifest, a .tar/.tar.gz/.tgz/.zip, or WebDataset shards (\'shards/{00000..00099}.tar\')',
    )
    .requiredOption('--bench <dir|manifest.jsonl|lmms-eval:families>', 'benchmark videos: a directory, a JSONL manifest, or lmms-eval:videomme,mmvu / lmms-eval:all (under $HF_HOME)')
    .requiredOption('--out <report.json>', 'where to write the JSON report')
    .option('--csv <file>', 'also write the matches as CSV')
    .option('--html <file>', 'also write an HTML report')
    .option('--keys-out <file>', 'also write the removed archive members, one "<archive>\\t<sample key>" line each (for WebDataset pipelines)')
    .option('--tmp-dir <dir>', 'where members of .tar.gz archives and deflated zip members are copied while fingerprinted (a few at a time; default: the system\'s)')
    .addOption(new Option('--preset <name>', 'matching rule').choices(['default', 'paper']).default('default'))
    .option('--exact', 'compare every alignment directly (the reference; same result as the default frame scan, slower; the paper preset: finds what hnswlib misses)')
    .addOption(
      new Option('--prefilter <when>', 'the frame scan\'s approximate prefilter for very large benchmark sides (auto: from 1M benchmark seconds; the report says when it was used)')
        .choices(PREFILTER_CHOICES)
        .default('auto'),
    )
    // The flag's earlier name, still accepted.
    .addOption(new Option('--index <when>').choices(PREFILTER_CHOICES).hideHelp())
    .option('--fast', 'decode training videos with fewer decoder steps: faster, with the recall cost measured in bench/README')
    .option('--cache-dir <dir>', 'fingerprint store location (default: $VDEDUP_CACHE_DIR or ~/.cache/vdedup)')
    .option('--concurrency <n>', 'videos decoded at once (default: one per core)')
    .action((opts: ScanCliOptions) =>
      runCommand(setExit, async ({ signal, progress }) => {
        // Loaded on use: hnswlib, the parquet reader and sharp are slow to load, which
        // every other command (and `vdedup fingerprint` in a tight loop) should not pay.
        const [{ presetByName }, { reportToCsv, reportToHtml, removedKeysText, comparisonLabel }, { renderEvidenceStrips }, { runScan }, { FingerprintStore }] = await Promise.all([
          import('../scan/presets.js'),
          import('../scan/report-format.js'),
          import('../scan/evidence.js'),
          import('../scan/engine.js'),
          import('../fingerprint/store.js'),
        ]);
        const concurrency = opts.concurrency === undefined ? undefined : Number(opts.concurrency);
        if (concurrency !== undefined && !(Number.isInteger(concurrency) && concurrency > 0)) {
          throw new UsageError(`--concurrency must be a positive integer, got ${opts.concurrency}`);
        }
        const report = await runScan({
          train: opts.train,
          bench: opts.bench,
          settings: {
            preset: presetByName(opts.preset),
            exact: opts.exact === true,
            prefilter: opts.index ?? opts.prefilter,
            kernel: parseScanKernel(process.env.VDEDUP_SCAN_KERNEL, 'VDEDUP_SCAN_KERNEL'),
          },
          fastDecode: opts.fast === true ? 'train' : undefined,
          store: new FingerprintStore(opts.cacheDir),
          tmpDir: opts.tmpDir,
          concurrency,
          signal,
          onProgress: (p) => progress(progressText(p)),
        });
        progress.done();
        if (opts.html !== undefined) {
          const strips = await renderEvidenceStrips(report, (done, total) => progress(`rendering evidence ${done}/${total}`));
          progress.done();
          await writeFile(opts.html, reportToHtml(report, strips));
        }
        // JSON last: it also carries any warning raised while rendering the HTML evidence.
        await writeFile(opts.out, `${JSON.stringify(report, null, 2)}\n`);
        if (opts.csv !== undefined) await writeFile(opts.csv, reportToCsv(report));
        if (opts.keysOut !== undefined) await writeFile(opts.keysOut, removedKeysText(report));
        const s = report.stats;
        const lines = [
          `scanned ${s.trainVideos} training videos against ${s.benchVideos} benchmark videos (preset ${s.preset}${s.exact ? ', exact' : ''}${s.approximate ? `, approximate retrieval: ${s.retrieval}` : ''}) in ${s.seconds} s`,
          `decoded ${s.decodedVideos} videos (${s.framesHashed} frames), ${s.storedVideos} from the fingerprint store`,
          `${report.removed.length} training videos to remove (${s.youtubeIdMatches} YouTube-ID matches, ${s.nearDuplicateMatches} near-duplicate segments)`,
        ];
        for (const m of report.matches) {
          lines.push(
            m.reason === 'youtube-id'
              ? `  ${m.train}  =  ${m.bench}  [youtube-id ${m.youtubeId}]`
              : `  ${m.train} ${m.trainStart}-${m.trainEnd}s  ~  ${m.bench} ${m.benchStart}-${m.benchEnd}s  [${m.matchedFrames}/${m.windowFrames} frames, mean distance ${m.meanDistance}${comparisonLabel(m)}]`,
          );
        }
        if (report.errors.length > 0) {
          lines.push(`${report.errors.length} videos could not be read (listed in the report's "errors"):`);
          for (const e of report.errors.slice(0, 10)) lines.push(`  ${e.side} ${e.video}: ${e.message}`);
          if (report.errors.length > 10) lines.push(`  ... and ${report.errors.length - 10} more`);
        }
        for (const w of report.warnings) lines.push(`warning: ${w}`);
        lines.push(`report: ${opts.out}`);
        process.stdout.write(`${lines.join('\n')}\n`);
      }),
    );
}
