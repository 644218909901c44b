import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { badInput, clip } from '../helpers/paths.js';

describe('vdedup fingerprint (real CLI process)', () => {
  it('prints duration, frame count and one 16-hex-digit pHash per sampled second', async () => {
    const r = await runCli(['fingerprint', clip('mandelbrot.mp4')]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^duration\s+30\.0\d\d s$/m);
    expect(r.stdout).toMatch(/^frames\s+30 /m);
    const rows = r.stdout.split('\n').filter((l) => /^\s+\d+\s+[0-9a-f]{16}\s/.test(l));
    expect(rows).toHaveLength(30);
    expect(rows.map((l) => Number(l.trim().split(/\s+/)[0]))).toEqual(Array.from({ length: 30 }, (_, i) => i));
  });

  it('--json gives the same hashes as the text output', async () => {
    const [text, json] = await Promise.all([
      runCli(['fingerprint', clip('testsrc2.mp4')]),
      runCli(['fingerprint', clip('testsrc2.mp4'), '--json']),
    ]);
    expect(json.code).toBe(0);
    const doc = JSON.parse(json.stdout) as { frameCount: number; hashes: string[]; flipHashes: string[]; timestamps: number[]; duration: number };
    expect(doc.frameCount).toBe(24);
    expect(doc.hashes).toHaveLength(24);
    expect(doc.flipHashes).toHaveLength(24);
    expect(doc.timestamps.slice(0, 3)).toEqual([0, 1, 2]);
    const textHashes = text.stdout.split('\n').flatMap((l) => /^\s+\d+\s+([0-9a-f]{16})\s/.exec(l)?.slice(1) ?? []);
    expect(textHashes).toEqual(doc.hashes);
  });

  it.each([
    ['zero-byte.mp4', /empty file/],
    ['text.mp4', /not a readable video/],
    ['audio-only.m4a', /no video stream \(audio-only file\)/],
    ['truncated.mp4', /truncated/],
    ['truncated-faststart.mp4', /truncated/],
  ])('%s: one-line error naming the file and cause, exit 1, within seconds', async (name, cause) => {
    const file = badInput(name);
    const r = await runCli(['fingerprint', file]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(file);
    expect(lines[0]).toMatch(cause);
    expect(r.ms).toBeLessThan(10_000);
  });

  it('a missing path: one line, exit 1', async () => {
    const r = await runCli(['fingerprint', 'no/such/file.mp4']);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe('vdedup: no/such/file.mp4: no such file');
  });

  it('--help lists the command; a usage error exits 2', async () => {
    const help = await runCli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/fingerprint \[options\] <video>/);
    const usage = await runCli(['fingerprint']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/missing required argument 'video'/);
  });

  it('--help and a mistyped command see every command (each is loaded on demand)', async () => {
    const help = await runCli(['--help']);
    for (const name of ['fingerprint', 'frames', 'scan', 'store', 'benchmarks', 'serve', 'worker']) {
      expect(help.stdout).toMatch(new RegExp(`^  ${name} `, 'm'));
    }
    const typo = await runCli(['fingerprnt', 'x.mp4']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(/unknown command 'fingerprnt'[\s\S]*Did you mean fingerprint\?/);
    // A subcommand's own help is complete when it is the only one loaded.
    const sub = await runCli(['scan', '--help']);
    expect(sub.code).toBe(0);
    expect(sub.stdout).toMatch(/--bench/);
  });

  it('--version says which ffmpeg and ffprobe are used', async () => {
    const r = await runCli(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^vdedup \d+\.\d+\.\d+/);
    expect(r.stdout).toMatch(/^ffmpeg: \S+ \(from (PATH|env|ffmpeg-static); ffmpeg version /m);
    expect(r.stdout).toMatch(/^ffprobe: \S+ \(from (PATH|env|ffmpeg-static); ffprobe version /m);
    expect(r.stdout).toMatch(/^native: vdedup-core \S+, frame scan (avx512|avx2|portable) /m);
    // A source checkout has no platform package installed: the module built by `npm run setup`.
    expect(r.stdout).toMatch(/^native: .* \(local build: \S+\/crates\/node\/vdedup\.node\)$/m);
  });

  it('honours FFMPEG_PATH', async () => {
    const which = await runCli(['--version'], { FFMPEG_PATH: '/bin/false' });
    expect(which.stdout).toMatch(/^ffmpeg: \/bin\/false \(from env/m);
  });
});
