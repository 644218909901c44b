import { isSidecarName, normaliseMemberName, webdatasetKey } from './names.js';
import type { TarEntryType } from './tar.js';
import type { ZipEntryType } from './zip.js';

/**
 * What a member is to the scan, the same rules for tar and zip: directories are skipped quietly
 * (they hold nothing), anything that is not a plain file is a problem (links are never followed:
 * a link's target would be read from outside the archive, or from another member under a second
 * name), unsafe names are problems, and of two members with one name the first is kept.
 */

export type Verdict =
  | { use: 'video' | 'sidecar'; name: string; key: string }
  | { use: 'skip' }
  | { use: 'problem'; message: string };

const NOT_FILES: Partial<Record<TarEntryType | ZipEntryType, string>> = {
  symlink: 'symbolic link, not followed',
  hardlink: 'hard link, not followed',
  char: 'character device, skipped',
  block: 'block device, skipped',
  fifo: 'FIFO, skipped',
  sparse: 'sparse file, not supported',
  other: 'not a regular file, skipped',
};

export class MemberJudge {
  /** Names of the members used (videos, sidecars): only those need the duplicate check. */
  private readonly used = new Set<string>();

  constructor(private readonly isVideo: (name: string) => boolean) {}

  judge(rawName: string, type: TarEntryType | ZipEntryType): Verdict {
    if (type === 'directory') return { use: 'skip' };
    const notFile = NOT_FILES[type];
    if (notFile !== undefined) return { use: 'problem', message: notFile };
    const checked = normaliseMemberName(rawName);
    if ('refused' in checked) return { use: 'problem', message: checked.refused };
    const { name } = checked;
    const use = this.isVideo(name) ? 'video' : isSidecarName(name) ? 'sidecar' : undefined;
    if (use === undefined) return { use: 'skip' };
    if (this.used.has(name)) return { use: 'problem', message: 'duplicate name; the first member of this name is kept' };
    this.used.add(name);
    return { use, name, key: webdatasetKey(name) };
  }
}
