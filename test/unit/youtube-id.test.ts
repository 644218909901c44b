import { describe, expect, it } from 'vitest';
import { normalizeYoutubeId, youtubeIdFromFileName } from '../../src/media/youtube-id.js';

const ID = 'dQw4w9WgXcQ';

describe('normalizeYoutubeId', () => {
  it.each([
    ID,
    ` ${ID} `,
    `https://www.youtube.com/watch?v=${ID}`,
    `http://youtube.com/watch?v=${ID}&t=42s`,
    `https://m.youtube.com/watch?feature=share&v=${ID}`,
    `www.youtube.com/watch?v=${ID}#t=1`,
    `https://youtu.be/${ID}`,
    `https://youtu.be/${ID}?si=abc`,
    `https://www.youtube.com/shorts/${ID}`,
    `https://www.youtube.com/embed/${ID}?start=3`,
    `https://www.youtube-nocookie.com/embed/${ID}`,
    `https://www.youtube.com/v/${ID}`,
    `https://www.youtube.com/live/${ID}`,
    `v_${ID}`,
    `shorts:${ID}`,
    `${ID}_12_34`,
    `${ID}_12.5_40.0`,
  ])('normalises %s', (input) => {
    expect(normalizeYoutubeId(input)).toBe(ID);
  });

  it.each(['', 'short', `${ID}x`, 'https://vimeo.com/123456789', `https://www.youtube.com/watch?v=${ID.slice(1)}`, 'has space12'])(
    'rejects %s',
    (input) => {
      expect(normalizeYoutubeId(input)).toBeUndefined();
    },
  );
});

describe('youtubeIdFromFileName', () => {
  it('reads <id>.mp4, v_<id>.mp4 and clip suffixes', () => {
    expect(youtubeIdFromFileName(`/data/${ID}.mp4`)).toBe(ID);
    expect(youtubeIdFromFileName(`v_${ID}.mkv`)).toBe(ID);
    expect(youtubeIdFromFileName(`${ID}_10_30.webm`)).toBe(ID);
    expect(youtubeIdFromFileName('a-B_c1d2E3f.mp4')).toBe('a-B_c1d2E3f');
  });

  it('does not turn ordinary 11-character names into IDs', () => {
    expect(youtubeIdFromFileName('video_00001.mp4')).toBeUndefined();
    expect(youtubeIdFromFileName('hello_world.mp4')).toBeUndefined();
    expect(youtubeIdFromFileName('mandelbrot1.mp4')).toBeUndefined();
    expect(youtubeIdFromFileName('mandelbrot.mp4')).toBeUndefined();
  });
});
