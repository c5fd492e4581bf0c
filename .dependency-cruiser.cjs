// The layer rules of docs/architecture.md, checked by `npm run lint:deps` (and .ci/run).
// Each folder of src/ may import only the folders listed for it; nothing may form a cycle.
/** Folders each folder may import (besides itself). Keep in step with docs/architecture.md. */
const mayImport = {
  util: [],
  pg: ['util'],
  runbook: ['util', 'pg'],
  engine: ['util', 'pg', 'runbook'],
  // Adapters and analyses the step kinds use; among themselves only as listed.
  flags: ['util', 'pg'],
  // The database host's figures (node_exporter, Prometheus), behind the engine's HostSignals port.
  host: ['util', 'engine'],
  monitor: ['util', 'pg', 'runbook', 'engine'],
  backfill: ['util', 'pg', 'runbook', 'engine'],
  analyze: ['util', 'pg', 'runbook', 'engine', 'backfill'],
  rehearsal: ['util', 'pg', 'runbook', 'engine', 'analyze'],
  steps: ['util', 'pg', 'runbook', 'engine', 'flags', 'monitor', 'backfill', 'analyze', 'rehearsal'],
  // Naive migrations -> runbooks (`pgrunbook init`): the analyzer's verdicts, the rehearsal's trace.
  init: ['util', 'pg', 'runbook', 'engine', 'analyze', 'rehearsal'],
  // Listeners and front-ends.
  report: ['util', 'pg', 'runbook', 'engine', 'monitor', 'analyze', 'rehearsal'],
  render: ['util', 'pg', 'runbook', 'engine', 'monitor'],
  integrations: ['util', 'pg', 'runbook', 'engine', 'monitor'],
  // The fleet view reads the fleet's event types (fleet imports no UI).
  ui: ['util', 'pg', 'runbook', 'engine', 'monitor', 'analyze', 'render', 'fleet'],
  // One run wiring (gates, store feed, intents, cancel pool, monitor, renderer) for run, resume, demo and each fleet target.
  wiring: ['util', 'pg', 'runbook', 'engine', 'monitor', 'render', 'ui', 'fleet'],
  // One runbook over many databases in waves; each target runs through the runner it is given.
  fleet: ['util', 'pg', 'runbook', 'engine', 'render'],
  demo: ['util', 'pg', 'runbook', 'engine', 'monitor', 'render', 'ui', 'wiring'],
  // Lessons: the demo's server, seed and traffic, the run wiring, and a screen of their own.
  learn: ['util', 'pg', 'runbook', 'engine', 'monitor', 'render', 'ui', 'wiring', 'demo'],
  // The composition root wires every kind and adapter, so it may import every layer.
  cli: ['util', 'pg', 'runbook', 'engine', 'flags', 'host', 'monitor', 'backfill', 'analyze', 'rehearsal', 'steps', 'init', 'report', 'render', 'integrations', 'ui', 'wiring', 'demo', 'learn', 'fleet'],
};

const layers = Object.keys(mayImport);

const layerRules = layers.map((from) => ({
  name: `layer-${from}`,
  comment: `src/${from} may import only: ${mayImport[from].join(', ') || 'nothing outside itself'} (docs/architecture.md)`,
  severity: 'error',
  from: { path: `^src/${from}/` },
  to: { path: `^src/(?!(?:${[from, ...mayImport[from]].join('|')})/)` },
}));

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'A cycle means two modules cannot be understood or changed apart; break it with a port or by moving the shared part down.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-unknown-layer',
      comment: 'Every folder of src/ is a layer listed in .dependency-cruiser.cjs and docs/architecture.md.',
      severity: 'error',
      from: { path: '^src/', pathNot: `^src/(?:${layers.join('|')})/` },
      to: {},
    },
    {
      name: 'no-ink-below-ui',
      comment: 'Only the UI (and the layers above it) render with React/Ink.',
      severity: 'error',
      from: { path: '^src/(?:util|pg|runbook|engine|flags|host|monitor|backfill|analyze|rehearsal|steps|init|report|render|integrations|fleet)/' },
      to: { path: 'node_modules/(?:react|ink|@inkjs|zustand)/' },
    },
    ...layerRules,
  ],
  options: {
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '\\.d\\.ts$' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'], extensions: ['.ts', '.tsx', '.js'] },
  },
};
