/**
 * The bench's upstream: the test suite's fake OpenAI-compatible server (real wire format, no request
 * recording) in a process of its own. Prints {"url"} once listening; exits when stdin closes.
 * Usage: node bin/run-ts.js bench/fake-upstream.ts [latencyMs]
 */
import { startFakeProvider } from '../testkit/fake-providers';

async function main() {
  const latencyMs = Number(process.argv[2] ?? 0);
  const fake = await startFakeProvider({ record: false, latencyMs });
  process.stdout.write(`${JSON.stringify({ url: fake.url, baseUrl: fake.baseUrls.openai_compatible, pid: process.pid })}\n`);
  process.stdin.on('end', () => void fake.close().finally(() => process.exit(0)));
  process.stdin.resume();
}

main().catch((err) => {
  process.stderr.write(`fake upstream failed: ${String(err)}\n`);
  process.exit(1);
});
