import path from 'node:path';
import { Option, type Command } from 'commander';
import type { Fit, ImageFormat, Strategy } from '../frames/extract.js';
import { intOption as int, selectionFromOptions } from '../frames/plan.js';
import { runCommand, usage } from './output.js';

interface FramesCliOptions {
  fps?: string;
  count?: string;
  at?: string;
  random?: string;
  seed: string;
  out: string;
  format: ImageFormat;
  width?: string;
  height?: string;
  fit: Fit;
  quality?: string;
  contactSheet?: string | boolean;
  strategy?: Strategy;
  fast?: boolean;
}

export function registerFrames(program: Command, setExit: (code: number) => void): void {
  program
    .command('frames')
    .description('extract frames: --fps F, --count N (uniform), --at t1,t2,... or --random N [--seed S]')
    .argument('<video>', 'video file')
    .option('--fps <F>', 'frames per second, from t=0 (e.g. 0.2, 1, 2)')
    .option('--count <N>', 'N frames spread uniformly, first and last included (LMMs-Eval rule)')
    .option('--at <times>', 'comma-separated timestamps: seconds or [hh:]mm:ss[.ms]')
    .option('--random <N>', 'N distinct random frames')
    .option('--seed <S>', 'seed for --random', '0')
    .requiredOption('--out <dir>', 'output directory (images and frames.json)')
    .addOption(new Option('--format <fmt>', 'image format').choices(['jpg', 'png', 'webp']).default('jpg'))
    .option('--width <W>', 'output width in pixels')
    .option('--height <H>', 'output height in pixels')
    .addOption(new Option('--fit <fit>', 'with --width and --height').choices(['inside', 'cover', 'fill']).default('inside'))
    .option('--quality <Q>', 'JPEG/WebP quality 1-100')
    .option('--contact-sheet [file]', 'also write a grid of the frames with timestamps (default <out>/contact-sheet.jpg)')
    .option('--fast', 'sparse selections: return the keyframe at or before each time (much faster, not exact; frames.json says which)')
    .addOption(new Option('--strategy <s>', 'force one decode pass, or a seek to each frame (default: chosen per file from its keyframe interval)').choices(['single-pass', 'seek']))
    .action((video: string, o: FramesCliOptions) =>
      runCommand(setExit, async ({ signal, progress }) => {
        // sharp (slow to load) is loaded by the extraction while ffmpeg decodes, not before it starts.
        const { checkOutputOptions, extractFrames } = await import('../frames/extract.js');
        // Flag values are checked before the video is opened: a bad one is a usage error (exit 2).
        const flags = usage(() => {
          const output = { format: o.format, width: int('width', o.width), height: int('height', o.height), fit: o.fit, quality: int('quality', o.quality) };
          checkOutputOptions(output);
          return { selection: selectionFromOptions(o), ...output };
        });
        const manifest = await extractFrames(video, {
          ...flags,
          outDir: o.out,
          strategy: o.strategy,
          fast: o.fast === true,
          signal,
          onProgress: (done, total) => progress(`${video}: ${done}/${total} frames`),
        });
        progress.done();
        if (o.contactSheet !== undefined) {
          const sheet = typeof o.contactSheet === 'string' ? o.contactSheet : path.join(o.out, 'contact-sheet.jpg');
          const { writeContactSheet } = await import('../frames/contact-sheet.js');
          await writeContactSheet(manifest, o.out, sheet);
        }
        process.stdout.write(
          `${manifest.frames.length} of ${manifest.frameCount} frames (${manifest.strategy}) -> ${o.out}\n` +
            manifest.frames.map((f) => `${String(f.index).padStart(5)}  frame ${String(f.frame).padStart(6)}  ${f.timestamp.toFixed(3).padStart(10)} s  ${f.file}`).join('\n') +
            '\n',
        );
      }),
    );
}
