import { scanPaidCatalog, storeCatalogScan, type CatalogChange, type CatalogEntry, type ProviderScan } from '../../src/discovery/paid-catalog';
import { CliError, table, type CliContext } from '../context';

/**
 * `mms discover [--provider P] [--json]`: scans the paid providers now, stores the catalog in the
 * registry (diffed against the last scan) and prints it, unranked; `--use-case` ranks it for a use
 * case (cli/commands/paid-switch.ts).
 */
export interface PaidDiscoveryOutput {
  scanId: string;
  providers: ProviderScan[];
  changes: CatalogChange[];
  /** Providers read for the first time: no changes to report yet. */
  baseline: string[];
  catalog: CatalogEntry[];
}

const price = (v: number | null) => (v === null ? '-' : `$${v}`);
const day = (d: Date | null) => (d ? d.toISOString().slice(0, 10) : '-');
const flags = (e: CatalogEntry) =>
  (['tools', 'jsonMode', 'vision', 'reasoning'] as const)
    .filter((k) => e.capabilities[k])
    .map((k) => ({ tools: 'tools', jsonMode: 'json', vision: 'vision', reasoning: 'reasoning' })[k])
    .join(',') || '-';

export async function discoverPaid(c: CliContext, opts: { provider?: string[]; limit?: string }) {
  const config = c.config();
  let scan;
  try {
    scan = await scanPaidCatalog({ config, env: process.env }, opts.provider?.length ? opts.provider : undefined);
  } catch (err) {
    if (err instanceof Error && err.message.startsWith('unknown paid provider')) throw new CliError(err.message, 2);
    throw err;
  }
  const stored = await storeCatalogScan(await c.prisma(), scan);
  const catalog = [...scan.entries].sort((a, b) => a.provider.localeCompare(b.provider) || a.upstreamId.localeCompare(b.upstreamId));
  const output: PaidDiscoveryOutput = { scanId: stored.scanId, providers: scan.providers, changes: stored.changes, baseline: stored.baseline, catalog };
  for (const p of scan.providers) if (p.status !== 'scanned') c.progress(`${p.provider}: ${p.message}`);
  if (scan.providers.every((p) => p.status !== 'scanned')) {
    c.print(output, () => 'no paid provider could be read (see the messages above)');
    throw new CliError('no paid provider could be read', 1);
  }
  const limit = Number(opts.limit ?? 0);
  const shown = limit > 0 ? catalog.slice(0, limit) : catalog;
  c.print(output, () =>
    [
      `scan ${stored.scanId}: ${scan.providers.map((p) => `${p.provider} ${p.status === 'scanned' ? `${p.parsed} models (${p.rejected.length} rejected)` : p.status}`).join(', ')}`,
      'not ranked: `mms discover --use-case <id>` ranks the catalog for a use case on its logged prompts',
      table([
        ['PROVIDER', 'MODEL', 'CONTEXT', 'IN $/MTOK', 'OUT $/MTOK', 'PRICE SOURCE', 'CAPABILITIES', 'SHUTDOWN'],
        ...shown.map((e) => [e.provider, e.upstreamId, e.contextLength ?? '-', price(e.inputPerMTok), price(e.outputPerMTok), e.priceSource ?? '-', flags(e), e.shutdownAt ? `${day(e.shutdownAt)} (${e.shutdownSource})` : '-']),
      ]),
      stored.baseline.length ? `first scan of ${stored.baseline.join(', ')}: the baseline for the next diff` : '',
      stored.changes.length ? `changes since the last scan:\n${stored.changes.map((ch) => `  ${ch.change.padEnd(20)} ${ch.provider} ${ch.upstreamId} ${ch.before ? JSON.stringify(ch.before) : ''} → ${ch.after ? JSON.stringify(ch.after) : 'gone'}`).join('\n')}` : 'no changes since the last scan',
    ]
      .filter(Boolean)
      .join('\n'),
  );
}
