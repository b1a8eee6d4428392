/**
 * The one way tests wait for a condition instead of sleeping: polls `probe` until it returns a truthy
 * value (returned) or `timeoutMs` passes. A probe that throws counts as "not yet" (a workflow not
 * started yet, a row not written yet); its last error is in the timeout message.
 */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 30_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last probe error: ${lastError instanceof Error ? lastError.message : String(lastError)})` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
