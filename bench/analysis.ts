/**
 * `npm run bench:analysis [-- --rollouts 400] [--power-rollouts 200] [--seed 1] [--only 1,5] [--json]`
 *
 * The false-rollback and miss rates of the canary analysis over whole rollouts, measured by simulation:
 * thousands of seeded rollouts whose calls are generated here and judged by the REAL analysis code
 * (judgeCanaryWindow, closeStage), stage by stage and window by window as the rollout workflow does.
 *
 * Traffic: `--rate` calls/s (120) for `--window` s (60) per window, players of `--calls-per-player`
 * calls (20) routed sticky to one side; stages 10/25/50/75/100 % with a 5 % stable holdback at 100 %;
 * an inconclusive window is extended up to 3 times, then the rollout would pause: the simulated operator
 * then moves it to the next stage, so a rollout can take 20 looks (the worst case for false rollbacks).
 *
 * Stable: 1 % of calls fail outright, 2 % of upstream attempts fail transiently and are retried (3
 * attempts, 20 ms back-off), latency log-normal (median 400 ms, σ 0.5), 0.2 % guardrail violations, cost
 * ~$0.0008, feedback on 10 % of calls. With `--icc ρ` players differ: each player's error, retry and
 * violation probabilities are Beta-distributed and their log-latency carries a random effect, so that
 * the intra-player correlation is ρ.
 */
import { judgeCanaryWindow, type Verdict } from '../src/analysis/canary';
import { GroupSampleBuilder } from '../src/analysis/group-sample';
import { closeStage, initialSequentialState } from '../src/analysis/sequential';
import { rolloutPolicySchema } from '../src/config/schema';
import { parseBenchArgs, type BenchFlag, type BenchOptions } from './support/args';

const FLAGS = {
  rollouts: { type: 'number', default: 400, min: 1, max: 1e6, integer: true },
  'power-rollouts': { type: 'number', default: 200, min: 1, max: 1e6, integer: true },
  seed: { type: 'number', default: 1, min: 0, max: 2 ** 32 - 1, integer: true },
  rate: { type: 'number', default: 120, min: 1, max: 1e5 },
  window: { type: 'number', default: 60, min: 1, max: 3600 },
  'calls-per-player': { type: 'number', default: 20, min: 1, max: 1e4, integer: true },
  /** Only the scenarios numbered here (1-based, as the table lists them), e.g. `--only 1,9` while iterating. */
  only: { type: 'numbers', default: [], min: 1, max: 100 },
  json: { type: 'boolean' },
} satisfies Record<string, BenchFlag>;
type Options = BenchOptions<typeof FLAGS>;

/** mulberry32: small, fast, seedable. */
class Random {
  private a: number;
  private spare: number | null = null;
  constructor(seed: number) {
    this.a = seed >>> 0;
  }
  next(): number {
    this.a = (this.a + 0x6d2b79f5) >>> 0;
    let t = this.a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  normal(): number {
    if (this.spare !== null) {
      const s = this.spare;
      this.spare = null;
      return s;
    }
    const u = 1 - this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }
  /** Gamma(shape, 1), Marsaglia–Tsang (with the shape < 1 boost). */
  gamma(shape: number): number {
    if (shape < 1) return this.gamma(shape + 1) * Math.pow(1 - this.next(), 1 / shape);
    const d = shape - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      let x: number;
      let v: number;
      do {
        x = this.normal();
        v = 1 + c * x;
      } while (v <= 0);
      v = v * v * v;
      const u = 1 - this.next();
      if (Math.log(u) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v;
    }
  }
  /** A player's own probability: mean p, intra-player correlation icc (Beta with a + b = 1/icc − 1). */
  playerProbability(p: number, icc: number): number {
    if (icc <= 0 || p <= 0) return p;
    const s = 1 / icc - 1;
    const x = this.gamma(p * s);
    const y = this.gamma((1 - p) * s);
    return x + y > 0 ? x / (x + y) : p;
  }
}

interface Behaviour {
  /** Calls that fail outright (no retry helps). */
  hardErrorRate: number;
  /** Upstream attempts that fail transiently; retried up to 3 attempts in all. */
  attemptFailureRate: number;
  /** Calls that hang until the timeout: failures of the window they started in. */
  hangRate: number;
  latencyMedianMs: number;
  latencySigma: number;
  /** Stretch of the latency above its 80th percentile (tail-only regression): 0 for none. */
  tailStretch: number;
  violationRate: number;
  costUsd: number;
  feedbackMean: number;
}

const stable: Behaviour = { hardErrorRate: 0.01, attemptFailureRate: 0.02, hangRate: 0, latencyMedianMs: 400, latencySigma: 0.5, tailStretch: 0, violationRate: 0.002, costUsd: 0.0008, feedbackMean: 4 };
const TIMEOUT_MS = 30_000;
const RETRY_BACKOFF_MS = 20;
const FAILED_ATTEMPT_MS = 30;
const Z80 = 0.8416212335729143;
const Z95 = 1.6448536269514722;
/** The stretch above the 80th percentile that moves p95 up by 40 % and leaves the median alone. */
const P95_PLUS_40 = Math.log(1.4) / (stable.latencySigma * (Z95 - Z80));

interface Player {
  id: number;
  hard: number;
  attempt: number;
  violation: number;
  /** Standardised random effect of log-latency. */
  latencyEffect: number;
  feedbackEffect: number;
}

function makePlayer(r: Random, id: number, b: Behaviour, icc: number): Player {
  return {
    id,
    hard: r.playerProbability(b.hardErrorRate, icc),
    attempt: r.playerProbability(b.attemptFailureRate, icc),
    violation: r.playerProbability(b.violationRate, icc),
    latencyEffect: icc > 0 ? Math.sqrt(icc) * r.normal() : 0,
    feedbackEffect: icc > 0 ? Math.sqrt(icc) * r.normal() : 0,
  };
}

function addCall(r: Random, into: GroupSampleBuilder, p: Player, b: Behaviour, icc: number) {
  if (r.next() < b.hangRate) {
    into.add({ player: p.id, error: true, firstAttemptFailed: true, attempts: 1, latencyMs: TIMEOUT_MS });
    return;
  }
  let attempts = 1;
  let extraMs = 0;
  let error = false;
  const firstAttemptFailed = r.next() < p.attempt;
  if (firstAttemptFailed) {
    let ok = false;
    while (!ok && attempts < 3) {
      attempts++;
      extraMs += FAILED_ATTEMPT_MS + RETRY_BACKOFF_MS;
      ok = r.next() >= p.attempt;
    }
    error = !ok;
  }
  const hard = r.next() < p.hard;
  // w is the call's standardised log-latency: player effect plus its own noise, marginally N(0, 1)
  let w = p.latencyEffect + Math.sqrt(1 - Math.max(0, icc)) * r.normal();
  if (b.tailStretch > 0 && w > Z80) w += b.tailStretch * (w - Z80);
  const latencyMs = b.latencyMedianMs * Math.exp(b.latencySigma * w) + extraMs;
  const failed = error || hard;
  const violation = !failed && r.next() < p.violation;
  const costUsd = b.costUsd * Math.exp(0.3 * r.normal());
  const feedbackScore = !failed && r.next() < 0.1 ? Math.min(5, Math.max(1, Math.round(b.feedbackMean + 0.8 * (p.feedbackEffect + Math.sqrt(1 - Math.max(0, icc)) * r.normal())))) : null;
  into.add({ player: p.id, error: failed, firstAttemptFailed: firstAttemptFailed || hard, attempts, violation, latencyMs: failed ? null : latencyMs, costUsd, feedbackScore });
}

interface Scenario {
  name: string;
  canary: Behaviour;
  margins: 'default' | 'zero';
  icc: number;
  kind: 'null' | 'power';
  /** Window length of this scenario (default `--window`): the promotion rows also run at the default 300 s. */
  windowSeconds?: number;
}

const STEPS = [10, 25, 50, 75, 100];
const HOLDBACK_PERCENT = 5;
const MAX_EXTENSIONS = 3;

interface RolloutOutcome {
  outcome: 'promoted' | 'rolled_back';
  /** Looks (analysed windows) until the outcome. */
  looks: number;
  /** Stages the simulated operator had to move on after the extensions ran out. */
  operatorMoves: number;
  failedMetrics: string[];
  /** Per stage the operator had to move: what kept its last look inconclusive. */
  blockingMetrics: string[];
}

function simulateRollout(r: Random, s: Scenario, o: Options, policy: ReturnType<typeof rolloutPolicySchema.parse>['analysis']): RolloutOutcome {
  let state = initialSequentialState();
  let looks = 0;
  let operatorMoves = 0;
  const blockingMetrics: string[] = [];
  let nextPlayer = 0;
  const callsPerWindow = Math.round(o.rate * (s.windowSeconds ?? o.window));
  const playersPerWindow = Math.max(1, Math.round(callsPerWindow / o.callsPerPlayer));
  for (const step of STEPS) {
    const canaryShare = step === 100 ? (100 - HOLDBACK_PERCENT) / 100 : step / 100;
    const canary = new GroupSampleBuilder();
    const baseline = new GroupSampleBuilder();
    let last: ReturnType<typeof judgeCanaryWindow> | undefined;
    let verdict: Verdict = 'inconclusive';
    for (let w = 0; w <= MAX_EXTENSIONS; w++) {
      for (let i = 0; i < playersPerWindow; i++) {
        const toCanary = r.next() < canaryShare;
        const b = toCanary ? s.canary : stable;
        const player = makePlayer(r, nextPlayer++, b, s.icc);
        for (let c = 0; c < o.callsPerPlayer; c++) addCall(r, toCanary ? canary : baseline, player, b, s.icc);
      }
      last = judgeCanaryWindow(canary.sample, baseline.sample, policy, { state });
      looks++;
      verdict = last.verdict;
      if (verdict === 'fail') return { outcome: 'rolled_back', looks, operatorMoves, blockingMetrics, failedMetrics: last.checks.filter((c) => c.verdict === 'fail').map((c) => c.metric) };
      if (verdict === 'pass') break;
    }
    if (verdict !== 'pass') {
      operatorMoves++;
      const blocking = last!.checks.filter((c) => c.verdict === 'inconclusive' || (c.verdict === 'not_judged' && c.metric !== 'latency_p99' && c.metric !== 'cost_per_request' && c.metric !== 'feedback_score'));
      blockingMetrics.push(...(blocking.length ? blocking.map((c) => c.metric) : ['min_samples']));
    }
    state = closeStage(state, last!.evidence);
  }
  return { outcome: 'promoted', looks, operatorMoves, blockingMetrics, failedMetrics: [] };
}

function main() {
  const o = parseBenchArgs('bench:analysis', process.argv.slice(2), FLAGS);
  const args = process.argv.slice(2).join(" ");
  const command = `npm run bench:analysis${args ? ` -- ${args}` : ""}`;
  const defaults = rolloutPolicySchema.parse({}).analysis;
  const zero = { ...defaults, maxErrorRateIncrease: 0, maxFirstAttemptFailureRateIncrease: 0, maxLatencyP95IncreasePercent: 0, maxLatencyP99IncreasePercent: 0, maxLatencySlowerProbability: 0.5, maxViolationRateIncrease: 0, maxUnhealthyEngagementRateIncrease: 0, maxCostIncreasePercent: 0, minFeedbackScoreRatio: 1 };
  const scenarios: Scenario[] = [
    { name: 'identical candidate, default margins', canary: stable, margins: 'default', icc: 0, kind: 'null' },
    { name: 'identical candidate, margins 0', canary: stable, margins: 'zero', icc: 0, kind: 'null' },
    { name: 'identical candidate, default margins, players ICC 0.3', canary: stable, margins: 'default', icc: 0.3, kind: 'null' },
    { name: 'identical candidate, margins 0, players ICC 0.3', canary: stable, margins: 'zero', icc: 0.3, kind: 'null' },
    // the default policy's window: promotion without a person (and false rollbacks) at 300 s
    { name: 'identical candidate, default margins, 300 s windows', canary: stable, margins: 'default', icc: 0, kind: 'null', windowSeconds: 300 },
    { name: 'identical candidate, default margins, players ICC 0.3, 300 s windows', canary: stable, margins: 'default', icc: 0.3, kind: 'null', windowSeconds: 300 },
    { name: 'error rate +3 pp', canary: { ...stable, hardErrorRate: stable.hardErrorRate + 0.03 }, margins: 'default', icc: 0, kind: 'power' },
    { name: 'p95 +40 %, median unchanged', canary: { ...stable, tailStretch: P95_PLUS_40 }, margins: 'default', icc: 0, kind: 'power' },
    { name: '20 % of upstream attempts failing behind retries', canary: { ...stable, attemptFailureRate: 0.2 }, margins: 'default', icc: 0, kind: 'power' },
    { name: '10 % of calls hanging until timeout', canary: { ...stable, hangRate: 0.1 }, margins: 'default', icc: 0, kind: 'power' },
  ];
  interface Row {
    scenario: string;
    kind: Scenario['kind'];
    rollouts: number;
    /** null rows: false rollbacks per rollout; power rows: share rolled back within 2 windows. */
    rate: number;
    target: string;
    met: boolean;
    rolledBackAny: number;
    meanLooks: number;
    neededOperator: number;
    failingMetrics: string;
    windowSeconds: number;
    /** Identical candidates: promoted through every stage without a person (no pause, no rollback). */
    promotedAlone: number | null;
    /** Mean looks and minutes (windows plus the grace period each) to that promotion. */
    promotionLooks: number | null;
    promotionMinutes: number | null;
    /** What kept the stages a person had to move inconclusive (metric: stages). */
    blockingMetrics: string;
  }
  const rows: Row[] = [];
  const started = Date.now();
  scenarios.forEach((s, index) => {
    if (o.only.length && !o.only.includes(index + 1)) return;
    const windowSeconds = s.windowSeconds ?? o.window;
    const n = s.kind === 'null' ? o.rollouts : o.powerRollouts;
    const r = new Random((o.seed * 1_000_003 + index * 7919) >>> 0);
    const policy = s.margins === 'zero' ? zero : defaults;
    let rolledBack = 0;
    let within2 = 0;
    let looks = 0;
    let moved = 0;
    let alone = 0;
    let aloneLooks = 0;
    const byMetric = new Map<string, number>();
    const blocking = new Map<string, number>();
    for (let i = 0; i < n; i++) {
      const out = simulateRollout(r, s, o, policy);
      looks += out.looks;
      if (out.operatorMoves > 0) moved++;
      if (out.outcome === 'promoted' && out.operatorMoves === 0) {
        alone++;
        aloneLooks += out.looks;
      }
      for (const m of out.blockingMetrics) blocking.set(m, (blocking.get(m) ?? 0) + 1);
      if (out.outcome === 'rolled_back') {
        rolledBack++;
        if (out.looks <= 2) within2++;
        for (const m of out.failedMetrics) byMetric.set(m, (byMetric.get(m) ?? 0) + 1);
      }
    }
    const rate = s.kind === 'null' ? rolledBack / n : within2 / n;
    rows.push({
      scenario: s.name,
      kind: s.kind,
      rollouts: n,
      rate,
      target: s.kind === 'null' ? `≤ ${(1 - defaults.confidence).toFixed(2)}` : '≥ 0.95',
      met: s.kind === 'null' ? rate <= 1 - defaults.confidence : rate >= 0.95,
      rolledBackAny: rolledBack / n,
      meanLooks: looks / n,
      neededOperator: moved / n,
      failingMetrics: [...byMetric.entries()].map(([m, k]) => `${m} ${k}`).join(', ') || '-',
      windowSeconds,
      promotedAlone: s.kind === 'null' ? alone / n : null,
      promotionLooks: s.kind === 'null' && alone ? aloneLooks / alone : null,
      promotionMinutes: s.kind === 'null' && alone ? ((aloneLooks / alone) * (windowSeconds + defaults.graceSeconds)) / 60 : null,
      blockingMetrics: [...blocking.entries()].sort((a, b) => b[1] - a[1]).map(([m, k]) => `${m} ${k}`).join(', ') || '-',
    });
    if (!o.json) process.stderr.write(`${s.name}: done (${((Date.now() - started) / 1000).toFixed(0)} s)\n`);
  });
  if (o.json) {
    console.log(JSON.stringify({ command, options: o, rows }));
    return;
  }
  console.log(`$ ${command}`);
  console.log(
    `${o.rate} calls/s, ${o.window} s windows (unless the row says otherwise; each look also waits the ${defaults.graceSeconds} s grace), ${o.callsPerPlayer} calls per player, stages ${STEPS.join('/')} % (${HOLDBACK_PERCENT} % stable holdback at 100 %), up to ${MAX_EXTENSIONS} extensions a stage, confidence ${defaults.confidence}, seed ${o.seed}`,
  );
  const header = ['scenario', 'window', 'rollouts', 'figure', 'target', 'met', 'rolled back (any look)', 'mean looks', 'promoted without a person (looks, minutes)', 'operator moved a stage', 'failing metrics (rollouts)', 'inconclusive at a pause (stages)'];
  const table = rows.map((row) => [
    row.scenario,
    `${row.windowSeconds} s`,
    String(row.rollouts),
    `${row.rate.toFixed(4)} ${row.kind === 'null' ? 'false rollbacks' : 'rolled back ≤ 2 windows'}`,
    row.target,
    row.met ? 'yes' : 'NO',
    row.rolledBackAny.toFixed(4),
    row.meanLooks.toFixed(2),
    row.promotedAlone === null ? '-' : `${row.promotedAlone.toFixed(3)} (${row.promotionLooks?.toFixed(1) ?? '-'}, ${row.promotionMinutes?.toFixed(1) ?? '-'} min)`,
    row.neededOperator.toFixed(3),
    row.failingMetrics,
    row.blockingMetrics,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((t) => t[i]!.length)));
  for (const line of [header, ...table]) console.log(line.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd());
  console.log(`(${((Date.now() - started) / 1000).toFixed(0)} s on a shared 2-CPU machine)`);
}

main();
