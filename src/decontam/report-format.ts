import type { Match, ScanReport } from './scan.js';

const CSV_COLUMNS: Array<keyof Match> = [
  'train', 'bench', 'reason', 'trainStart', 'trainEnd', 'benchStart', 'benchEnd', 'matchedFrames', 'windowFrames', 'meanDistance', 'flipped', 'cropped', 'youtubeId',
];

function csvCell(v: unknown): string {
  if (v === undefined || v === null) return '';
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** One row per match, RFC 4180 quoting. */
export function reportToCsv(report: ScanReport): string {
  const rows = [CSV_COLUMNS.join(',')];
  for (const m of report.matches) rows.push(CSV_COLUMNS.map((c) => csvCell(m[c])).join(','));
  return `${rows.join('\n')}\n`;
}

function esc(s: unknown): string {
  return String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const fmtTime = (t: number | null) => (t === null ? '' : `${Math.floor(t / 60)}:${String(Math.round(t % 60)).padStart(2, '0')}`);

/** A self-contained summary page (no external assets). */
export function reportToHtml(report: ScanReport): string {
  const s = report.stats;
  const rows = report.matches
    .map(
      (m) =>
        `<tr><td>${esc(m.train)}</td><td>${esc(m.bench)}</td><td>${esc(m.reason)}${m.flipped === true ? ' (mirrored)' : ''}${m.cropped === true ? ' (cropped)' : ''}</td>` +
        `<td>${fmtTime(m.trainStart)}–${fmtTime(m.trainEnd)}</td><td>${fmtTime(m.benchStart)}–${fmtTime(m.benchEnd)}</td>` +
        `<td>${m.matchedFrames ?? ''}${m.windowFrames === null ? '' : ` / ${m.windowFrames}`}</td><td>${m.meanDistance ?? ''}</td></tr>`,
    )
    .join('\n');
  const errors = report.errors.map((e) => `<li>${esc(e.side)} <code>${esc(e.video)}</code>: ${esc(e.code)}: ${esc(e.message)}</li>`).join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>vdedup scan report</title>
<style>body{font:14px system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}th{background:#f3f3f3}code{font-size:12px}</style></head>
<body><h1>vdedup scan report</h1>
<p>Training: <code>${esc(report.train)}</code> (${s.trainVideos} videos) · Benchmark: <code>${esc(report.bench)}</code> (${s.benchVideos} videos) · preset <b>${esc(s.preset)}</b>${s.exact ? ' (exact)' : ''} · ${s.seconds} s</p>
<p><b>${report.removed.length}</b> training videos to remove: ${s.youtubeIdMatches} by YouTube ID, ${s.nearDuplicateMatches} near-duplicate segments. ${s.errors} videos could not be read.</p>
<table><thead><tr><th>train</th><th>bench</th><th>reason</th><th>train time</th><th>bench time</th><th>matched frames</th><th>mean distance</th></tr></thead>
<tbody>
${rows}
</tbody></table>
${errors === '' ? '' : `<h2>Errors</h2><ul>${errors}</ul>`}
</body></html>
`;
}
