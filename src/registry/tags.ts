// What a subscription decides from a repository's tags, and when it looks again (pure).

/** The tag a publish gives a bundle by default, and the one a subscription looks for. */
export function channelTag(channel: string, sequence: number): string {
  return `${channel}-${sequence}`;
}

/**
 * The highest `CHANNEL-SEQUENCE` tag of the channel (sequence as a number: stable-10 is after stable-9), or
 * undefined. A tag is a name, not the truth: the signed manifest behind it decides what is installed.
 */
export function latestTag(tags: readonly string[], channel: string): { tag: string; sequence: number } | undefined {
  const prefix = `${channel}-`;
  let best: { tag: string; sequence: number } | undefined;
  for (const tag of tags) {
    if (!tag.startsWith(prefix)) continue;
    const digits = tag.slice(prefix.length);
    if (!/^(0|[1-9][0-9]{0,15})$/.test(digits)) continue;
    const sequence = Number(digits);
    if (!Number.isSafeInteger(sequence)) continue;
    if (!best || sequence > best.sequence) best = { tag, sequence };
  }
  return best;
}

/** Longest wait between two looks after failures. */
export const MAX_BACKOFF_SECONDS = 600;

/** Seconds until the next look: the poll interval, doubled per failure in a row up to MAX_BACKOFF_SECONDS. */
export function nextPollSeconds(pollSeconds: number, failuresInARow: number): number {
  if (failuresInARow <= 0) return pollSeconds;
  return Math.min(Math.max(pollSeconds, MAX_BACKOFF_SECONDS), pollSeconds * 2 ** Math.min(failuresInARow, 20));
}
