import { describe, expect, it } from 'vitest';
import { isVdedupError } from '../../src/errors.js';
import { expandShardPattern, youtubeIdFromSidecar } from '../../src/media/archive/index.js';

/** What a WebDataset sample's JSON says about its YouTube ID, and WebDataset's shard patterns. */

const ID = 'dQw4w9WgXcQ';
const json = (v: unknown) => JSON.stringify(v);

describe('youtubeIdFromSidecar', () => {
  it('reads the ID fields datasets use, in any form normalizeYoutubeId reads', () => {
    expect(youtubeIdFromSidecar(json({ youtube_id: ID }))).toBe(ID);
    expect(youtubeIdFromSidecar(json({ videoID: `v_${ID}` }))).toBe(ID);
    expect(youtubeIdFromSidecar(json({ video_id: `${ID}_12_34` }))).toBe(ID);
    expect(youtubeIdFromSidecar(json({ video_id: '1066692', url: `https://youtu.be/${ID}` }))).toBe(ID);
  });

  it("takes video2dataset's url only when it is a YouTube URL", () => {
    expect(youtubeIdFromSidecar(json({ url: `https://www.youtube.com/watch?v=${ID}&t=3`, key: '000001' }))).toBe(ID);
    expect(youtubeIdFromSidecar(json({ url: `https://www.youtube.com/shorts/${ID}` }))).toBe(ID);
    expect(youtubeIdFromSidecar(json({ url: 'https://vimeo.com/123456789' }))).toBeUndefined();
    // An 11-character string in url is no URL.
    expect(youtubeIdFromSidecar(json({ url: ID }))).toBeUndefined();
  });

  it("yt-dlp's info dict: webpage_url, or id when the extractor is YouTube", () => {
    expect(youtubeIdFromSidecar(json({ yt_meta_dict: { webpage_url: `https://www.youtube.com/watch?v=${ID}` } }))).toBe(ID);
    expect(youtubeIdFromSidecar(json({ yt_meta_dict: { info: { id: ID, extractor: 'youtube' } } }))).toBe(ID);
    expect(youtubeIdFromSidecar(json({ yt_meta_dict: { id: ID, extractor_key: 'Youtube' } }))).toBe(ID);
    expect(youtubeIdFromSidecar(json({ url: 'https://example.com/v.mp4', yt_meta_dict: { id: ID, extractor: 'youtube' } }))).toBe(ID);
  });

  it("another site's id is never taken for a YouTube ID; an id alone only when it looks like one", () => {
    expect(youtubeIdFromSidecar(json({ yt_meta_dict: { id: ID, extractor: 'vimeo' } }))).toBeUndefined();
    expect(youtubeIdFromSidecar(json({ url: 'https://www.dailymotion.com/video/x8abcde', yt_meta_dict: { id: ID } }))).toBeUndefined();
    expect(youtubeIdFromSidecar(json({ yt_meta_dict: { info: { id: ID } } }))).toBe(ID);
    // 11 characters, but a word and a counter: not taken without a site saying YouTube.
    expect(youtubeIdFromSidecar(json({ yt_meta_dict: { id: 'video_00001' } }))).toBeUndefined();
    expect(youtubeIdFromSidecar(json({ yt_meta_dict: { id: 'short' } }))).toBeUndefined();
  });

  it('no ID, not an object, not JSON: undefined', () => {
    expect(youtubeIdFromSidecar(json({ key: '000001', caption: 'a dog', status: 'success' }))).toBeUndefined();
    expect(youtubeIdFromSidecar(json([ID]))).toBeUndefined();
    expect(youtubeIdFromSidecar(json(ID))).toBeUndefined();
    expect(youtubeIdFromSidecar('{"youtube_id": ')).toBeUndefined();
    expect(youtubeIdFromSidecar('')).toBeUndefined();
  });
});

describe('expandShardPattern', () => {
  it('numeric ranges keep their zero padding', () => {
    expect(expandShardPattern('shards/{00000..00003}.tar')).toEqual(['shards/00000.tar', 'shards/00001.tar', 'shards/00002.tar', 'shards/00003.tar']);
    expect(expandShardPattern('{8..11}.tar')).toEqual(['8.tar', '9.tar', '10.tar', '11.tar']);
    expect(expandShardPattern('{08..11}.tar')).toEqual(['08.tar', '09.tar', '10.tar', '11.tar']);
    expect(expandShardPattern('{0..2}')).toEqual(['0', '1', '2']);
    expect(expandShardPattern('{3..1}')).toEqual(['3', '2', '1']);
    expect(expandShardPattern('shards/{00000..09999}.tar')).toHaveLength(10_000);
    expect(expandShardPattern('plain.tar')).toEqual(['plain.tar']);
  });

  it('several groups and lists expand to every combination, in order', () => {
    expect(expandShardPattern('{train,val}/{0..1}-{a,b}.tar')).toEqual([
      'train/0-a.tar', 'train/0-b.tar', 'train/1-a.tar', 'train/1-b.tar',
      'val/0-a.tar', 'val/0-b.tar', 'val/1-a.tar', 'val/1-b.tar',
    ]);
  });

  it('malformed or too large patterns are a clear INVALID_ARGUMENT', () => {
    const refusal = (pattern: string, max?: number) => {
      try {
        expandShardPattern(pattern, max);
        return 'expanded';
      } catch (err) {
        return isVdedupError(err) ? `${err.code}: ${err.message}` : String(err);
      }
    };
    expect(refusal('')).toBe('INVALID_ARGUMENT: shard pattern "": empty');
    expect(refusal('a/{000..009.tar')).toBe(`INVALID_ARGUMENT: shard pattern "a/{000..009.tar": unmatched '{' at 2`);
    expect(refusal('a/000..009}.tar')).toBe(`INVALID_ARGUMENT: shard pattern "a/000..009}.tar": unmatched '}' at 10`);
    expect(refusal('{a,{b,c}}')).toBe('INVALID_ARGUMENT: shard pattern "{a,{b,c}}": nested braces are not supported');
    expect(refusal('{a..z}')).toBe('INVALID_ARGUMENT: shard pattern "{a..z}": {a..z} is neither a range {A..B} of numbers nor a list {a,b}');
    expect(refusal('{0..9999}/{0..9999}.tar')).toBe('INVALID_ARGUMENT: shard pattern "{0..9999}/{0..9999}.tar": expands to more than 1000000 names');
    expect(refusal('{0..10}', 10)).toBe('INVALID_ARGUMENT: shard pattern "{0..10}": expands to more than 10 names');
    expect(refusal('{0..1234567890123456}')).toBe('INVALID_ARGUMENT: shard pattern "{0..1234567890123456}": range {0..1234567890123456} has numbers too large');
  });
});
