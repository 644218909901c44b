import { describe, expect, it } from 'vitest';
import { native, nativeOrigin, platformArchAbi, platformPackageName } from '../../src/native/binding.js';

const W = 128;
const H = 128;

function frame(fill: (x: number, y: number) => number): Buffer {
  const b = Buffer.alloc(W * H);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) b[y * W + x] = fill(x, y);
  return b;
}

const uniform = frame(() => 128);
const black = frame(() => 0);
const gradient = frame((x, y) => (x * 2 + y) % 256);
const rings = frame((x, y) => Math.round(127 + 120 * Math.sin(Math.hypot(x - 50, y - 70) / 6)));

describe('native module loader', () => {
  it('names the prebuilt package of the running platform the napi-rs way', () => {
    if (process.platform === 'linux' && process.arch === 'x64') {
      // This machine (glibc): the package npm/linux-x64-gnu builds.
      expect(platformArchAbi()).toBe('linux-x64-gnu');
      expect(platformPackageName()).toBe('vdedup-linux-x64-gnu');
    }
    expect(platformPackageName()).toMatch(/^vdedup-(linux|darwin|win32)-/);
  });

  it('says which module it loaded', () => {
    native();
    const origin = nativeOrigin();
    expect(origin.source).toMatch(/^(VDEDUP_NATIVE_PATH|local build|platform package vdedup-\S+@\S+)$/);
    expect(origin.file).toMatch(/\.node$/);
  });
});

describe('native hashFrames binding', () => {
  it('hashes a whole batch in one call and returns typed arrays', async () => {
    const out = await native().hashFrames(Buffer.concat([uniform, black, gradient, rings]), W, H);
    expect(out.hashes).toBeInstanceOf(BigUint64Array);
    expect(out.flips).toBeInstanceOf(BigUint64Array);
    expect(out.quality).toBeInstanceOf(Float32Array);
    expect(out.content).toBeInstanceOf(Uint32Array);
    expect(out.hashes.length).toBe(4);
    expect(out.content.length).toBe(16);
    // imagehash conventions: uniform -> only the DC bit, black -> nothing.
    expect(out.hashes[0]).toBe(0x8000000000000000n);
    expect(out.hashes[1]).toBe(0n);
    expect(out.quality[0]).toBe(0);
    expect(out.quality[3]).toBeGreaterThan(1);
    expect(out.hashes[2]).not.toBe(out.hashes[3]);
  });

  it('gives the same hash for the same frame in any batch position', async () => {
    const a = await native().hashFrames(rings, W, H);
    const b = await native().hashFrames(Buffer.concat([gradient, rings, uniform]), W, H);
    expect(b.hashes[1]).toBe(a.hashes[0]);
    expect(b.flips[1]).toBe(a.flips[0]);
  });

  it('flip hash of a frame equals the hash of its mirror image', async () => {
    const mirrored = frame((x, y) => rings[y * W + (W - 1 - x)]!);
    const out = await native().hashFrames(Buffer.concat([rings, mirrored]), W, H, { trimBorders: false });
    const diff = out.flips[0]! ^ out.hashes[1]!;
    const bits = diff.toString(2).replaceAll('0', '').length;
    expect(bits).toBeLessThanOrEqual(1);
  });

  it('trims letterbox bars so a letterboxed copy hashes like the original', async () => {
    // Content squeezed into rows 16..111, black bars above and below: what ffmpeg's fixed-size
    // downscale of a letterboxed copy looks like.
    const boxed = frame((x, y) => (y < 16 || y >= 112 ? 0 : rings[Math.floor(((y - 16) * H) / 96) * W + x]!));
    const out = await native().hashFrames(Buffer.concat([rings, boxed]), W, H);
    expect(Array.from(out.content.subarray(4, 8))).toEqual([0, 16, 128, 96]);
    const bits = (out.hashes[0]! ^ out.hashes[1]!).toString(2).replaceAll('0', '').length;
    expect(bits).toBeLessThanOrEqual(4);
  });

  it('rejects a buffer that is not a whole number of frames', async () => {
    await expect(native().hashFrames(Buffer.alloc(W * H + 1), W, H)).rejects.toThrow(/multiple|frame/i);
  });

  it('rejects out-of-range options before any work', () => {
    expect(() => native().hashFrames(uniform, W, H, { blackLevel: 300 })).toThrow(/blackLevel/);
    expect(() => native().hashFrames(uniform, W, H, { minContent: 0 })).toThrow(/minContent/);
  });
});
