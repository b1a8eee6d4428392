// The workflow bundle's rule, checked by `npm run layers` after .dependency-cruiser.cjs.
//
// Temporal replays workflow code and it must stay deterministic, so everything workflows/ reaches at
// run time — transitively — is either workflows/, src/ code that only computes, or the packages made
// for the sandbox. Type-only imports are dropped here (tsPreCompilationDeps: false), as they are from
// the bundle: a workflow may name an activity's or a Prisma type, never load it. ESLint's
// no-restricted-imports on workflows/ sees only direct imports; this follows every chain.
const base = require('./.dependency-cruiser.cjs');

// @opentelemetry/api: the context API only (Temporal's OpenTelemetry workflow interceptors run it in the
// sandbox); the rollout keeps the trace context an abort arrived in. No I/O, no clock.
const sandboxPackages = ['@temporalio/workflow', '@temporalio/common', 'zod', '@opentelemetry/api'];

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'workflows-deterministic',
      severity: 'error',
      comment:
        'workflows/ reaches, at run time, only workflows/, src/ and ' +
        `${sandboxPackages.join(', ')}: no Node built-ins, Prisma, provider SDKs, undici, pino, fastify or activities.`,
      from: { path: '^workflows/' },
      to: {
        reachable: true,
        pathNot: `^(workflows|src)/|^node_modules/(${sandboxPackages.join('|')})/`,
      },
    },
  ],
  options: { ...base.options, tsPreCompilationDeps: false },
};
