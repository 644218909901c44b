import path from 'node:path';
import type { ServiceConfig } from './service.js';

/** Uploads, one directory per uploaded file (written by the API, read and then deleted by a job). */
export function uploadsDir(config: ServiceConfig): string {
  return path.join(config.dataDir, 'uploads');
}

/**
 * Where job outputs live under VDEDUP_DATA_DIR (written by workers, served by the API): extracted
 * frames per frames job, evidence strips per scan. Swept when their job's retention ends.
 */
export function framesDir(config: ServiceConfig, jobId: string): string {
  return path.join(config.dataDir, 'frames', jobId);
}

/** Evidence strips of a finished scan, one WebP per near-duplicate match (by match index). */
export function reportDir(config: ServiceConfig, scanId: string): string {
  return path.join(config.dataDir, 'reports', scanId);
}

export function stripFile(config: ServiceConfig, scanId: string, matchIndex: number): string {
  return path.join(reportDir(config, scanId), `strip-${matchIndex}.webp`);
}
