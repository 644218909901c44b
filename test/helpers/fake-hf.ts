import { mkdir, writeFile, copyFile } from 'node:fs/promises';
import path from 'node:path';
import { parquetWriteBuffer } from 'hyparquet-writer';

/** Column-oriented rows -> a parquet file, as the Hugging Face hub cache stores dataset splits. */
export async function writeParquet(file: string, columns: Record<string, string[]>): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const buf = parquetWriteBuffer({ columnData: Object.entries(columns).map(([name, data]) => ({ name, data })) });
  await writeFile(file, Buffer.from(buf));
}

/** A video file (real bytes when `from` is given, else a placeholder the locator never decodes). */
export async function touchVideo(file: string, from?: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  if (from !== undefined) await copyFile(from, file);
  else await writeFile(file, 'placeholder');
}

export const snapshot = (hf: string, datasetId: string) =>
  path.join(hf, 'hub', `datasets--${datasetId.replace('/', '--')}`, 'snapshots', '0123456789abcdef0123456789abcdef01234567');
