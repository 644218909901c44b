import { normalizeYoutubeId, youtubeIdFromFileName } from '../youtube-id.js';

/**
 * The YouTube ID a sample's JSON sidecar names, so the scan's ID stage can drop an exact re-upload
 * of a benchmark video before decoding it. Looked for, first found wins:
 *
 * 1. `youtube_id`, `videoID`, `video_id`: fields that datasets use for the ID itself (any form
 *    normalizeYoutubeId reads: bare, `v_` prefix, clip suffix, URL);
 * 2. `url` (video2dataset's source URL), only when it is a YouTube URL;
 * 3. yt-dlp's info dict as video2dataset stores it (`yt_meta_dict`, or its `info`): `webpage_url` /
 *    `original_url` when a YouTube URL; else `id`, taken only when the dict says the extractor is
 *    YouTube, or nothing in the sidecar names a site and the id looks like a real YouTube ID
 *    (11 characters mixing letter cases or digits). yt-dlp serves a thousand other sites whose ids
 *    can be 11 characters too: when the extractor or the URL names another site, its id is not
 *    taken for a YouTube ID.
 *
 * Text that is not a JSON object gives undefined (the caller reports it).
 */
export function youtubeIdFromSidecar(jsonText: string): string | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(jsonText);
  } catch {
    return undefined;
  }
  if (!isObject(doc)) return undefined;
  for (const field of ['youtube_id', 'videoID', 'video_id']) {
    const id = normalizeYoutubeId(text(doc[field]));
    if (id !== undefined) return id;
  }
  const url = text(doc.url);
  const fromUrl = youtubeUrlId(url);
  if (fromUrl !== undefined) return fromUrl;

  const meta = isObject(doc.yt_meta_dict) ? doc.yt_meta_dict : undefined;
  if (meta === undefined) return undefined;
  const dicts = [meta, ...(isObject(meta.info) ? [meta.info] : [])];
  for (const d of dicts) {
    const id = youtubeUrlId(text(d.webpage_url)) ?? youtubeUrlId(text(d.original_url));
    if (id !== undefined) return id;
  }
  // What the sidecar says about the site: the extractor's name or a page URL.
  const extractors = dicts.flatMap((d) => [text(d.extractor), text(d.extractor_key)]).filter((s): s is string => s !== undefined);
  const pages = [url, ...dicts.flatMap((d) => [text(d.webpage_url), text(d.original_url)])].filter((s): s is string => s !== undefined && s !== '');
  const saysYoutube = extractors.some((e) => /^youtube/i.test(e));
  const namesSite = extractors.length > 0 || pages.length > 0;
  for (const d of dicts) {
    const raw = text(d.id);
    if (raw === undefined || !/^[A-Za-z0-9_-]{11}$/.test(raw)) continue;
    if (saysYoutube) return raw;
    if (!namesSite && youtubeIdFromFileName(raw) === raw) return raw;
  }
  return undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function text(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** The ID of a YouTube URL; undefined for anything else (a bare 11-character string is no URL). */
function youtubeUrlId(url: string | undefined): string | undefined {
  if (url === undefined || !/(?:^|[/.])(?:youtube(?:-nocookie)?\.com|youtu\.be)\//i.test(url)) return undefined;
  return normalizeYoutubeId(url);
}
