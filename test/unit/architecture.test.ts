import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/paths.js';

/**
 * The layering docs/ARCHITECTURE.md states, enforced: a change that makes the engine depend on the
 * service, a front door import another, a route see BullMQ, or a module deep in the engine read
 * the environment fails here instead of in review.
 */

const src = path.join(repoRoot, 'src');

/** Each top-level module of src/ and its layer: a module imports only from lower layers (or itself). */
const LAYERS: Record<string, number> = {
  errors: 0,
  version: 0,
  util: 0,
  native: 1,
  media: 2,
  fingerprint: 3,
  hnsw: 3,
  benchmarks: 3,
  frames: 4,
  scan: 5,
  config: 6,
  jobs: 7,
  app: 8,
  // Front doors: they never import each other (the CLI is the composition root: `vdedup serve`
  // and `vdedup worker` start the other two).
  http: 9,
  worker: 9,
  cli: 10,
};

/** Where `process.env` may be read: front doors, the configuration, and the modules that locate
 * things by a convention users set once per machine (ffmpeg, the native module, the fingerprint
 * store's default directory, LMMs-Eval's Hugging Face cache). */
const ENV_READERS = [/^cli\//, /^config\//, /^media\/binaries\.ts$/, /^native\/binding\.ts$/, /^fingerprint\/store\.ts$/, /^benchmarks\/locator\.ts$/];

/** Who may import BullMQ: the queue infrastructure and the worker process. */
const BULLMQ_USERS = [/^jobs\//, /^worker\//];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

const files = sourceFiles(src).map((abs) => ({ abs, rel: path.relative(src, abs).split(path.sep).join('/'), text: readFileSync(abs, 'utf8') }));
const moduleOf = (rel: string) => rel.split('/')[0]!.replace(/\.[jt]s$/, '');

/** Every module specifier a file imports, statically or with import(). */
function specifiers(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]/g)) out.push(m[1]!);
  for (const m of text.matchAll(/import\(\s*['"]([^'"]+)['"]\s*\)/g)) out.push(m[1]!);
  return out;
}

describe('architecture', () => {
  it('knows every top-level module of src/', () => {
    const unknown = [...new Set(files.map((f) => moduleOf(f.rel)))].filter((m) => !(m in LAYERS));
    expect(unknown, 'add the new module to LAYERS here and to docs/ARCHITECTURE.md').toEqual([]);
  });

  it('imports run down the layers only, and front doors never import each other', () => {
    const wrong: string[] = [];
    for (const f of files) {
      const from = moduleOf(f.rel);
      for (const spec of specifiers(f.text)) {
        if (!spec.startsWith('.')) continue;
        const target = path.relative(src, path.resolve(path.dirname(f.abs), spec)).split(path.sep).join('/');
        if (target.startsWith('..')) continue; // crates/node's generated binding
        const to = moduleOf(target);
        if (to === from) continue;
        if (!(LAYERS[to]! < LAYERS[from]!)) wrong.push(`${f.rel} imports ${target} (${from} is layer ${LAYERS[from]}, ${to} layer ${LAYERS[to]})`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('only the queue infrastructure and the worker import BullMQ', () => {
    const wrong = files
      .filter((f) => !BULLMQ_USERS.some((r) => r.test(f.rel)))
      .filter((f) => specifiers(f.text).some((s) => s === 'bullmq' || s.startsWith('bullmq/')))
      .map((f) => f.rel);
    expect(wrong).toEqual([]);
  });

  it('the environment is read by front doors, the configuration and the locators only', () => {
    const wrong = files.filter((f) => !ENV_READERS.some((r) => r.test(f.rel)) && /\bprocess\.env\b/.test(f.text)).map((f) => f.rel);
    expect(wrong).toEqual([]);
  });

  it('no source file grows past ~500 lines', () => {
    const long = files.map((f) => ({ rel: f.rel, lines: f.text.split('\n').length })).filter((f) => f.lines > 520);
    expect(long).toEqual([]);
  });

  it('the guards see real imports (a file known to import down the layers is parsed)', () => {
    const engine = files.find((f) => f.rel === 'scan/engine.ts');
    expect(engine && specifiers(engine.text)).toContain('./matcher.js');
  });
});
