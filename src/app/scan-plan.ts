import type { RequestDeps } from './deps.js';
import { requireCollection, resolveUnderRoots } from './inputs.js';
import { readVideoSource, refuseArchiveMembers, type VideoItem } from '../scan/inputs.js';
import { presetByName, type PresetName } from '../scan/presets.js';
import type { Prefilter } from '../scan/settings.js';
import { COLLECTION_PREFIX, type JobMatchSettings, type ScanBatchJob, type ScanRef } from '../jobs/contract.js';

/** What a scan request names: both sides, and how to match. */
export interface ScanRequest {
  train: string;
  bench: string;
  preset?: PresetName;
  exact?: boolean;
  prefilter?: Prefilter;
}

/** A server-side scan side: a path under the roots, an LMMs-Eval benchmark spec, or a collection. */
async function scanSide(deps: RequestDeps, spec: string): Promise<string> {
  if (spec.startsWith('lmms-eval:')) return spec;
  if (spec.startsWith(COLLECTION_PREFIX)) {
    return `${COLLECTION_PREFIX}${await requireCollection(deps.producer, spec.slice(COLLECTION_PREFIX.length))}`;
  }
  return (await resolveUnderRoots(deps.config, spec)).absolute;
}

/**
 * Plan and queue a scan: read both sides, give each file once to the batch that fingerprints it
 * (at the preset's phases when it is on the benchmark side), and queue the flow of batches and the
 * scan that runs when they are done (Producer.addScan). A collection side is fingerprinted already
 * (its fingerprints are in Redis): only path sides are read and decoded.
 */
export async function planScan(deps: RequestDeps, request: ScanRequest): Promise<{ scanId: string; videos: number }> {
  const settings: JobMatchSettings = {
    preset: presetByName(request.preset ?? 'default').name,
    exact: request.exact === true,
    prefilter: request.prefilter ?? 'auto',
  };
  const [trainSpec, benchSpec] = await Promise.all([scanSide(deps, request.train), scanSide(deps, request.bench)]);
  const read = (s: string) => (s.startsWith(COLLECTION_PREFIX) ? { items: [] as VideoItem[], warnings: [] as string[] } : readVideoSource(s));
  const [train, bench] = await Promise.all([read(trainSpec), read(benchSpec)]);
  refuseArchiveMembers(request.train, train.items);
  refuseArchiveMembers(request.bench, bench.items);
  // Each file once (a file on both sides is decoded once), with the sides and items it stands for.
  const byPath = new Map<string, ScanRef[]>();
  const idOnly: ScanRef[] = [];
  for (const [side, items] of [['bench', bench.items], ['train', train.items]] as const) {
    for (const item of items) {
      if (item.path === undefined) idOnly.push({ side, item });
      else byPath.set(item.path, [...(byPath.get(item.path) ?? []), { side, item }]);
    }
  }
  // A benchmark video is fingerprinted at the preset's phases; a training video at 1 fps (a file
  // on both sides once, at the phases: its 1 fps frames are among them).
  const phases = presetByName(settings.preset).benchPhases;
  const videos: ScanBatchJob['videos'] = [...byPath].map(([p, refs]) => ({ path: p, refs, fps: refs.some((r) => r.side === 'bench') ? phases : 1 }));
  // A scan is admitted while the fingerprint backlog is under the bound (a corpus-sized scan may
  // itself add more batches than the bound: it is one request, not a flood).
  await deps.producer.admit('fingerprint');
  const size = deps.config.scanBatch;
  const batches: Array<ScanBatchJob['videos']> = [];
  for (let i = 0; i * size < videos.length; i++) batches.push(videos.slice(i * size, (i + 1) * size));
  const scanId = await deps.producer.addScan(
    { train: trainSpec, bench: benchSpec, settings, videos: videos.length, idOnly, warnings: { train: train.warnings, bench: bench.warnings } },
    batches,
  );
  return { scanId, videos: videos.length };
}
