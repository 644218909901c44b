import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { VIDEO_EXTENSIONS } from '../media/video-files.js';
import { normalizeYoutubeId, youtubeIdFromFileName } from '../media/youtube-id.js';
import { familyRoots, locateFamily, locatorEnv } from '../benchmarks/locator.js';
import { benchmarkFamilies, findFamily } from '../benchmarks/registry.js';
import { VdedupError } from '../errors.js';
import { isArchiveName, isShardPattern, readArchiveItems, shardPatternArchives, type CorpusMember, type InputError } from './archive-inputs.js';

export interface VideoItem {
  /** Name in reports: path relative to the root directory, or the manifest's id. */
  id: string;
  /** Absolute path of the file; undefined for a manifest line that only names a YouTube ID, and for an archive member. */
  path: string | undefined;
  youtubeId: string | undefined;
  /** Where the YouTube ID came from, for the report's evidence (sidecar, parquet: an archive member's). */
  youtubeIdSource: 'manifest' | 'file name' | 'sidecar' | 'parquet' | undefined;
  /** A video inside a tar, tar.gz or zip: where its bytes are. */
  member?: CorpusMember;
  /** The video's fingerprint-store key, when already known (a service collection's members). */
  key?: string;
}

export interface VideoSource {
  /** What the user passed. */
  spec: string;
  kind: 'directory' | 'manifest' | 'file' | 'lmms-eval' | 'collection' | 'archives';
  items: VideoItem[];
  /** Things a user should know (partial benchmark caches). */
  warnings: string[];
  /** What could not be read (a missing shard, an archive's bad members): error entries of the report. */
  errors?: InputError[];
}

/** Video files and archives (tar, tar.gz, zip) under a directory, in name order. */
async function walk(dir: string, out: string[]): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    const p = path.join(dir, e.name);
    // Symlinked directories are not followed (loops); symlinked files are read as files.
    if (e.isDirectory()) await walk(p, out);
    else if ((e.isFile() || e.isSymbolicLink()) && (VIDEO_EXTENSIONS.has(path.extname(e.name).toLowerCase()) || isArchiveName(e.name))) out.push(p);
  }
}

/** Loose files and archives as items: each archive's video members in place of the archive. */
async function itemsOf(files: Array<{ absolute: string; name: string }>): Promise<{ items: VideoItem[]; errors: InputError[] }> {
  const items: VideoItem[] = [];
  const errors: InputError[] = [];
  for (const f of files) {
    if (!isArchiveName(f.absolute)) {
      items.push(fileItem(f.absolute, f.name));
      continue;
    }
    const got = await readArchiveItems(f.absolute, f.name);
    items.push(...got.items);
    errors.push(...got.errors);
  }
  return { items, errors };
}

function fileItem(absolute: string, id: string): VideoItem {
  const youtubeId = youtubeIdFromFileName(absolute);
  return { id, path: absolute, youtubeId, youtubeIdSource: youtubeId === undefined ? undefined : 'file name' };
}

interface ManifestLine {
  id?: unknown;
  path?: unknown;
  file?: unknown;
  video?: unknown;
  youtube_id?: unknown;
  youtubeId?: unknown;
  url?: unknown;
}

async function readManifest(manifest: string): Promise<VideoItem[]> {
  const dir = path.dirname(manifest);
  const items: VideoItem[] = [];
  const lines = createInterface({ input: createReadStream(manifest, 'utf8'), crlfDelay: Infinity });
  let n = 0;
  for await (const raw of lines) {
    n++;
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    let doc: ManifestLine;
    try {
      doc = JSON.parse(line) as ManifestLine;
    } catch {
      throw new VdedupError('INVALID_ARGUMENT', `${manifest}:${n}: not a JSON object`);
    }
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
      throw new VdedupError('INVALID_ARGUMENT', `${manifest}:${n}: not a JSON object`);
    }
    const rel = [doc.path, doc.file, doc.video].find((v) => typeof v === 'string') as string | undefined;
    const abs = rel === undefined ? undefined : path.resolve(dir, rel);
    const idField = [doc.youtube_id, doc.youtubeId, doc.url].find((v) => typeof v === 'string') as string | undefined;
    let youtubeId = normalizeYoutubeId(idField);
    let source: VideoItem['youtubeIdSource'] = youtubeId === undefined ? undefined : 'manifest';
    if (idField !== undefined && youtubeId === undefined) {
      throw new VdedupError('INVALID_ARGUMENT', `${manifest}:${n}: "${idField}" is not a YouTube ID or URL`);
    }
    if (youtubeId === undefined && abs !== undefined) {
      youtubeId = youtubeIdFromFileName(abs);
      source = youtubeId === undefined ? undefined : 'file name';
    }
    const id = typeof doc.id === 'string' ? doc.id : rel ?? youtubeId;
    if (id === undefined) {
      throw new VdedupError('INVALID_ARGUMENT', `${manifest}:${n}: needs "path" (or "file"/"video"), "id", or "youtube_id"/"url"`);
    }
    items.push({ id, path: abs, youtubeId, youtubeIdSource: source });
  }
  return items;
}

/**
 * A directory (walked recursively for videos and archives), a JSONL manifest, a single video file,
 * an archive (tar, tar.gz, zip), or a WebDataset shard pattern (`shards/{00000..00099}.tar`).
 */
export async function readVideoSource(spec: string): Promise<VideoSource> {
  if (spec.startsWith('lmms-eval:')) return readLmmsEvalSource(spec);
  if (isShardPattern(spec)) {
    const shards = await shardPatternArchives(spec);
    const got = await itemsOf(shards.archives.map((a) => ({ absolute: path.resolve(a), name: a })));
    return { spec, kind: 'archives', items: got.items, warnings: [], errors: [...shards.errors, ...got.errors] };
  }
  const absolute = path.resolve(spec);
  let s;
  try {
    s = await stat(absolute);
  } catch {
    throw new VdedupError('FILE_NOT_FOUND', `${spec}: no such file or directory`);
  }
  if (s.isDirectory()) {
    const files: string[] = [];
    await walk(absolute, files);
    const got = await itemsOf(files.map((f) => ({ absolute: f, name: path.relative(absolute, f).split(path.sep).join('/') })));
    return { spec, kind: 'directory', items: got.items, warnings: [], errors: got.errors };
  }
  if (/\.jsonl?$/i.test(absolute)) return { spec, kind: 'manifest', items: await readManifest(absolute), warnings: [] };
  if (isArchiveName(absolute)) {
    const got = await itemsOf([{ absolute, name: spec }]);
    return { spec, kind: 'archives', items: got.items, warnings: [], errors: got.errors };
  }
  return { spec, kind: 'file', items: [fileItem(absolute, path.basename(absolute))], warnings: [] };
}

/**
 * A collection's members are files (their jobs carry paths): archive members are scanned by
 * `POST /v1/scans` and `vdedup scan`. Refused with a clear error rather than left out unseen.
 */
export function refuseArchiveMembers(spec: string, items: VideoItem[]): void {
  const member = items.find((i) => i.member !== undefined);
  if (member === undefined) return;
  throw new VdedupError(
    'INVALID_ARGUMENT',
    `${spec}: holds archives (${member.member!.archiveName} and maybe more): collections do not take archive members yet; scan archives with POST /v1/scans or \`vdedup scan\`, or extract them under the roots`,
  );
}

/**
 * `lmms-eval:videomme,mmvu` or `lmms-eval:all`: the benchmark videos LMMs-Eval downloaded under
 * HF_HOME, with YouTube IDs from their cached metadata. IDs whose video is not on disk still take
 * part in the YouTube-ID stage.
 */
async function readLmmsEvalSource(spec: string): Promise<VideoSource> {
  const names = spec.slice('lmms-eval:'.length).split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (names.length === 0) throw new VdedupError('INVALID_ARGUMENT', `${spec}: name benchmark families after "lmms-eval:" (or "all"); see vdedup benchmarks`);
  const all = benchmarkFamilies().filter((f) => !f.framesOnly);
  const families = names.includes('all')
    ? all
    : names.map((n) => {
        const f = findFamily(n);
        if (f === undefined) throw new VdedupError('INVALID_ARGUMENT', `${spec}: unknown LMMs-Eval benchmark "${n}" (run vdedup benchmarks for the list)`);
        return f;
      });
  const le = locatorEnv();
  const items: VideoItem[] = [];
  const warnings: string[] = [];
  const seen = new Set<string>();
  for (const f of families) {
    const loc = await locateFamily(f, le);
    for (const v of loc.videos) {
      // Caches shared by two families (videochatgpt) list the same files once.
      if (seen.has(v.path)) continue;
      seen.add(v.path);
      items.push({ id: v.id, path: v.path, youtubeId: v.youtubeId, youtubeIdSource: v.youtubeIdSource });
    }
    for (const i of loc.idsWithoutVideo) items.push({ id: i.id, path: undefined, youtubeId: i.youtubeId, youtubeIdSource: 'manifest' });
    // With lmms-eval:all, families that were never downloaded are the normal case: say nothing.
    if (!names.includes('all') || loc.videos.length > 0) for (const p of loc.problems) warnings.push(`${f.name}: ${p}`);
  }
  if (items.length === 0) {
    throw new VdedupError(
      'FILE_NOT_FOUND',
      `${spec}: no benchmark videos or metadata found under HF_HOME=${le.hfHome}` +
        (families.length <= 3 ? ` (looked in ${families.flatMap((f) => familyRoots(f, le)).join(', ')})` : '') +
        '; download the benchmarks with LMMs-Eval first, or set HF_HOME',
    );
  }
  return { spec, kind: 'lmms-eval', items, warnings };
}
