// Run an async function over many items with at most `limit` in flight: a descriptor is opened per item,
// so a tree of 100 000 files must not open 100 000 files at once.

/**
 * `fn` over `items`, at most `limit` calls at a time, results in item order. After the first failure no
 * further item starts; that failure is thrown once every call already started has settled, so nothing is
 * still running (or writing) when the caller cleans up.
 */
export async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failure: { err: unknown } | undefined;
  const lane = async (): Promise<void> => {
    while (failure === undefined && next < items.length) {
      const i = next++;
      try {
        results[i] = await fn(items[i] as T, i);
      } catch (err) {
        failure ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
  if (failure) throw failure.err;
  return results;
}
