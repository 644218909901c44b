import type { Command } from 'commander';
import { fingerprintVideo, hashHex, type Fingerprint } from '../fingerprint/fingerprint.js';
import { runCommand } from './output.js';

export function fingerprintToJson(fp: Fingerprint): Record<string, unknown> {
  return {
    file: fp.file,
    duration: fp.duration,
    fps: fp.fps,
    frameCount: fp.frameCount,
    video: fp.video,
    timestamps: Array.from({ length: fp.frameCount }, (_, i) => i / fp.fps),
    hashes: Array.from(fp.hashes, hashHex),
    flipHashes: Array.from(fp.flips, hashHex),
    quality: Array.from(fp.quality, (q) => Math.round(q * 100) / 100),
    warnings: fp.warnings,
  };
}

export function formatFingerprintText(fp: Fingerprint): string {
  const v = fp.video;
  const lines = [
    `file      ${fp.file}`,
    `duration  ${fp.duration.toFixed(3)} s`,
    `frames    ${fp.frameCount} (sampled at ${fp.fps} fps, 64-bit pHash)`,
    `video     ${v.codec} ${v.width}x${v.height}${v.fps === undefined ? '' : ` ${v.fps.toFixed(2)} fps`}${v.rotation === 0 ? '' : ` rotated ${v.rotation}`}`,
    '',
    '    t(s)  phash             quality',
  ];
  for (let i = 0; i < fp.frameCount; i++) {
    const t = (i / fp.fps).toFixed(fp.fps === 1 ? 0 : 2).padStart(8);
    lines.push(`${t}  ${hashHex(fp.hashes[i] ?? 0n)}  ${(fp.quality[i] ?? 0).toFixed(1).padStart(7)}`);
  }
  for (const w of fp.warnings) lines.push(`warning: ${w}`);
  return `${lines.join('\n')}\n`;
}

export function registerFingerprint(program: Command, setExit: (code: number) => void): void {
  program
    .command('fingerprint')
    .description('sample a video at 1 fps and print one 64-bit pHash per sampled second')
    .argument('<video>', 'video file')
    .option('--json', 'print JSON (hashes, flip hashes, per-frame quality) instead of text')
    .option('--fast', 'decode less (skip the loop filter and unreferenced frames): faster, hashes drift slightly (bench/README)')
    .action((video: string, opts: { json?: boolean; fast?: boolean }) =>
      runCommand(setExit, async ({ signal, progress }) => {
        const fp = await fingerprintVideo(video, {
          signal,
          fastDecode: opts.fast === true,
          onProgress: (done, expected) => progress(`${video}: ${done}${expected === undefined ? '' : `/${expected}`} frames`),
        });
        progress.done();
        process.stdout.write(opts.json === true ? `${JSON.stringify(fingerprintToJson(fp), null, 2)}\n` : formatFingerprintText(fp));
      }),
    );
}
