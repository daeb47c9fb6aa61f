// OpenSSH pattern-lists (ssh_config(5) PATTERNS, match.c): `*` and `?` wildcards, `!` negation. Pure.

function matchPattern(text: string, pattern: string): boolean {
  let t = 0;
  let p = 0;
  let starP = -1;
  let starT = 0;
  while (t < text.length) {
    if (p < pattern.length && (pattern[p] === '?' || pattern[p] === text[t])) {
      t++;
      p++;
    } else if (p < pattern.length && pattern[p] === '*') {
      starP = p++;
      starT = t;
    } else if (starP >= 0) {
      p = starP + 1;
      t = ++starT;
    } else return false;
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}

/** match_pattern_list: true when some pattern matches and no negated pattern does. */
export function matchPatternList(text: string, patterns: string[]): boolean {
  let positive = false;
  for (const pattern of patterns) {
    const negated = pattern.startsWith('!');
    if (matchPattern(text, negated ? pattern.slice(1) : pattern)) {
      if (negated) return false;
      positive = true;
    }
  }
  return positive;
}
