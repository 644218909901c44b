import type { Match, ScanReport } from './engine.js';

const CSV_COLUMNS: Array<keyof Match> = [
  'train', 'bench', 'reason', 'trainStart', 'trainEnd', 'benchStart', 'benchEnd', 'matchedFrames', 'windowFrames', 'meanDistance', 'speed', 'flipped', 'cropped', 'inner', 'youtubeId',
  'trainArchive', 'trainKey', 'region',
];

/** `--keys-out`: one line per removed archive member, `<archive>\t<sample key>` (what a WebDataset pipeline filters on). */
export function removedKeysText(report: ScanReport): string {
  return report.removedMembers.map((m) => `${m.archive}\t${m.key}\n`).join('');
}

/** `Match.region` as one CSV cell: `main:x,y,width,height` (fractions of the training frame), `inset:...`, or `bench:center-9:16`. */
function regionCell(r: Match['region']): string | undefined {
  if (r === undefined) return undefined;
  return r.side === 'bench' ? `bench:${r.name}` : `${r.name}:${r.x},${r.y},${r.width},${r.height}`;
}

/** How a near-duplicate was compared, in words (", mirrored, inner half" ...; empty for whole frames, straight). */
export function comparisonLabel(m: Match): string {
  const speed = m.speed !== null && m.speed !== 1 ? `, speed ${m.speed}x` : '';
  return `${m.flipped === true ? ', mirrored' : ''}${m.cropped === true ? ', cropped' : ''}${m.inner === true ? ', inner half' : ''}${regionLabel(m)}${speed}`;
}

/** `Match.region` in words, after the match's kind. */
function regionLabel(m: Match): string {
  const r = m.region;
  if (r === undefined) return '';
  if (r.side === 'bench') return ', portrait crop (central 9:16 strip of the benchmark)';
  const pct = (v: number) => `${Math.round(v * 100)}%`;
  return `, ${r.name === 'main' ? 'main picture' : 'inset'} at ${pct(r.width)} x ${pct(r.height)} of the frame`;
}

function csvCell(v: unknown): string {
  if (v === undefined || v === null) return '';
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** One row per match, RFC 4180 quoting. */
export function reportToCsv(report: ScanReport): string {
  const rows = [CSV_COLUMNS.join(',')];
  for (const m of report.matches) rows.push(CSV_COLUMNS.map((c) => csvCell(c === 'region' ? regionCell(m.region) : m[c])).join(','));
  return `${rows.join('\n')}\n`;
}

function esc(s: unknown): string {
  return String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const fmtTime = (t: number | null) => (t === null ? '' : `${Math.floor(t / 60)}:${String(Math.round(t % 60)).padStart(2, '0')}`);

/** "videomme:data/x.mp4" -> "videomme"; "sub/dir/x.mp4" -> "sub"; "x.mp4" -> "x.mp4". */
function benchmarkOf(bench: string): string {
  const colon = bench.indexOf(':');
  if (colon > 0) return bench.slice(0, colon);
  const slash = bench.indexOf('/');
  return slash > 0 ? bench.slice(0, slash) : bench;
}

const STYLE = `
body{font:14px/1.4 system-ui,-apple-system,"DejaVu Sans",sans-serif;margin:0;color:#1d1d1f;background:#fafafa}
header{background:#16213e;color:#fff;padding:18px 28px}header h1{margin:0 0 4px;font-size:20px}header p{margin:0;opacity:.85}
main{padding:18px 28px}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:0 0 18px}.card{background:#fff;border:1px solid #e3e3e8;border-radius:8px;padding:10px 14px;min-width:140px}
.card b{display:block;font-size:22px}.card span{color:#555}
.controls{display:flex;gap:12px;align-items:center;margin:12px 0}
input[type=search],select{font:inherit;padding:6px 8px;border:1px solid #bbb;border-radius:6px}
table{border-collapse:collapse;width:100%;background:#fff}th,td{border-bottom:1px solid #e3e3e8;padding:6px 8px;text-align:left;vertical-align:top}
th button{font:inherit;font-weight:600;background:none;border:0;padding:0;cursor:pointer;color:inherit}
th button:focus-visible,input:focus-visible,select:focus-visible{outline:3px solid #4c8bf5;outline-offset:2px}
th[aria-sort=ascending] button::after{content:" \\25B2"}th[aria-sort=descending] button::after{content:" \\25BC"}
td.strip img{display:block;max-width:100%;height:auto;border-radius:4px}
.reason{display:inline-block;padding:1px 6px;border-radius:10px;font-size:12px;background:#e8eefc}.reason.youtube-id{background:#fde8d7}
code{font-size:12px;word-break:break-all}.muted{color:#777}
h2{font-size:16px;margin:22px 0 8px}`;

const SCRIPT = `
(function(){
  var tbody=document.querySelector('#matches tbody');
  var rows=Array.prototype.slice.call(tbody.rows);
  var filter=document.getElementById('filter'),reason=document.getElementById('reason'),count=document.getElementById('shown');
  function apply(){
    var q=filter.value.toLowerCase(),r=reason.value,n=0;
    rows.forEach(function(tr){var ok=(!q||tr.textContent.toLowerCase().indexOf(q)>=0)&&(!r||tr.dataset.reason===r);tr.hidden=!ok;if(ok)n++;});
    count.textContent=n+' of '+rows.length+' matches shown';
  }
  filter.addEventListener('input',apply);reason.addEventListener('change',apply);
  document.querySelectorAll('#matches th button').forEach(function(b){
    b.addEventListener('click',function(){
      var th=b.parentNode,key=b.dataset.key,num=b.dataset.type==='num';
      var dir=th.getAttribute('aria-sort')==='ascending'?'descending':'ascending';
      document.querySelectorAll('#matches th').forEach(function(h){h.removeAttribute('aria-sort');});
      th.setAttribute('aria-sort',dir);
      rows.sort(function(a,c){var x=a.dataset[key]||'',y=c.dataset[key]||'';var v=num?(parseFloat(x)||0)-(parseFloat(y)||0):x.localeCompare(y);return dir==='ascending'?v:-v;});
      rows.forEach(function(tr){tbody.appendChild(tr);});
    });
  });
  apply();
})();`;

/**
 * A self-contained report page (no network, no external assets): summary, a sortable and
 * filterable table of matches with an evidence strip per near-duplicate (images embedded as data
 * URIs), warnings and errors. `strips[i]` is the WebP strip of `report.matches[i]`, if any.
 */
export function reportToHtml(report: ScanReport, strips: Map<number, Buffer> = new Map()): string {
  const s = report.stats;
  const byReason = (r: string) => report.matches.filter((m) => m.reason === r).length;
  const perBench = new Map<string, Set<string>>();
  for (const m of report.matches) {
    const b = benchmarkOf(m.bench);
    const set = perBench.get(b) ?? new Set<string>();
    set.add(m.train);
    perBench.set(b, set);
  }
  const rows = report.matches
    .map((m, i) => {
      const strip = strips.get(i);
      const evidence =
        strip === undefined
          ? `<span class="muted">${m.reason === 'youtube-id' ? `same YouTube ID ${esc(m.youtubeId)} (${esc(m.youtubeIdSource)})` : m.trainArchive !== undefined ? 'no strip for archive members yet' : 'no strip'}</span>`
          : `<img src="data:image/webp;base64,${strip.toString('base64')}" alt="Aligned frames: benchmark above, training below, with per-frame Hamming distances" loading="lazy">`;
      const kind = `${m.reason}${comparisonLabel(m)}`;
      return (
        `<tr data-reason="${esc(m.reason)}" data-train="${esc(m.train)}" data-bench="${esc(m.bench)}" data-trainstart="${m.trainStart ?? ''}" data-matched="${m.matchedFrames ?? ''}" data-distance="${m.meanDistance ?? ''}">` +
        `<td><code>${esc(m.train)}</code>${m.trainKey === undefined ? '' : `<br><span class="muted">key ${esc(m.trainKey)}</span>`}</td><td><code>${esc(m.bench)}</code></td><td><span class="reason ${esc(m.reason)}">${esc(kind)}</span></td>` +
        `<td>${m.trainStart === null ? '' : `${fmtTime(m.trainStart)}–${fmtTime(m.trainEnd)}`}</td><td>${m.benchStart === null ? '' : `${fmtTime(m.benchStart)}–${fmtTime(m.benchEnd)}`}</td>` +
        `<td>${m.matchedFrames === null ? '' : `${m.matchedFrames} / ${m.windowFrames}`}</td><td>${m.meanDistance ?? ''}</td><td class="strip">${evidence}</td></tr>`
      );
    })
    .join('\n');
  const th = (key: string, label: string, type = 'text') => `<th scope="col"><button type="button" data-key="${key}" data-type="${type}">${label}</button></th>`;
  const list = (items: string[]) => (items.length === 0 ? '' : `<ul>${items.map((x) => `<li>${x}</li>`).join('')}</ul>`);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>vdedup scan report</title><style>${STYLE}</style></head>
<body><header><h1>vdedup scan report</h1><p>Training <code>${esc(report.train)}</code> against benchmark <code>${esc(report.bench)}</code> · preset <b>${esc(s.preset)}</b>${s.exact ? ' (exact)' : ''}${s.approximate ? ` · <b>approximate retrieval</b> (${esc(s.retrieval)}: every match shown is exact, some may be missing)` : ''} · ${s.seconds} s</p></header>
<main>
<section class="cards" aria-label="Summary">
<div class="card"><b>${s.trainVideos}</b><span>training videos scanned</span></div>
<div class="card"><b>${s.benchVideos}</b><span>benchmark videos</span></div>
<div class="card"><b>${report.removed.length}</b><span>training videos to remove</span></div>
<div class="card"><b>${byReason('youtube-id')}</b><span>YouTube-ID matches</span></div>
<div class="card"><b>${byReason('near-duplicate')}</b><span>near-duplicate segments</span></div>
<div class="card"><b>${report.errors.length}</b><span>unreadable videos</span></div>
</section>
<h2>Removed training videos per benchmark</h2>
${list([...perBench.entries()].sort((a, b) => b[1].size - a[1].size).map(([b, t]) => `<code>${esc(b)}</code>: ${t.size}`)) || '<p class="muted">None.</p>'}
<h2>Matches</h2>
<div class="controls"><label>Filter <input type="search" id="filter" placeholder="video name, benchmark, ID"></label>
<label>Reason <select id="reason"><option value="">all</option><option value="near-duplicate">near-duplicate</option><option value="youtube-id">youtube-id</option></select></label>
<span id="shown" class="muted" aria-live="polite"></span></div>
<table id="matches"><thead><tr>${th('train', 'Training video')}${th('bench', 'Benchmark video')}${th('reason', 'Reason')}${th('trainstart', 'Training time', 'num')}<th scope="col">Benchmark time</th>${th('matched', 'Matched frames', 'num')}${th('distance', 'Mean distance', 'num')}<th scope="col">Evidence (benchmark above, training below)</th></tr></thead>
<tbody>
${rows}
</tbody></table>
${report.warnings.length === 0 ? '' : `<h2>Warnings</h2>${list(report.warnings.map(esc))}`}
${report.errors.length === 0 ? '' : `<h2>Videos that could not be read</h2>${list(report.errors.map((e) => `${esc(e.side)} <code>${esc(e.video)}</code>: ${esc(e.code)}: ${esc(e.message)}`))}`}
</main><script>${SCRIPT}</script></body></html>
`;
}

/** One row of the scans page (what GET /v1/scans lists). */
export interface ScanListItem {
  scanId: string;
  state: string;
  train: string;
  bench: string;
  preset: string;
  videos: number;
  batches: { total: number; done: number; failed: number; pending: number };
  createdAt: string;
  finishedAt: string | null;
  removed?: number;
  error?: { code: string; message: string };
}

/**
 * The service's scans page: every scan with its progress, removals and links to its report.
 * Refreshes itself every 5 s while a scan runs; plain links and a table (keyboard-usable as is).
 */
export function scansToHtml(scans: ScanListItem[]): string {
  const running = scans.some((s) => s.state !== 'completed' && s.state !== 'failed');
  const rows = scans
    .map((s) => {
      const id = encodeURIComponent(s.scanId);
      const pct = s.batches.total === 0 ? 0 : Math.round((100 * (s.batches.done + s.batches.failed)) / s.batches.total);
      const result =
        s.state === 'completed'
          ? `${s.removed ?? 0} to remove · <a href="/v1/scans/${id}/report?format=html">report</a> · <a href="/v1/scans/${id}/report">JSON</a> · <a href="/v1/scans/${id}/report?format=csv">CSV</a>`
          : s.error !== undefined
            ? `<span class="reason youtube-id">${esc(s.error.code)}</span> ${esc(s.error.message)}`
            : '';
      return (
        `<tr data-state="${esc(s.state)}"><td><a href="/v1/scans/${id}"><code>${esc(s.scanId)}</code></a></td><td>${esc(s.state)}</td>` +
        `<td><progress max="100" value="${pct}" aria-label="batches fingerprinted">${pct}%</progress> ${s.batches.done + s.batches.failed}/${s.batches.total} batches · ${s.videos} videos</td>` +
        `<td><code>${esc(s.train)}</code></td><td><code>${esc(s.bench)}</code></td><td>${esc(s.preset)}</td><td>${esc(s.createdAt.replace('T', ' ').slice(0, 19))}</td><td>${result}</td></tr>`
      );
    })
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">${running ? '<meta http-equiv="refresh" content="5">' : ''}<title>vdedup scans</title><style>${STYLE}</style></head>
<body><header><h1>vdedup scans</h1><p>${scans.length} scan${scans.length === 1 ? '' : 's'}${running ? ' · refreshing every 5 s while one runs' : ''}</p></header>
<main>${
    scans.length === 0
      ? '<p class="muted">No scans yet (or all are older than the retention time). Start one with POST /v1/scans.</p>'
      : `<table id="scans"><caption class="muted">Newest first</caption><thead><tr><th scope="col">Scan</th><th scope="col">State</th><th scope="col">Progress</th><th scope="col">Training</th><th scope="col">Benchmark</th><th scope="col">Preset</th><th scope="col">Created (UTC)</th><th scope="col">Result</th></tr></thead>
<tbody>
${rows}
</tbody></table>`
  }</main></body></html>
`;
}
