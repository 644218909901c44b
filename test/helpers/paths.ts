import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const clips = path.join(repoRoot, 'fixtures', 'clips');
export const bad = path.join(repoRoot, 'fixtures', 'bad');
export const cliPath = path.join(repoRoot, 'bin', 'vdedup.js');

export function clip(name: string): string {
  return path.join(clips, name);
}

export function badInput(name: string): string {
  return path.join(bad, name);
}
