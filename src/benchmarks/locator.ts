import { existsSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { BenchmarkFamily } from './registry.js';
import { VIDEO_EXTENSIONS } from '../media/video-files.js';
import { normalizeYoutubeId, youtubeIdFromFileName } from '../media/youtube-id.js';

export interface LocatorEnv {
  /** expanduser($HF_HOME or ~/.cache/huggingface), as LMMs-Eval resolves it. */
  hfHome: string;
  /** $HF_HUB_CACHE or <HF_HOME>/hub. */
  hubCache: string;
  env: NodeJS.ProcessEnv;
}

export function locatorEnv(env: NodeJS.ProcessEnv = process.env): LocatorEnv {
  const expand = (p: string) => (p.startsWith('~') ? path.join(os.homedir(), p.slice(1)) : p);
  const hfHome = path.resolve(expand(env.HF_HOME ?? '~/.cache/huggingface'));
  return { hfHome, hubCache: path.resolve(expand(env.HF_HUB_CACHE ?? path.join(hfHome, 'hub'))), env };
}

export interface LocatedVideo {
  /** Absolute path. */
  path: string;
  /** `<family>:<path relative to its root>` (report name). */
  id: string;
  youtubeId: string | undefined;
  youtubeIdSource: 'manifest' | 'file name' | undefined;
}

export interface FamilyLocation {
  family: string;
  /** Folders searched, and whether each exists. */
  roots: Array<{ path: string; exists: boolean }>;
  videos: LocatedVideo[];
  /** YouTube IDs named by cached metadata whose video file is not on disk (still usable for the ID stage). */
  idsWithoutVideo: Array<{ id: string; youtubeId: string }>;
  /** Distinct videos the cached metadata names (undefined: no metadata found). */
  expectedVideos: number | undefined;
  metadataFiles: string[];
  /** .zip / .tar / .tar.part* files that LMMs-Eval would extract and nobody has. */
  unextractedArchives: string[];
  problems: string[];
}

const ARCHIVE = /\.(zip|tar|tar\.gz|tgz|tar\.part\.?\w*|tar\.\d+|tar\.[a-z]{2})$/i;

/** Folders a family's videos can be in, from its path pattern(s), cache dirs and env overrides. */
export function familyRoots(f: BenchmarkFamily, le: LocatorEnv): string[] {
  const roots: string[] = [];
  const add = (p: string | undefined) => {
    if (p !== undefined && p !== '' && !roots.includes(p)) roots.push(p);
  };
  for (const alt of f.pathPattern.split(/\s*(?:;| or |\|)\s*/)) {
    const a = alt.trim();
    const env = /^\$([A-Z0-9_]+)/.exec(a);
    if (env !== null) {
      add(le.env[env[1]!]);
      continue;
    }
    if (!a.startsWith('<HF_HOME>/')) continue;
    const fixed: string[] = [];
    for (const seg of a.slice('<HF_HOME>/'.length).split('/')) {
      if (/[<{(*\s]/.test(seg) || seg === '' || seg === '...') break;
      fixed.push(seg);
    }
    // A pattern whose first segment is already a placeholder would mean "all of HF_HOME": skip.
    if (fixed.length > 0) add(path.join(le.hfHome, ...fixed));
  }
  for (const dir of f.cacheDirs) {
    add(path.join(le.hfHome, dir));
    if (le.env.LMMS_EVAL_MEDIA_ROOT !== undefined) add(path.join(le.env.LMMS_EVAL_MEDIA_ROOT, dir));
  }
  for (const v of f.envOverrides) if (/(DIR|ROOT|PATH|CACHE)$/.test(v) && !/AUTO|REPO|QA_PATH/.test(v)) add(le.env[v]);
  // Keep the outermost folder when one root lies inside another.
  return roots.filter((r) => !roots.some((o) => o !== r && r.startsWith(o + path.sep)));
}

/** Hub snapshot folders of the family's datasets (metadata, sometimes videos). */
function snapshotDirs(f: BenchmarkFamily, le: LocatorEnv): string[] {
  const out: string[] = [];
  for (const id of f.datasetIds) {
    const name = `datasets--${id.replace('/', '--')}`;
    for (const base of [le.hubCache, le.hfHome]) {
      const snaps = path.join(base, name, 'snapshots');
      if (!existsSync(snaps)) continue;
      out.push(snaps);
    }
  }
  return out;
}

async function walk(dir: string, visit: (file: string) => void, depth = 0): Promise<void> {
  if (depth > 12) return;
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return;
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    const p = path.join(dir, e.name);
    // Hub snapshots are symlink farms into blobs/: follow symlinked files, and symlinked folders one level (create_link).
    if (e.isDirectory() || (e.isSymbolicLink() && (await stat(p).catch(() => undefined))?.isDirectory())) await walk(p, visit, depth + 1);
    else visit(p);
  }
}

/** Rows of a cached metadata file (parquet, json or jsonl). */
async function readRows(file: string): Promise<Array<Record<string, unknown>>> {
  if (file.endsWith('.parquet')) {
    // Loaded only when a parquet file is met: most scans never need it.
    const [{ asyncBufferFromFile, parquetReadObjects }, { compressors }] = await Promise.all([import('hyparquet'), import('hyparquet-compressors')]);
    return (await parquetReadObjects({ file: await asyncBufferFromFile(file), compressors })) as Array<Record<string, unknown>>;
  }
  const text = await readFile(file, 'utf8');
  if (file.endsWith('.jsonl')) {
    return text
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }
  const doc = JSON.parse(text) as unknown;
  if (Array.isArray(doc)) return doc as Array<Record<string, unknown>>;
  if (doc !== null && typeof doc === 'object') {
    const firstArray = Object.values(doc).find(Array.isArray);
    if (firstArray !== undefined) return firstArray as Array<Record<string, unknown>>;
  }
  return [];
}

const stemOf = (v: string) => path.basename(v).replace(/\.[A-Za-z0-9]{2,5}$/, '');

/** Every video of a family on disk, with YouTube IDs from cached metadata, else from file names. */
export async function locateFamily(f: BenchmarkFamily, le: LocatorEnv = locatorEnv()): Promise<FamilyLocation> {
  const roots = familyRoots(f, le);
  const loc: FamilyLocation = {
    family: f.name,
    roots: roots.map((r) => ({ path: r, exists: existsSync(r) })),
    videos: [],
    idsWithoutVideo: [],
    expectedVideos: undefined,
    metadataFiles: [],
    unextractedArchives: [],
    problems: [],
  };
  if (f.framesOnly) {
    loc.problems.push('frames only: this benchmark ships no video files');
    return loc;
  }
  const files: Array<{ file: string; root: string }> = [];
  const metadata: string[] = [];
  const archives: string[] = [];
  for (const root of [...roots, ...snapshotDirs(f, le)]) {
    await walk(root, (file) => {
      const lower = file.toLowerCase();
      if (VIDEO_EXTENSIONS.has(path.extname(lower))) files.push({ file, root });
      else if (/\.(parquet|jsonl?)$/.test(lower)) metadata.push(file);
      else if (ARCHIVE.test(lower)) archives.push(file);
    });
  }

  // Metadata: video stem -> YouTube ID.
  const idByStem = new Map<string, string>();
  const named = new Set<string>();
  for (const m of metadata) {
    let rows: Array<Record<string, unknown>>;
    try {
      rows = await readRows(m);
    } catch (err) {
      loc.problems.push(`unreadable metadata ${m}: ${(err as Error).message}`);
      continue;
    }
    const usable = rows.filter((r) => r !== null && typeof r === 'object' && (f.videoField === undefined || f.videoField in r));
    if (usable.length === 0) continue;
    loc.metadataFiles.push(m);
    for (const r of usable) {
      const video = f.videoField === undefined ? undefined : r[f.videoField];
      if (typeof video === 'string') named.add(stemOf(video));
      const raw = f.youtubeIdField === undefined ? undefined : r[f.youtubeIdField];
      if (typeof raw !== 'string') continue;
      const yt = normalizeYoutubeId(stemOf(raw)) ?? normalizeYoutubeId(raw);
      if (yt === undefined) continue;
      for (const stem of [typeof video === 'string' ? stemOf(video) : undefined, stemOf(raw), yt, `v_${yt}`]) {
        if (stem !== undefined) idByStem.set(stem, yt);
      }
    }
  }
  if (named.size > 0) loc.expectedVideos = named.size;

  const seen = new Set<string>();
  for (const { file, root } of files) {
    if (seen.has(file)) continue;
    seen.add(file);
    const stem = stemOf(file);
    const fromMeta = idByStem.get(stem);
    // File names count as YouTube IDs only for families whose videos are YouTube videos.
    const fromName = fromMeta === undefined && f.youtubeIdField !== undefined ? youtubeIdFromFileName(file) : undefined;
    loc.videos.push({
      path: file,
      id: `${f.name}:${path.relative(root, file).split(path.sep).join('/')}`,
      youtubeId: fromMeta ?? fromName,
      youtubeIdSource: fromMeta !== undefined ? 'manifest' : fromName !== undefined ? 'file name' : undefined,
    });
  }
  const idsOnDisk = new Set(loc.videos.map((v) => v.youtubeId).filter((x) => x !== undefined));
  for (const yt of new Set(idByStem.values())) {
    if (!idsOnDisk.has(yt)) loc.idsWithoutVideo.push({ id: `${f.name}:youtube:${yt}`, youtubeId: yt });
  }
  loc.unextractedArchives = archives;
  if (archives.length > 0) {
    loc.problems.push(`${archives.length} unextracted archive(s), e.g. ${archives[0]}: extract them (LMMs-Eval does on first run) so their videos can be scanned`);
  }
  if (loc.roots.every((r) => !r.exists) && loc.metadataFiles.length === 0) {
    loc.problems.push(`not downloaded: none of ${roots.join(', ') || '(no known folder)'} exists`);
  } else if (loc.expectedVideos !== undefined && loc.videos.length < loc.expectedVideos) {
    loc.problems.push(`partial: ${loc.videos.length} of ${loc.expectedVideos} videos named by the metadata are on disk`);
  }
  return loc;
}
