import type { Preset } from './presets.js';

/**
 * The frame scan's approximate prefilter: 'auto' uses it for very large benchmark sides (from
 * `PREFILTER_MIN_SAMPLES` benchmark samples), 'on' always, 'off' never (the exhaustive scan).
 */
export type Prefilter = 'auto' | 'on' | 'off';
export const PREFILTER_CHOICES: readonly Prefilter[] = ['auto', 'on', 'off'];

/** A frame-scan loop forced instead of the CPU's fastest (benchmarks, or a CPU suspected of miscomputing). */
export type ScanKernel = 'avx512' | 'avx2' | 'portable';
export const SCAN_KERNEL_CHOICES: readonly ScanKernel[] = ['avx512', 'avx2', 'portable'];

/**
 * How a benchmark side is searched: the one options type that goes from a front door (the CLI,
 * an HTTP scan, a check) through the scan engine to the native object, unchanged. Front doors
 * fill it (from flags, request bodies, job data and the environment); nothing below them reads
 * the environment or renames a field.
 */
export interface MatchSettings {
  /** The matching rule (`presetByName`; tests and tuning pass their own). */
  preset: Preset;
  /** Compare every alignment (the reference) instead of the preset's retrieval. */
  exact: boolean;
  prefilter: Prefilter;
  /** Default: the fastest loop this CPU runs. */
  kernel?: ScanKernel;
}

/** A prefilter setting as given (settings built outside TypeScript's checks), refused with the choices when unknown. */
export function checkPrefilter(v: unknown, where: string): Prefilter {
  if (!PREFILTER_CHOICES.includes(v as Prefilter)) throw new Error(`${where} must be auto, on or off, got "${String(v)}"`);
  return v as Prefilter;
}

/** A forced kernel from a flag or an environment variable (empty: none), refused with the choices when unknown. */
export function parseScanKernel(v: string | undefined, where: string): ScanKernel | undefined {
  if (v === undefined || v === '') return undefined;
  if (!SCAN_KERNEL_CHOICES.includes(v as ScanKernel)) throw new Error(`${where} must be one of ${SCAN_KERNEL_CHOICES.join(', ')}, got "${v}"`);
  return v as ScanKernel;
}
