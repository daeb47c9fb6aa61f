// allowed_signers valid-after / valid-before times, read as OpenSSH reads them (misc.c parse_absolute_time),
// but strictly: a value that names no real moment is refused, never rounded into a neighbouring day. Pure.

export type SignerTime = { time: Date } | { problem: string };

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysIn(year: number, month: number): number {
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1]!;
}

/**
 * OpenSSH calls mktime() with tm_isdst = 0, so glibc reads a time without a zone as local STANDARD time
 * (in summer that is an hour later than the wall clock says). The standard offset is the larger of the
 * offsets in January and July of that year: the other one, if different, is daylight saving time.
 */
function localStandardOffsetMinutes(year: number): number {
  return Math.max(new Date(year, 0, 1).getTimezoneOffset(), new Date(year, 6, 1).getTimezoneOffset());
}

/**
 * `YYYYMMDD`, `YYYYMMDDHHMM` or `YYYYMMDDHHMMSS`, optionally followed by `Z` or `UTC` (any case) for UTC;
 * otherwise local standard time. Month 13, 30 February, hour 24, second 60 and anything at or before
 * 1970-01-01T00:00:00Z (which OpenSSH also refuses) are problems, not times.
 */
export function parseSignerTime(value: string): SignerTime {
  const m = /^(\d{4})(\d{2})(\d{2})(?:(\d{2})(\d{2})(\d{2})?)?(z|utc)?$/i.exec(value);
  if (!m) return { problem: 'is not YYYYMMDD[Z] or YYYYMMDDHHMM[SS][Z]' };
  const [year, month, day, hour = 0, minute = 0, second = 0] = m.slice(1, 7).map((x) => (x === undefined ? undefined : Number(x))) as number[];
  const y = year!;
  const mo = month!;
  const d = day!;
  if (mo < 1 || mo > 12) return { problem: `has month ${mo}` };
  if (d < 1 || d > daysIn(y, mo)) return { problem: `has day ${d}, but ${y}-${String(mo).padStart(2, '0')} has ${daysIn(y, mo)} days` };
  if (hour > 23) return { problem: `has hour ${hour}` };
  if (minute > 59) return { problem: `has minute ${minute}` };
  if (second > 59) return { problem: `has second ${second}` };
  if (y < 1970) return { problem: 'is not after 1970-01-01T00:00:00Z' }; // also keeps Date.UTC off its 0-99 → 19xx rule
  const asUtc = Date.UTC(y, mo - 1, d, hour, minute, second);
  const epoch = m[7] ? asUtc : asUtc + localStandardOffsetMinutes(y) * 60_000;
  if (epoch <= 0) return { problem: 'is not after 1970-01-01T00:00:00Z' };
  return { time: new Date(epoch) };
}
