/**
 * YouTube video IDs: 11 characters of [A-Za-z0-9_-]. Benchmarks and corpora name videos by ID in
 * many forms (bare, `v_` prefix as in ActivityNet, `_start_end` clip suffixes, every URL shape);
 * all normalise to the bare ID so the ID stage can drop exact re-uploads before any decoding.
 */
const ID = '[A-Za-z0-9_-]{11}';
const ID_ONLY = new RegExp(`^${ID}$`);

const URL_PATTERNS: RegExp[] = [
  // youtube.com/watch?v=ID (any subdomain, extra query parameters before or after)
  new RegExp(`^(?:https?://)?(?:[a-z0-9-]+\\.)?youtube(?:-nocookie)?\\.com/watch\\?(?:.*&)?v=(${ID})(?:[&#].*)?$`, 'i'),
  // youtu.be/ID
  new RegExp(`^(?:https?://)?youtu\\.be/(${ID})(?:[?&#/].*)?$`, 'i'),
  // youtube.com/{shorts,embed,v,live,e}/ID
  new RegExp(`^(?:https?://)?(?:[a-z0-9-]+\\.)?youtube(?:-nocookie)?\\.com/(?:shorts|embed|v|live|e)/(${ID})(?:[?&#/].*)?$`, 'i'),
];

/** The 11-character ID in a URL or an ID-like string (`v_ID`, `shorts:ID`, `ID_12_34`), else undefined. */
export function normalizeYoutubeId(value: string | undefined | null): string | undefined {
  if (value === undefined || value === null) return undefined;
  const s = value.trim();
  if (s === '') return undefined;
  if (ID_ONLY.test(s)) return s;
  for (const re of URL_PATTERNS) {
    const m = re.exec(s);
    if (m?.[1] !== undefined) return m[1];
  }
  // Prefix forms used by benchmark metadata.
  const prefixed = /^(?:v_|shorts:|yt:|youtube:)(.+)$/i.exec(s);
  if (prefixed?.[1] !== undefined) return normalizeYoutubeId(prefixed[1]);
  // Clip forms: ID followed by _start_end (numbers, possibly decimals).
  const clip = new RegExp(`^(${ID})_\\d+(?:\\.\\d+)?_\\d+(?:\\.\\d+)?$`).exec(s);
  if (clip?.[1] !== undefined) return clip[1];
  return undefined;
}

/**
 * ID from a file name: `<id>.mp4`, `v_<id>.mp4`, `<id>_<start>_<end>.mp4`. A stem that merely has 11
 * characters of the right alphabet is accepted only when it looks random (mixes case or digits with
 * letters), so `my_video_01.mp4`-style names do not turn into IDs.
 */
export function youtubeIdFromFileName(fileName: string): string | undefined {
  const base = fileName.replace(/^.*[\\/]/, '');
  const stem = base.replace(/\.[A-Za-z0-9]{1,5}$/, '');
  const id = normalizeYoutubeId(stem);
  if (id === undefined) return undefined;
  return looksRandom(id) ? id : undefined;
}

function looksRandom(id: string): boolean {
  const lower = /[a-z]/.test(id);
  const upper = /[A-Z]/.test(id);
  const digit = /[0-9]/.test(id);
  // Real IDs are uniform over 64 symbols: almost all mix at least two of the classes, and a word
  // with separators (`hello_world`) or a plain counter (`video_00001`) is rejected.
  if (/^[a-z]+[_-][a-z]+$/.test(id) || /^[a-z]+[_-]?\d+$/i.test(id)) return false;
  return [lower, upper, digit].filter(Boolean).length >= 2;
}
