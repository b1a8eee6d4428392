/**
 * The report for people: a summary table (every criterion with its numbers), the two models'
 * performance, and the worst prompts side by side. Text for terminals, Markdown for files and PRs.
 */

import type { EvaluationReport, PerformanceStats } from './report';

const f3 = (x: number | null | undefined) => (x === null || x === undefined || Number.isNaN(x) ? '-' : x.toFixed(3));
const ms = (x: number | null) => (x === null ? '-' : `${Math.round(x)} ms`);
const usd = (x: number | null) => (x === null ? '-' : `$${x.toFixed(6)}`);
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const mark = { passed: 'PASS', failed: 'FAIL', not_judged: 'NOT JUDGED' } as const;

function textTable(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n');
}

function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  for (const paragraph of text.replace(/\r/g, '').split('\n')) {
    let line = '';
    for (const word of paragraph.split(/\s+/).filter(Boolean)) {
      for (let w = word; w.length > 0; ) {
        const room = width - (line ? line.length + 1 : 0);
        if (w.length <= room) {
          line = line ? `${line} ${w}` : w;
          w = '';
        } else if (!line) {
          out.push(w.slice(0, width));
          w = w.slice(width);
        } else {
          out.push(line);
          line = '';
        }
      }
    }
    out.push(line);
  }
  return out;
}

/** Two texts in two columns of `width` characters each. */
export function sideBySide(left: string, right: string, width = 58, maxLines = 12): string {
  const a = wrap(left, width);
  const b = wrap(right, width);
  const n = Math.min(Math.max(a.length, b.length), maxLines);
  const lines: string[] = [];
  for (let i = 0; i < n; i++) lines.push(`${(a[i] ?? '').padEnd(width)} │ ${b[i] ?? ''}`);
  if (Math.max(a.length, b.length) > maxLines) lines.push(`${'…'.padEnd(width)} │ …`);
  return lines.join('\n');
}

const perfRow = (name: string, p: PerformanceStats) => [name, ms(p.latencyP50Ms), ms(p.latencyP95Ms), f3(p.outputTokensMean), usd(p.costPerRequestUsd), `${p.errors}/${p.requests} (${pct(p.errorRate)})`];

export function renderReportText(report: EvaluationReport): string {
  const lines = [
    `evaluation ${report.evaluationId}  use case ${report.useCaseId}  suite ${report.suiteHash.slice(0, 12)}`,
    `candidate ${report.candidate.name} (${report.candidate.id}) vs current ${report.current.name} (${report.current.id})`,
    `prompts ${report.prompts.total}: ${report.prompts.sampled} from the logs, ${report.prompts.regression} regression, ${report.prompts.redTeam} red-team`,
    `meets_threshold: ${report.meetsThreshold ? 'YES' : 'NO'}`,
    '',
    textTable([['CRITERION', 'RESULT', 'DETAIL'], ...report.criteria.map((c) => [c.name, mark[c.status], c.detail])]),
    '',
    `similarity: raw ${f3(report.similarity.raw)}, calibrated ${f3(report.similarity.calibrated)} (threshold ${report.similarity.threshold}) — ${report.similarity.note}`,
    '',
    textTable([['MODEL', 'P50', 'P95', 'OUT TOKENS', 'COST/REQ', 'ERRORS'], perfRow('candidate', report.performance.candidate), perfRow('current', report.performance.current)]),
  ];
  if (report.tests.length) {
    lines.push('', textTable([['TEST', 'CANDIDATE', 'CURRENT', 'EXAMPLE FAILURE'], ...report.tests.map((t) => [t.test, t.candidatePassRate === null ? '-' : pct(t.candidatePassRate), t.currentPassRate === null ? '-' : pct(t.currentPassRate), t.example ?? ''])]));
  }
  if (report.worstPrompts.length) {
    lines.push('', 'worst prompts (current │ candidate):');
    for (const w of report.worstPrompts) {
      lines.push('', `#${w.index} [${w.kind}] similarity raw ${f3(w.rawSimilarity)} calibrated ${f3(w.calibratedSimilarity)}${w.issues.length ? ` — ${w.issues.join('; ')}` : ''}`, `prompt: ${w.prompt.slice(0, 300)}`, sideBySide(w.current, w.candidate));
    }
  }
  return lines.join('\n');
}

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n+/g, '<br>');

export function renderReportMarkdown(report: EvaluationReport): string {
  const lines = [
    `# Evaluation of ${report.candidate.name} against ${report.current.name} (${report.useCaseId})`,
    '',
    `**meets_threshold: ${report.meetsThreshold ? 'yes' : 'no'}** · ${report.prompts.total} prompts (${report.prompts.sampled} from the logs, ${report.prompts.regression} regression, ${report.prompts.redTeam} red-team) · suite \`${report.suiteHash}\` · evaluation \`${report.evaluationId}\``,
    '',
    '| criterion | result | detail |',
    '|---|---|---|',
    ...report.criteria.map((c) => `| ${c.name} | ${mark[c.status]} | ${cell(c.detail)} |`),
    '',
    `Similarity: raw ${f3(report.similarity.raw)}, calibrated ${f3(report.similarity.calibrated)} (threshold ${report.similarity.threshold}); ${report.similarity.note}.`,
    '',
    '| model | p50 | p95 | output tokens | cost / request | errors |',
    '|---|---|---|---|---|---|',
    ...[perfRow('candidate', report.performance.candidate), perfRow('current', report.performance.current)].map((r) => `| ${r.join(' | ')} |`),
  ];
  if (report.tests.length) {
    lines.push('', '| use-case test | candidate | current | example failure |', '|---|---|---|---|');
    for (const t of report.tests) lines.push(`| ${t.test} | ${t.candidatePassRate === null ? '-' : pct(t.candidatePassRate)} | ${t.currentPassRate === null ? '-' : pct(t.currentPassRate)} | ${cell(t.example ?? '')} |`);
  }
  if (report.worstPrompts.length) {
    lines.push('', '## Worst prompts', '', '| # | prompt | current | candidate | similarity (raw / calibrated) | issues |', '|---|---|---|---|---|---|');
    for (const w of report.worstPrompts) lines.push(`| ${w.index} (${w.kind}) | ${cell(w.prompt)} | ${cell(w.current)} | ${cell(w.candidate)} | ${f3(w.rawSimilarity)} / ${f3(w.calibratedSimilarity)} | ${cell(w.issues.join('; '))} |`);
  }
  return `${lines.join('\n')}\n`;
}
