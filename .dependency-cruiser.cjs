// The layer rule of MMS, checked by `npm run layers` (dependency-cruiser) on every `npm test`.
//
//   cli/ ─▶ api/ ─▶ clients/ ─▶ workflows/ ─▶ src/
//    │                              ▲  (types only) ─▶ activities/ ─▶ src/
//    ├─▶ workers/ ─▶ clients/, activities/, workflows/
//    └─▶ gateway/ ─▶ src/
//   testkit/ ─▶ src/      test/, bench/ ─▶ anything above (bench never test/)
//
// Each folder may import only the folders listed for it in `layers` (type-only imports included: a
// type from a higher layer still couples the lower one to it). The workflow bundle is checked
// separately (.dependency-cruiser-workflows.cjs), on the code that really runs in the sandbox.
const layers = {
  src: ['src'], // the core library: config, db, registry, providers, analysis, auth, routing
  activities: ['activities', 'src'],
  workflows: ['workflows', 'src', 'activities'], // activities: types only, see below
  gateway: ['gateway', 'src'], // the data plane; the management API is mounted by cli/, not here
  clients: ['clients', 'workflows', 'src'], // Temporal client facades (start, signal, query, update)
  workers: ['workers', 'clients', 'activities', 'workflows', 'src'], // an entry point: the control worker's process may use the client facades
  api: ['api', 'clients', 'workflows', 'src'],
  cli: ['cli', 'api', 'clients', 'workers', 'gateway', 'workflows', 'src'],
  scripts: ['scripts', 'src'],
  testkit: ['testkit', 'src'], // fake external providers, for test/ and bench/ only
  bench: ['bench', 'testkit', 'cli', 'api', 'clients', 'workers', 'gateway', 'workflows', 'activities', 'src'],
};
const folders = [...Object.keys(layers), 'test', 'bin'];

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A cycle makes two modules one: neither can be understood, tested or moved alone.',
      from: {},
      to: { circular: true },
    },
    ...Object.entries(layers).map(([layer, allowed]) => ({
      name: `layer-${layer}`,
      severity: 'error',
      comment: `${layer}/ may import only ${allowed.join(', ')} (see the layer graph in the README).`,
      from: { path: `^${layer}/` },
      to: { path: `^(${folders.filter((f) => !allowed.includes(f)).join('|')})/` },
    })),
    {
      name: 'workflows-import-activity-types-only',
      severity: 'error',
      comment: 'Workflow code runs in the deterministic sandbox: it calls activities through proxyActivities and imports only their types.',
      from: { path: '^workflows/' },
      to: { path: '^activities/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'An import that does not resolve is a typo or a missing package.',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    // Type-only imports count: they are part of what a folder depends on.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(src/generated|\\.mms|\\.tools)/' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'] },
    progress: { type: 'none' },
  },
};
