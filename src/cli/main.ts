import { Command, CommanderError } from 'commander';
import { registerBenchmarks } from './benchmarks.js';
import { registerFingerprint } from './fingerprint.js';
import { registerFrames } from './frames.js';
import { registerScan } from './scan.js';
import { registerService } from './service.js';
import { registerStore } from './store.js';
import { packageVersion, versionText } from './version.js';

/** Exit codes: 0 done, 1 the job could not be done (one-line reason on stderr), 2 bad usage. */
export async function main(argv: string[]): Promise<number> {
  let exitCode = 0;
  const setExit = (code: number) => {
    exitCode = code;
  };
  const args = argv.slice(2);
  const wantsVersion = args[0] === '--version' || args[0] === '-V';
  const program = new Command()
    .name('vdedup')
    .description('Find near-duplicate videos (benchmark leakage) in training corpora; extract frames.')
    // The full text names the ffmpeg in use; it costs a process spawn, so only build it when asked.
    .version(wantsVersion ? versionText() : packageVersion(), '-V, --version', 'print versions, and which ffmpeg/ffprobe is used')
    .showHelpAfterError('(run vdedup --help for usage)')
    .exitOverride();
  registerFingerprint(program, setExit);
  registerFrames(program, setExit);
  registerScan(program, setExit);
  registerStore(program, setExit);
  registerBenchmarks(program, setExit);
  registerService(program, setExit);
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version "fail" with exit code 0 by design.
      return err.exitCode === 0 ? 0 : 2;
    }
    throw err;
  }
  return exitCode;
}
