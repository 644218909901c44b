import { VdedupError } from '../../errors.js';

/**
 * WebDataset names its shards with brace patterns (`shards/{00000..09999}.tar`): numeric ranges
 * (zero padding kept, as braceexpand does: a bound written with a leading zero pads every number
 * to the wider bound) and lists (`{train,val}`); several groups expand to every combination, in
 * order. Nested braces, other ranges (letters) and unbalanced braces are refused, and so is a
 * pattern that would expand to more than maxCount names, before any name is made.
 */
export function expandShardPattern(pattern: string, maxCount = 1_000_000): string[] {
  const invalid = (why: string) => new VdedupError('INVALID_ARGUMENT', `shard pattern ${JSON.stringify(pattern)}: ${why}`);
  if (pattern === '') throw invalid('empty');
  const parts: (string | string[] | NumberRange)[] = [];
  let at = 0;
  while (at < pattern.length) {
    const open = pattern.indexOf('{', at);
    const close = pattern.indexOf('}', at);
    if (close >= 0 && (open < 0 || close < open)) throw invalid(`unmatched '}' at ${close}`);
    if (open < 0) {
      parts.push(pattern.slice(at));
      break;
    }
    parts.push(pattern.slice(at, open));
    if (close < 0) throw invalid(`unmatched '{' at ${open}`);
    const body = pattern.slice(open + 1, close);
    if (body.includes('{')) throw invalid('nested braces are not supported');
    parts.push(group(body, invalid));
    at = close + 1;
  }
  let count = 1;
  for (const p of parts) {
    count *= typeof p === 'string' ? 1 : Array.isArray(p) ? p.length : p.count;
    if (count > maxCount) throw invalid(`expands to more than ${maxCount} names`);
  }
  let names = [''];
  for (const p of parts) {
    const options = typeof p === 'string' ? [p] : Array.isArray(p) ? p : p.values();
    names = names.flatMap((prefix) => options.map((o) => prefix + o));
  }
  return names;
}

interface NumberRange {
  count: number;
  values(): string[];
}

function group(body: string, invalid: (why: string) => VdedupError): string[] | NumberRange {
  const range = /^(-?\d+)\.\.(-?\d+)$/.exec(body);
  if (range !== null) {
    const [left, right] = [range[1]!, range[2]!];
    if (left.replace('-', '').length > 15 || right.replace('-', '').length > 15) throw invalid(`range {${body}} has numbers too large`);
    const [from, to] = [Number(left), Number(right)];
    const padded = [left, right].some((s) => /^-?0\d/.test(s));
    const width = padded ? Math.max(left.length, right.length) : 0;
    const step = from <= to ? 1 : -1;
    return {
      count: Math.abs(to - from) + 1,
      values: () => {
        const out: string[] = [];
        for (let n = from; n !== to + step; n += step) {
          const digits = String(Math.abs(n)).padStart(n < 0 ? width - 1 : width, '0');
          out.push(n < 0 ? `-${digits}` : digits);
        }
        return out;
      },
    };
  }
  if (body.includes(',')) return body.split(',');
  throw invalid(`{${body}} is neither a range {A..B} of numbers nor a list {a,b}`);
}
