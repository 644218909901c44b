import type { VideoStreamInfo } from './probe.js';

/**
 * What ffmpeg itself says about its input, read from its `-loglevel level+info` stderr, so
 * fingerprinting needs no separate ffprobe process (one process start per video instead of two).
 * The sampler (`sample.ts`) parses it and hands it on with the frames.
 */
export interface InputBanner {
  format: string | undefined;
  duration: number | undefined;
  /** First video stream that is not cover art, with its ordinal among all video streams. */
  video: VideoStreamInfo | undefined;
  hasAudio: boolean;
  /** The banner was printed completely (ffmpeg got as far as setting up its output). */
  complete: boolean;
}

// A line is "[level] text" or, from a component, "[component @ 0x...] [level] text".
const LEVEL = /^(?:\[[^\]]* @ 0x[0-9a-f]+\] )?\[(trace|debug|verbose|info|warning|error|fatal|panic)\] ?/;

/** Lines of stderr at error level or worse, without their level tags. */
export function errorLines(stderr: string): string[] {
  return stderr
    .split(/\r?\n/)
    .map((l) => LEVEL.exec(l))
    .filter((m): m is RegExpExecArray => m !== null && ['error', 'fatal', 'panic'].includes(m[1]!))
    .map((m) => m.input.slice(m[0].length).trim())
    .filter((l) => l !== '');
}

function parseDuration(text: string): number | undefined {
  const m = /Duration: (\d+):(\d{2}):(\d{2}(?:\.\d+)?)/.exec(text);
  if (m === null) return undefined;
  const s = Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]);
  return s > 0 ? s : undefined;
}

export function parseInputBanner(stderr: string): InputBanner {
  const lines = stderr.split(/\r?\n/).map((l) => l.replace(LEVEL, ''));
  const inputAt = lines.findIndex((l) => /^Input #0, /.test(l));
  const endAt = lines.findIndex((l, i) => i > inputAt && /^(Stream mapping:|Output #0|Press \[q\])/.test(l));
  const section = inputAt < 0 ? [] : lines.slice(inputAt, endAt < 0 ? undefined : endAt);
  const format = inputAt < 0 ? undefined : /^Input #0, (.+?), from /.exec(lines[inputAt]!)?.[1];
  let video: VideoStreamInfo | undefined;
  let ordinal = 0;
  let hasAudio = false;
  for (let i = 0; i < section.length; i++) {
    const line = section[i]!;
    const s = /^\s+Stream #0:(\d+)(?:\[[^\]]*\])?(?:\([^)]*\))?: (Video|Audio): ([^\s,]+)(.*)$/.exec(line);
    if (s === null) continue;
    if (s[2] === 'Audio') {
      hasAudio = true;
      continue;
    }
    const rest = s[4]!;
    const isCover = /\(attached pic\)/.test(rest);
    if (video === undefined && !isCover) {
      const size = /, (\d{1,6})x(\d{1,6})[ ,]/.exec(`${rest},`);
      const fps = /, ([\d.]+) fps/.exec(rest);
      const pix = /^\s*(?:\([^)]*\)\s*)*(?:\([^)]*\)\s*)?,\s*([a-z0-9_]+)/.exec(rest);
      // Rotation appears in the stream's side data / metadata lines that follow it.
      let rotation = 0;
      for (let j = i + 1; j < section.length && !/^\s+Stream #/.test(section[j]!); j++) {
        const r = /rotation of (-?[\d.]+) degrees|^\s+rotate\s*:\s*(-?\d+)/.exec(section[j]!);
        if (r !== null) rotation = Number(r[1] ?? r[2]);
      }
      video = {
        index: Number(s[1]),
        videoOrdinal: ordinal,
        codec: s[3]!,
        width: size === null ? 0 : Number(size[1]),
        height: size === null ? 0 : Number(size[2]),
        fps: fps === null ? undefined : Number(fps[1]),
        rotation: ((Math.round(rotation) % 360) + 360) % 360,
        pixelFormat: pix?.[1],
      };
    }
    ordinal++;
  }
  return { format, duration: parseDuration(section.join('\n')), video, hasAudio, complete: endAt >= 0 };
}
