/**
 * Calls made in the same turn of the event loop share one `flush` (one database round trip instead
 * of one per caller); while a flush runs, later calls gather into the next. Each caller gets its own
 * result (`flush` returns one per item, in order) or the flush's error.
 */
export function coalesced<T, R = void>(flush: (items: T[]) => Promise<R[] | void>, maxBatch = 1000): (item: T) => Promise<R> {
  const queue: Array<{ item: T; resolve: (r: R) => void; reject: (err: unknown) => void }> = [];
  let running = false;
  let scheduled = false;
  const drain = async () => {
    scheduled = false;
    running = true;
    while (queue.length > 0) {
      const batch = queue.splice(0, maxBatch);
      try {
        const out = await flush(batch.map((b) => b.item));
        batch.forEach((b, i) => b.resolve((out ? out[i] : undefined) as R));
      } catch (err) {
        for (const b of batch) b.reject(err);
      }
    }
    running = false;
  };
  return (item) =>
    new Promise<R>((resolve, reject) => {
      queue.push({ item, resolve, reject });
      if (!running && !scheduled) {
        scheduled = true;
        setImmediate(() => void drain());
      }
    });
}
