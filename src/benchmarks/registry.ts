import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * LMMs-Eval video task families, from lmms-eval-video-tasks.json (read at LMMs-Eval commit
 * 75571cfe, 2026-08-06): where each family's videos land under HF_HOME and which field carries a
 * YouTube ID. The JSON is data; this module only interprets it.
 */
interface RawFamily {
  family: string;
  category: string;
  tasks: string[];
  dataset_path: string | null;
  previous_dataset_path: string | null;
  cache_dir: string | null;
  video_field: string | null;
  path_pattern: string | null;
  extensions: string[] | null;
  env_overrides: string[];
  youtube_id_field: string | null;
  youtube_id_note: string | null;
  size_note: string | null;
  notes: string | null;
}

export interface BenchmarkFamily {
  name: string;
  category: string;
  tasks: string[];
  /** Hugging Face dataset ids, new organisation first, then the pre-2026-07 one. */
  datasetIds: string[];
  /** Folders under HF_HOME named by the YAML's dataset_kwargs.cache_dir. */
  cacheDirs: string[];
  /** Document field naming the video. */
  videoField: string | undefined;
  /** Document field holding a YouTube ID (or a form it can be recovered from); undefined: not YouTube. */
  youtubeIdField: string | undefined;
  pathPattern: string;
  envOverrides: string[];
  /** No video files exist (frames embedded in the dataset). */
  framesOnly: boolean;
  notes: string;
}

const dataFile = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'benchmarks', 'lmms-eval-video-tasks.json');

/** First identifier of a free-text field description: "video_name (derivable)" -> "video_name". */
function fieldName(text: string | null): string | undefined {
  if (text === null) return undefined;
  const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)/.exec(text);
  const name = m?.[1]?.trim();
  return name === undefined || name === '' || name === '-' ? undefined : name;
}

/** "lmms-eval/VATEX (vatex_test) ; lmms-eval/VATEX_ZH (vatex_val_zh)" -> ["lmms-eval/VATEX", "lmms-eval/VATEX_ZH"]. */
function datasetIds(...values: Array<string | null>): string[] {
  const ids: string[] = [];
  for (const v of values) {
    if (v === null) continue;
    for (const m of v.matchAll(/(?:^|[\s;:])([A-Za-z0-9][\w.-]*\/[\w.-]+)/g)) {
      const id = m[1]!.replace(/\.json$/, '');
      if (!ids.includes(id) && !/^(datasets|resolve)\//.test(id)) ids.push(id);
    }
  }
  return ids;
}

/** "mlvu ; mlvu_test", "multi-hop-reasoning (video variants)", "None" -> clean folder names. */
function cacheDirs(text: string | null): string[] {
  if (text === null) return [];
  return text
    .split(/\s*[;|]\s*/)
    .map((s) => s.replace(/\(.*?\)/g, '').trim())
    .filter((s) => /^[\w.-]+(\/[\w.-]+)*$/.test(s) && s !== 'None');
}

let cached: BenchmarkFamily[] | undefined;

export function benchmarkFamilies(): BenchmarkFamily[] {
  if (cached !== undefined) return cached;
  const raw = JSON.parse(readFileSync(dataFile, 'utf8')) as RawFamily[];
  cached = raw.map((r) => ({
    name: r.family,
    category: r.category,
    tasks: r.tasks,
    datasetIds: datasetIds(r.dataset_path, r.previous_dataset_path),
    cacheDirs: cacheDirs(r.cache_dir),
    videoField: fieldName(r.video_field),
    youtubeIdField: r.youtube_id_field === null || r.youtube_id_field.trim() === '-' ? undefined : fieldName(r.youtube_id_field),
    pathPattern: r.path_pattern ?? '',
    envOverrides: r.env_overrides,
    framesOnly: /frames only/.test(r.category) || r.path_pattern === null || /^\(none/.test(r.path_pattern),
    notes: [r.youtube_id_note, r.size_note, r.notes].filter((x) => x !== null && x !== '').join(' '),
  }));
  return cached;
}

/** A family by name, or by any of its task names (case-insensitive). */
export function findFamily(name: string): BenchmarkFamily | undefined {
  const n = name.toLowerCase();
  return benchmarkFamilies().find((f) => f.name.toLowerCase() === n || f.tasks.some((t) => t.toLowerCase() === n));
}
