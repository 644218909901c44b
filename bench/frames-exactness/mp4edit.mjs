#!/usr/bin/env node
// Small MP4 box surgery for the exactness fixtures (bench/frames-exactness/build.sh and
// test/e2e/frames-exactness.test.ts): shapes ffmpeg's muxer does not write by itself.
//   node mp4edit.mjs info <file>                               tracks: timescales, edit lists, sample descriptions, samples
//   node mp4edit.mjs edits <in> <out> <dur:media_time>[,...]   replace the video track's edit list; each edit is
//                                                              segment_duration (seconds) and media_time (seconds,
//                                                              -1 = empty edit); both rounded to the timescales
//   node mp4edit.mjs trim-end <in> <out> <seconds>             shorten the video track's last edit by <seconds>
//   node mp4edit.mjs multi-stsd <joined> <second> <out> <n>    <joined> = two encodes joined by ffmpeg's concat demuxer
//                                                              with -c copy (one sample description, the first's);
//                                                              give samples n.. the second encode's description
// Only moov is rewritten; chunk offsets are shifted when moov comes before mdat.
import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const CONTAINERS = new Set(['moov', 'trak', 'mdia', 'minf', 'stbl', 'edts']);

/** Parse boxes in buf[start, end): [{ type, data (payload), children? }]. */
function parse(buf, start, end, recurse) {
  const out = [];
  let off = start;
  while (off + 8 <= end) {
    let size = buf.readUInt32BE(off);
    const type = buf.toString('latin1', off + 4, off + 8);
    let hdr = 8;
    if (size === 1) {
      size = Number(buf.readBigUInt64BE(off + 8));
      hdr = 16;
    } else if (size === 0) size = end - off;
    if (size < hdr || off + size > end) throw new Error(`bad box ${type} at ${off}`);
    const box = { type, offset: off, size, data: buf.subarray(off + hdr, off + size) };
    if (recurse && CONTAINERS.has(type)) box.children = parse(buf, off + hdr, off + size, true);
    out.push(box);
    off += size;
  }
  return out;
}

function serialize(box) {
  const payload = box.children !== undefined ? Buffer.concat(box.children.map(serialize)) : box.data;
  const head = Buffer.alloc(8);
  head.writeUInt32BE(payload.length + 8, 0);
  head.write(box.type, 4, 'latin1');
  return Buffer.concat([head, payload]);
}

const child = (box, type) => box.children?.find((c) => c.type === type);
const path = (box, ...types) => types.reduce((b, t) => (b === undefined ? undefined : child(b, t)), box);

function fullBoxVersion(data) {
  return data[0];
}

function timescaleOf(data) {
  // mvhd / mdhd: version(1) flags(3) then creation, modification (4 or 8 bytes each), timescale.
  return data.readUInt32BE(fullBoxVersion(data) === 1 ? 20 : 12);
}

function handlerOf(trak) {
  const hdlr = path(trak, 'mdia', 'hdlr');
  return hdlr === undefined ? '?' : hdlr.data.toString('latin1', 8, 12);
}

function readElst(data) {
  const v = fullBoxVersion(data);
  const n = data.readUInt32BE(4);
  const entries = [];
  let o = 8;
  for (let i = 0; i < n; i++) {
    if (v === 1) {
      entries.push({ duration: Number(data.readBigUInt64BE(o)), mediaTime: Number(data.readBigInt64BE(o + 8)), rate: data.readInt32BE(o + 16) / 65536 });
      o += 20;
    } else {
      entries.push({ duration: data.readUInt32BE(o), mediaTime: data.readInt32BE(o + 4), rate: data.readInt32BE(o + 8) / 65536 });
      o += 12;
    }
  }
  return entries;
}

function writeElst(entries) {
  const data = Buffer.alloc(8 + 12 * entries.length);
  data.writeUInt32BE(entries.length, 4);
  entries.forEach((e, i) => {
    data.writeUInt32BE(e.duration, 8 + 12 * i);
    data.writeInt32BE(e.mediaTime, 12 + 12 * i);
    data.writeInt32BE(Math.round((e.rate ?? 1) * 65536), 16 + 12 * i);
  });
  return { type: 'elst', data };
}

function u32s(data, start, count) {
  return Array.from({ length: count }, (_, i) => data.readUInt32BE(start + 4 * i));
}

/** Per-sample file offsets and sizes of a track (stsc + stco/co64 + stsz). */
function sampleLayout(stbl) {
  const stsz = child(stbl, 'stsz').data;
  const fixed = stsz.readUInt32BE(4);
  const count = stsz.readUInt32BE(8);
  const sizes = fixed !== 0 ? new Array(count).fill(fixed) : u32s(stsz, 12, count);
  const stco = child(stbl, 'stco');
  const co64 = child(stbl, 'co64');
  let chunkOffsets;
  if (stco !== undefined) chunkOffsets = u32s(stco.data, 8, stco.data.readUInt32BE(4));
  else chunkOffsets = Array.from({ length: co64.data.readUInt32BE(4) }, (_, i) => Number(co64.data.readBigUInt64BE(8 + 8 * i)));
  const stsc = child(stbl, 'stsc').data;
  const runs = Array.from({ length: stsc.readUInt32BE(4) }, (_, i) => ({ first: stsc.readUInt32BE(8 + 12 * i), spc: stsc.readUInt32BE(12 + 12 * i), sdi: stsc.readUInt32BE(16 + 12 * i) }));
  const offsets = [];
  const descriptions = [];
  let s = 0;
  for (let c = 0; c < chunkOffsets.length && s < count; c++) {
    const run = runs.findLast((r) => r.first <= c + 1);
    let off = chunkOffsets[c];
    for (let k = 0; k < run.spc && s < count; k++, s++) {
      offsets.push(off);
      descriptions.push(run.sdi);
      off += sizes[s];
    }
  }
  return { sizes, offsets, descriptions, runs, chunks: chunkOffsets.length };
}

function stsdEntries(stbl) {
  const data = child(stbl, 'stsd').data;
  const n = data.readUInt32BE(4);
  return parse(data, 8, data.length, false).slice(0, n);
}

/** Tracks of a file: handler, timescales, edits (in seconds too), sample descriptions, samples. */
export function mp4Info(file) {
  const buf = readFileSync(file);
  const top = parse(buf, 0, buf.length, true);
  const moov = top.find((b) => b.type === 'moov');
  if (moov === undefined) throw new Error(`${file}: no moov box`);
  const movieScale = timescaleOf(child(moov, 'mvhd').data);
  const tracks = moov.children.filter((b) => b.type === 'trak').map((trak) => {
    const mediaScale = timescaleOf(path(trak, 'mdia', 'mdhd').data);
    const elst = path(trak, 'edts', 'elst');
    const stbl = path(trak, 'mdia', 'minf', 'stbl');
    const edits = elst === undefined ? [] : readElst(elst.data).map((e) => ({ ...e, seconds: e.duration / movieScale, mediaSeconds: e.mediaTime < 0 ? -1 : e.mediaTime / mediaScale }));
    const entries = stsdEntries(stbl);
    const stsz = child(stbl, 'stsz').data;
    return { handler: handlerOf(trak), mediaScale, edits, sampleDescriptions: entries.map((e) => e.type), samples: stsz.readUInt32BE(8) };
  });
  return { movieScale, fragmented: top.some((b) => b.type === 'moof'), moovFirst: top.findIndex((b) => b.type === 'moov') < top.findIndex((b) => b.type === 'mdat'), tracks };
}

/** Rewrite a file's moov through `edit(moov)`; chunk offsets follow when moov precedes mdat. */
function rewriteMoov(inFile, outFile, edit) {
  const buf = readFileSync(inFile);
  const top = parse(buf, 0, buf.length, true);
  const moovIndex = top.findIndex((b) => b.type === 'moov');
  const moov = top[moovIndex];
  edit(moov);
  let bytes = serialize(moov);
  const mdatAfter = top.slice(moovIndex + 1).some((b) => b.type === 'mdat' || b.type === 'moof');
  if (mdatAfter) {
    const delta = bytes.length - moov.size;
    if (delta !== 0) {
      for (const trak of moov.children.filter((b) => b.type === 'trak')) {
        const stbl = path(trak, 'mdia', 'minf', 'stbl');
        const stco = child(stbl, 'stco');
        if (stco !== undefined) for (let i = 0; i < stco.data.readUInt32BE(4); i++) stco.data.writeUInt32BE(stco.data.readUInt32BE(8 + 4 * i) + delta, 8 + 4 * i);
        const co64 = child(stbl, 'co64');
        if (co64 !== undefined) for (let i = 0; i < co64.data.readUInt32BE(4); i++) co64.data.writeBigUInt64BE(co64.data.readBigUInt64BE(8 + 8 * i) + BigInt(delta), 8 + 8 * i);
      }
      bytes = serialize(moov);
    }
  }
  const parts = top.map((b, i) => (i === moovIndex ? bytes : buf.subarray(b.offset, b.offset + b.size)));
  writeFileSync(outFile, Buffer.concat(parts));
}

function videoTrak(moov) {
  const trak = moov.children.find((b) => b.type === 'trak' && handlerOf(b) === 'vide');
  if (trak === undefined) throw new Error('no video track');
  return trak;
}

/** Replace the video track's edit list: [{ seconds, mediaSeconds (-1: empty edit) }]. */
export function setVideoEdits(inFile, outFile, edits) {
  rewriteMoov(inFile, outFile, (moov) => {
    const movieScale = timescaleOf(child(moov, 'mvhd').data);
    const trak = videoTrak(moov);
    const mediaScale = timescaleOf(path(trak, 'mdia', 'mdhd').data);
    const elst = writeElst(edits.map((e) => ({ duration: Math.round(e.seconds * movieScale), mediaTime: e.mediaSeconds < 0 ? -1 : Math.round(e.mediaSeconds * mediaScale) })));
    let edts = child(trak, 'edts');
    if (edts === undefined) {
      edts = { type: 'edts', children: [] };
      trak.children.splice(trak.children.findIndex((b) => b.type === 'mdia'), 0, edts);
    }
    edts.children = [elst];
  });
}

/** Shorten the video track's last edit by `seconds` (its media_time stays). */
export function trimVideoEnd(inFile, outFile, seconds) {
  rewriteMoov(inFile, outFile, (moov) => {
    const movieScale = timescaleOf(child(moov, 'mvhd').data);
    const elst = path(videoTrak(moov), 'edts', 'elst');
    if (elst === undefined) throw new Error('the video track has no edit list to trim');
    const entries = readElst(elst.data);
    const last = entries.at(-1);
    last.duration -= Math.round(seconds * movieScale);
    if (!(last.duration > 0)) throw new Error('trimmed edit would be empty');
    const fresh = writeElst(entries);
    elst.data = fresh.data;
  });
}

/**
 * `joined` holds encode A's samples then encode B's (ffmpeg concat demuxer, -c copy), all under A's
 * sample description. Give samples `firstOfSecond`.. B's description (copied from `second`): one
 * chunk per sample, stsc switching description at B's first sample.
 */
export function multiStsd(joined, second, outFile, firstOfSecond) {
  const bBuf = readFileSync(second);
  const bMoov = parse(bBuf, 0, bBuf.length, true).find((b) => b.type === 'moov');
  const bEntry = stsdEntries(path(videoTrak(bMoov), 'mdia', 'minf', 'stbl'))[0];
  rewriteMoov(joined, outFile, (moov) => {
    const stbl = path(videoTrak(moov), 'mdia', 'minf', 'stbl');
    const layout = sampleLayout(stbl);
    const [aEntry] = stsdEntries(stbl);
    const stsdHead = Buffer.alloc(8);
    stsdHead.writeUInt32BE(2, 4);
    const raw = (e) => serialize({ type: e.type, data: e.data });
    child(stbl, 'stsd').data = Buffer.concat([stsdHead, raw(aEntry), raw(bEntry)]);
    const stsc = Buffer.alloc(8 + 24);
    stsc.writeUInt32BE(2, 4);
    [[1, 1, 1], [firstOfSecond + 1, 1, 2]].forEach(([first, spc, sdi], i) => {
      stsc.writeUInt32BE(first, 8 + 12 * i);
      stsc.writeUInt32BE(spc, 12 + 12 * i);
      stsc.writeUInt32BE(sdi, 16 + 12 * i);
    });
    child(stbl, 'stsc').data = stsc;
    const n = layout.offsets.length;
    const stco = Buffer.alloc(8 + 4 * n);
    stco.writeUInt32BE(n, 4);
    layout.offsets.forEach((o, i) => stco.writeUInt32BE(o, 8 + 4 * i));
    stbl.children = stbl.children.filter((b) => b.type !== 'co64');
    const existing = child(stbl, 'stco');
    if (existing !== undefined) existing.data = stco;
    else stbl.children.push({ type: 'stco', data: stco });
  });
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [cmd, ...args] = process.argv.slice(2);
  if (cmd === 'info') {
    console.log(JSON.stringify(mp4Info(args[0])));
  } else if (cmd === 'edits') {
    const edits = args[2].split(',').map((e) => {
      const [seconds, mediaSeconds] = e.split(':').map(Number);
      return { seconds, mediaSeconds };
    });
    setVideoEdits(args[0], args[1], edits);
  } else if (cmd === 'trim-end') {
    trimVideoEnd(args[0], args[1], Number(args[2]));
  } else if (cmd === 'multi-stsd') {
    multiStsd(args[0], args[1], args[2], Number(args[3]));
  } else {
    console.error('usage: mp4edit.mjs info <file> | edits <in> <out> <dur:media>[,...] | trim-end <in> <out> <s> | multi-stsd <joined> <second> <out> <n>');
    process.exit(2);
  }
}
