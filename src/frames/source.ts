import { decodedTimeline, packetTimeline, TimelineUnstated, timelineFromSampleTable, type FrameTimeline } from './timeline.js';
import { checkInputFile } from '../media/input.js';
import { readSampleTable, type SampleTable } from '../media/mp4/sample-table.js';
import { probeVideo, type ProbeResult } from '../media/probe.js';

/** What extraction knows about a video before decoding it. */
export interface FrameSource {
  probe: ProbeResult;
  /** The MP4 sample table, when `readSampleTable` states it exactly (the H.264 subset pass needs it). */
  sampleTable: SampleTable | undefined;
  timeline: FrameTimeline;
}

/**
 * Open a video for frame extraction: an MP4/MOV whose sample table the in-process reader states
 * exactly needs no ffprobe; any other file is probed by ffprobe (with its precise errors for bad
 * input) and its frames listed by a demux-only packet scan, or by a full decode when the packets
 * cannot state them.
 */
export async function openFrameSource(video: string, signal?: AbortSignal): Promise<FrameSource> {
  const { absolute, size } = await checkInputFile(video);
  const table = await readSampleTable(absolute, signal);
  if (table !== undefined) {
    const probe: ProbeResult = {
      file: video,
      absolutePath: absolute,
      sizeBytes: size,
      format: 'mov,mp4,m4a,3gp,3g2,mj2',
      duration: table.duration,
      video: { index: table.streamIndex, videoOrdinal: table.videoOrdinal, codec: table.codec, width: table.width, height: table.height, fps: table.frameTimes.length / table.duration, rotation: 0, pixelFormat: undefined },
      hasAudio: table.hasAudio,
    };
    return { probe, sampleTable: table, timeline: timelineFromSampleTable(table) };
  }
  // The packet scan of the first video stream runs beside the probe (two process starts at once);
  // if the probe picks another stream (cover art first), that stream is scanned after it.
  const media = { file: video, absolutePath: absolute };
  const early = new AbortController();
  const settle = (p: Promise<{ timeline: FrameTimeline; streamIndex: number }>) => p.then((r) => ({ r }), (err: unknown) => ({ err }));
  const scan = settle(packetTimeline(media, 'v:0', signal === undefined ? early.signal : AbortSignal.any([signal, early.signal])));
  let probe: ProbeResult;
  try {
    probe = await probeVideo(video, { signal });
  } catch (err) {
    early.abort();
    await scan;
    throw err;
  }
  let scanned = await scan;
  if ('r' in scanned && scanned.r.streamIndex !== probe.video.index) scanned = await settle(packetTimeline(media, String(probe.video.index), signal));
  if ('err' in scanned && !(scanned.err instanceof TimelineUnstated)) throw scanned.err;
  const timeline = 'r' in scanned ? scanned.r.timeline : await decodedTimeline(probe, signal);
  return { probe, sampleTable: undefined, timeline };
}
