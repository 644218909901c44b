import { binaryVersionLine, ffmpegBinary, ffprobeBinary, type ResolvedBinary } from '../media/binaries.js';
import { native, nativeOrigin } from '../native/binding.js';
import { packageVersion } from '../version.js';

function describeBinary(name: string, resolve: () => ResolvedBinary): string {
  let bin: ResolvedBinary;
  try {
    bin = resolve();
  } catch (err) {
    return `${name}: not available (${(err as Error).message})`;
  }
  let version: string;
  try {
    version = binaryVersionLine(bin);
  } catch (err) {
    version = `does not run: ${(err as Error).message.split('\n')[0] ?? ''}`;
  }
  return `${name}: ${bin.path} (from ${bin.source}; ${version})`;
}

/** `vdedup --version`: our version plus which ffmpeg, ffprobe and native module are in use. */
export function versionText(): string {
  let nativeLine: string;
  try {
    const origin = nativeOrigin();
    nativeLine = `native: vdedup-core ${native().nativeVersion()}, frame scan ${native().scanKernel()} (${origin.source}: ${origin.file})`;
  } catch (err) {
    nativeLine = `native: not available (${(err as Error).message})`;
  }
  return [
    `vdedup ${packageVersion()}`,
    describeBinary('ffmpeg', ffmpegBinary),
    describeBinary('ffprobe', ffprobeBinary),
    nativeLine,
    `node: ${process.version}`,
  ].join('\n');
}
