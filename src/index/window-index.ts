import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { HierarchicalNSW as HnswType } from 'hnswlib-node';
import { VdedupError } from '../errors.js';

const require = createRequire(import.meta.url);
const { HierarchicalNSW } = require('hnswlib-node') as typeof import('hnswlib-node');

export interface WindowHit {
  /** Index of the indexed video in the caller's list. */
  video: number;
  /** First frame of the indexed window. */
  start: number;
  /** Squared L2 distance between the window embeddings. */
  distance: number;
}

export interface IndexParams {
  /** HNSW graph degree; 16 is hnswlib's default and a good recall/memory balance at 128 dimensions. */
  m: number;
  efConstruction: number;
  /** Search breadth; raised to at least k per query. */
  efSearch: number;
}

export const DEFAULT_INDEX_PARAMS: IndexParams = { m: 16, efConstruction: 200, efSearch: 64 };

/**
 * Approximate nearest-window index over window embeddings (hnswlib, L2). hnswlib-node calls are
 * synchronous: keep this off any HTTP event loop (CLI and workers only), and never search while
 * adding. Labels are dense integers mapped to (video, window start) here.
 */
export class WindowIndex {
  readonly dim: number;
  private readonly params: IndexParams;
  private hnsw: HnswType;
  private capacity: number;
  private videos: number[] = [];
  private starts: number[] = [];

  constructor(dim: number, params: IndexParams = DEFAULT_INDEX_PARAMS, initialCapacity = 1024) {
    this.dim = dim;
    this.params = params;
    this.capacity = Math.max(16, initialCapacity);
    this.hnsw = new HierarchicalNSW('l2', dim);
    this.hnsw.initIndex({ maxElements: this.capacity, m: params.m, efConstruction: params.efConstruction, randomSeed: 100 });
  }

  get size(): number {
    return this.videos.length;
  }

  /** Add `starts.length` window vectors (back to back in `vectors`) of one video. */
  addWindows(video: number, vectors: Float32Array, starts: Uint32Array): void {
    if (vectors.length !== starts.length * this.dim) {
      throw new VdedupError('INVALID_ARGUMENT', `expected ${starts.length * this.dim} floats, got ${vectors.length}`);
    }
    const needed = this.size + starts.length;
    if (needed > this.capacity) {
      // Grow geometrically: resizeIndex copies the whole graph.
      this.capacity = Math.max(needed, Math.ceil(this.capacity * 1.5));
      this.hnsw.resizeIndex(this.capacity);
    }
    for (let i = 0; i < starts.length; i++) {
      const label = this.videos.length;
      const v = vectors.subarray(i * this.dim, (i + 1) * this.dim);
      // hnswlib-node accepts plain arrays only; a NaN would corrupt the graph, so refuse it here.
      const arr = Array.from(v);
      if (!arr.every(Number.isFinite)) throw new VdedupError('INVALID_ARGUMENT', 'window vector holds a non-finite value');
      this.hnsw.addPoint(arr, label);
      this.videos.push(video);
      this.starts.push(starts[i]!);
    }
  }

  /**
   * The k nearest windows; with `radius` > 0, keeps doubling k (up to `maxK`) while the farthest
   * hit is still within `radius`, so every near copy is returned, not only the best k.
   */
  search(vector: Float32Array, k: number, radius = 0, maxK = 640): WindowHit[] {
    if (this.size === 0) return [];
    if (vector.length !== this.dim) throw new VdedupError('INVALID_ARGUMENT', `query has ${vector.length} dims, index ${this.dim}`);
    const query = Array.from(vector);
    if (!query.every(Number.isFinite)) throw new VdedupError('INVALID_ARGUMENT', 'query vector holds a non-finite value');
    let kk = Math.min(k, this.size);
    for (;;) {
      this.hnsw.setEf(Math.max(this.params.efSearch, kk));
      const { neighbors, distances } = this.hnsw.searchKnn(query, kk);
      const farthest = distances[distances.length - 1] ?? Infinity;
      if (radius > 0 && farthest <= radius && kk < Math.min(maxK, this.size)) {
        kk = Math.min(kk * 2, maxK, this.size);
        continue;
      }
      return neighbors.map((label, i) => ({
        video: this.videos[label]!,
        start: this.starts[label]!,
        distance: distances[i]!,
      }));
    }
  }

  /**
   * Persist to `dir` (index.hnsw + labels.bin + index.json). Files are written to temp names and
   * renamed, index.json last, so a reader never sees a half-written index.
   */
  async save(dir: string): Promise<void> {
    await mkdir(dir, { recursive: true });
    const tmp = `.tmp-${process.pid}`;
    this.hnsw.writeIndexSync(path.join(dir, `index.hnsw${tmp}`));
    const labels = new Uint32Array(this.size * 2);
    for (let i = 0; i < this.size; i++) {
      labels[2 * i] = this.videos[i]!;
      labels[2 * i + 1] = this.starts[i]!;
    }
    await writeFile(path.join(dir, `labels.bin${tmp}`), Buffer.from(labels.buffer));
    const meta = { format: 1, dim: this.dim, size: this.size, capacity: this.capacity, params: this.params };
    await writeFile(path.join(dir, `index.json${tmp}`), JSON.stringify(meta));
    for (const name of ['index.hnsw', 'labels.bin', 'index.json']) {
      await rename(path.join(dir, `${name}${tmp}`), path.join(dir, name));
    }
  }

  /** Load an index written by `save`; more windows can be added afterwards. */
  static async load(dir: string): Promise<WindowIndex> {
    let meta: { format: number; dim: number; size: number; capacity: number; params: IndexParams };
    try {
      meta = JSON.parse(await readFile(path.join(dir, 'index.json'), 'utf8')) as typeof meta;
    } catch (err) {
      throw new VdedupError('INVALID_ARGUMENT', `no readable window index in ${dir}: ${(err as Error).message}`);
    }
    if (meta.format !== 1) throw new VdedupError('INVALID_ARGUMENT', `unsupported index format ${meta.format} in ${dir}`);
    const index = new WindowIndex(meta.dim, meta.params, 16);
    index.hnsw.readIndexSync(path.join(dir, 'index.hnsw'));
    index.capacity = index.hnsw.getMaxElements();
    const buf = await readFile(path.join(dir, 'labels.bin'));
    const labels = new Uint32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
    if (labels.length !== meta.size * 2 || index.hnsw.getCurrentCount() !== meta.size) {
      throw new VdedupError('INVALID_ARGUMENT', `window index in ${dir} is inconsistent (labels ${labels.length / 2}, graph ${index.hnsw.getCurrentCount()}, meta ${meta.size})`);
    }
    for (let i = 0; i < meta.size; i++) {
      index.videos.push(labels[2 * i]!);
      index.starts.push(labels[2 * i + 1]!);
    }
    return index;
  }
}
