import { createRequire } from 'node:module';
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
export class HnswWindowIndex {
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
}
