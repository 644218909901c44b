import { Command, CommanderError } from 'commander';
import { versionText } from './version.js';
import { packageVersion } from '../version.js';
import { setMediaMemoryLimit } from '../media/process.js';

type Register = (program: Command, setExit: (code: number) => void) => void;

/**
 * Subcommand modules by command name, loaded on demand: a `vdedup fingerprint` run loads only the
 * fingerprint command's modules (the others pull in sharp, hnswlib, BullMQ, Fastify), which keeps
 * Node's start-up a small part of short jobs (bench/README.md, "Fingerprinting vs ffmpeg").
 */
const COMMANDS: Record<string, () => Promise<Register>> = {
  fingerprint: async () => (await import('./fingerprint.js')).registerFingerprint,
  frames: async () => (await import('./frames.js')).registerFrames,
  scan: async () => (await import('./scan.js')).registerScan,
  store: async () => (await import('./store.js')).registerStore,
  benchmarks: async () => (await import('./benchmarks.js')).registerBenchmarks,
  serve: async () => (await import('./service.js')).registerService,
  worker: async () => (await import('./service.js')).registerService,
};

/** Exit codes: 0 done, 1 the job could not be done (one-line reason on stderr), 2 bad usage. */
export async function main(argv: string[]): Promise<number> {
  let exitCode = 0;
  const setExit = (code: number) => {
    exitCode = code;
  };
  const memory = process.env.VDEDUP_FFMPEG_MEMORY_MB;
  if (memory !== undefined && memory !== '') {
    const mb = Number(memory);
    if (!Number.isInteger(mb) || mb < 0) {
      process.stderr.write(`vdedup: VDEDUP_FFMPEG_MEMORY_MB must be a whole number of MiB (0: no limit), got "${memory}"\n`);
      return 2;
    }
    setMediaMemoryLimit(mb);
  }
  const args = argv.slice(2);
  const wantsVersion = args[0] === '--version' || args[0] === '-V';
  const program = new Command()
    .name('vdedup')
    .description('Find near-duplicate videos (benchmark leakage) in training corpora; extract frames.')
    // The full text names the ffmpeg in use; it costs a process spawn, so only build it when asked.
    .version(wantsVersion ? versionText() : packageVersion(), '-V, --version', 'print versions, and which ffmpeg/ffprobe is used')
    .showHelpAfterError('(run vdedup --help for usage)')
    .exitOverride();
  // One known subcommand: register it alone. Anything else (help, a typo, no command): all of
  // them, in the order the help lists them, so help and "unknown command" messages are complete.
  const only = COMMANDS[args[0] ?? ''];
  const registers = only !== undefined ? [await only()] : [...new Set(await Promise.all(Object.values(COMMANDS).map((load) => load())))];
  for (const register of registers) register(program, setExit);
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
