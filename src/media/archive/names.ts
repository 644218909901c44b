import type { ArchiveProblem } from './types.js';

/**
 * Member names come from the archive's author. They are never used as paths (temporary files get
 * generated names), but the scan reports them and derives keys from them, and a later consumer may
 * well extract by name: names that would escape a directory or hide a Windows path are refused here,
 * once, for every format.
 */

// eslint-disable-next-line no-control-regex -- control characters are what these look for
const CONTROL = /[\x00-\x1f\x7f]/;
// eslint-disable-next-line no-control-regex -- as above
const CONTROLS = /[\x00-\x1f\x7f]/g;

/** The name with `./` and empty components dropped, or why it is refused. */
export function normaliseMemberName(raw: string): { name: string } | { refused: string } {
  // Control characters (a NUL that C code would cut at, a newline that would split a report line)
  if (CONTROL.test(raw)) return { refused: 'unsafe name: control character' };
  // Backslashes are separators on Windows: `..\x` or `a\..\..\x` escape there.
  if (raw.includes('\\')) return { refused: 'unsafe name: backslash' };
  if (raw.startsWith('/') || /^[A-Za-z]:/.test(raw)) return { refused: 'unsafe name: absolute path' };
  const parts = raw.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) return { refused: "unsafe name: '..' component" };
  if (parts.length === 0) return { refused: 'unsafe name: empty' };
  return { name: parts.join('/') };
}

/**
 * WebDataset's sample key: the directory plus the base name up to its FIRST dot, so `x.seg.json`
 * and `x.mp4` are one sample `x`. A base name without a dot (or with only a leading dot, which
 * WebDataset skips) is its own key.
 */
export function webdatasetKey(memberName: string): string {
  const slash = memberName.lastIndexOf('/');
  const base = memberName.slice(slash + 1);
  const dot = base.indexOf('.');
  if (dot <= 0) return memberName;
  return memberName.slice(0, slash + 1) + base.slice(0, dot);
}

/** `.json` members are sidecars (video2dataset's metadata per sample). */
export function isSidecarName(name: string): boolean {
  return /\.json$/i.test(name);
}

/** The name as stored, printable on one line: control characters as \xNN. */
export function printableName(raw: string): string {
  return raw.replace(CONTROLS, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

export function problem(archive: string, member: string | undefined, message: string): ArchiveProblem {
  return member === undefined ? { archive, message } : { archive, member: printableName(member), message };
}

/** `<archive>: <member>: <message>`, one line. */
export function problemLine(p: ArchiveProblem): string {
  return p.member === undefined ? `${p.archive}: ${p.message}` : `${p.archive}: ${p.member}: ${p.message}`;
}

/**
 * An extension for a temporary copy of a member, so ffmpeg's probe gets the same hint it would get
 * from the original: only short alphanumerics survive, never anything path-like.
 */
export function safeExtension(name: string): string {
  const m = /\.([A-Za-z0-9]{1,8})$/.exec(name);
  return m ? `.${m[1]!.toLowerCase()}` : '.bin';
}

/** A size for messages: exact bytes (limits are exact). */
export function bytes(n: number): string {
  return `${n} bytes`;
}
