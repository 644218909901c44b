import path from 'node:path';
import type { RequestDeps } from './deps.js';
import { requireCollection, resolveUnderRoots } from './inputs.js';
import { readVideoSource, type VideoSource } from '../scan/inputs.js';
import { isShardPattern } from '../scan/archive-inputs.js';
import { memberIdentity } from '../scan/member-files.js';
import { RequestRefused } from './errors.js';
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
  if (isShardPattern(spec)) {
    // WebDataset shards: the folder must be under the roots; the braces name files in it.
    const base = path.basename(spec);
    if (path.dirname(spec).includes('{')) throw new RequestRefused('invalid', 'INVALID_ARGUMENT', `"${spec}": a shard pattern has braces only in its file name`);
    return path.join((await resolveUnderRoots(deps.config, path.dirname(spec))).absolute, base);
  }
  return (await resolveUnderRoots(deps.config, spec)).absolute;
}

/**
 * The child jobs: loose files in batches of `size`; the members of each archive (a WebDataset
 * shard) in one batch of their own, so that workers on many machines split a corpus by shard, and
 * a .tar.gz is read in one pass by the worker that has it.
 */
function batchesOf(videos: ScanBatchJob['videos'], size: number): Array<ScanBatchJob['videos']> {
  const loose = videos.filter((v) => v.member === undefined);
  const byArchive = new Map<string, ScanBatchJob['videos']>();
  for (const v of videos) {
    if (v.member === undefined) continue;
    const list = byArchive.get(v.member.archive) ?? [];
    list.push(v);
    byArchive.set(v.member.archive, list);
  }
  const batches: Array<ScanBatchJob['videos']> = [];
  for (let i = 0; i * size < loose.length; i++) batches.push(loose.slice(i * size, (i + 1) * size));
  for (const members of byArchive.values()) batches.push(members.sort((a, b) => a.member!.ordinal - b.member!.ordinal));
  return batches;
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
  const read = (s: string): Promise<Pick<VideoSource, 'items' | 'warnings' | 'errors'>> => (s.startsWith(COLLECTION_PREFIX) ? Promise.resolve({ items: [], warnings: [] }) : readVideoSource(s));
  const [train, bench] = await Promise.all([read(trainSpec), read(benchSpec)]);
  // Each file once (a file on both sides is decoded once), with the sides and items it stands for;
  // an archive member by its identity (archive and name).
  const byPath = new Map<string, ScanRef[]>();
  const idOnly: ScanRef[] = [];
  for (const [side, items] of [['bench', bench.items], ['train', train.items]] as const) {
    for (const item of items) {
      const id = item.member === undefined ? item.path : memberIdentity(item.member);
      if (id === undefined) idOnly.push({ side, item });
      else byPath.set(id, [...(byPath.get(id) ?? []), { side, item }]);
    }
  }
  // A benchmark video is fingerprinted at the preset's phases; a training video at 1 fps (a file
  // on both sides once, at the phases: its 1 fps frames are among them).
  const phases = presetByName(settings.preset).benchPhases;
  const videos: ScanBatchJob['videos'] = [...byPath].map(([p, refs]) => {
    const { member } = refs[0]!.item;
    return { path: p, refs, fps: refs.some((r) => r.side === 'bench') ? phases : 1, ...(member === undefined ? {} : { member }) };
  });
  // A scan is admitted while the fingerprint backlog is under the bound (a corpus-sized scan may
  // itself add more batches than the bound: it is one request, not a flood).
  await deps.producer.admit('fingerprint');
  const scanId = await deps.producer.addScan(
    {
      train: trainSpec,
      bench: benchSpec,
      settings,
      videos: videos.length,
      idOnly,
      warnings: { train: train.warnings, bench: bench.warnings },
      inputErrors: { train: train.errors ?? [], bench: bench.errors ?? [] },
    },
    batchesOf(videos, deps.config.scanBatch),
  );
  return { scanId, videos: videos.length };
}
