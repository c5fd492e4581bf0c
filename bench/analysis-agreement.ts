// Analysis bar (DESIGN §7, issue 12): lock level, rewrite and scan each right for >= 99% of the
// corpus on every PostgreSQL major 14-18. For each installed major: start an embedded server, build the fixture, analyze
// every corpus statement with the live catalog (analyze --db) and offline (--pg-version only, the
// baseline), run it for real (rolled back, or watched from a second session) and compare.
//   npx tsx bench/analysis-agreement.ts [14,15,16,17,18]
import pg from 'pg';
import { EmbeddedServer, installedMajors } from '../src/pg/embedded-server.js';
import { runCorpus, type Agreement, type CorpusResult } from '../test/analyze/observe.js';
import { writeSection } from './lib/readme.js';

const wanted = process.argv[2] ? process.argv[2].split(',').map(Number) : [14, 15, 16, 17, 18];
const majors = wanted.filter((m) => installedMajors().includes(m));
const missing = wanted.filter((m) => !majors.includes(m));
if (missing.length) console.error(`not installed, skipped: PostgreSQL ${missing.join(', ')}`);

const pct = (x: number) => `${x.toFixed(1)}%`;
const results: (CorpusResult & { seconds: number })[] = [];

for (const major of majors) {
  const t0 = performance.now();
  const server = await EmbeddedServer.start({ major });
  try {
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    await admin.query('CREATE DATABASE agreement');
    await admin.end();
    const r = await runCorpus({ url: server.urlFor('agreement'), major });
    const seconds = (performance.now() - t0) / 1000;
    results.push({ ...r, seconds });
    console.log(
      `PG${major}: ${r.comparisons.length} statements in ${seconds.toFixed(1)} s — with --db: lock ${pct(r.agreement.lock)}, rewrite ${pct(r.agreement.rewrite)}, scan ${pct(r.agreement.scan)}, all ${pct(r.agreement.all)}; offline: all ${pct(r.offline.agreement.all)}`,
    );
    for (const m of r.mismatches) console.log(`  mismatch: ${m}`);
  } finally {
    await server.stop();
  }
}

if (results.length === 0) {
  console.error('no PostgreSQL major installed: nothing measured');
  process.exit(1);
}

function total(
  pick: (r: CorpusResult) => { comparisons: { lock: boolean; rewrite: boolean; scan: boolean; transactional: boolean }[] },
): Agreement {
  const all = results.flatMap((r) => pick(r).comparisons);
  const p = (f: (c: (typeof all)[number]) => boolean) => (100 * all.filter(f).length) / all.length;
  return {
    lock: p((c) => c.lock),
    rewrite: p((c) => c.rewrite),
    scan: p((c) => c.scan),
    transactional: p((c) => c.transactional),
    all: p((c) => c.lock && c.rewrite && c.scan && c.transactional),
  };
}
const live = total((r) => r);
const offline = total((r) => r.offline);
const BAR = 99;
// The bar holds on every major, not only on the total.
const bar = results.every((r) => Math.min(r.agreement.lock, r.agreement.rewrite, r.agreement.scan) >= BAR);
const statements = results.reduce((a, r) => a + r.comparisons.length, 0);

const rows = results.map(
  (r) =>
    `| ${r.major} (${Math.floor(r.serverVersionNum / 10000)}.${r.serverVersionNum % 10000}) | ${r.comparisons.length} | ${pct(r.agreement.lock)} | ${pct(r.agreement.rewrite)} | ${pct(r.agreement.scan)} | ${pct(r.agreement.transactional)} | ${pct(r.agreement.all)} | ${pct(r.offline.agreement.all)} | ${r.seconds.toFixed(0)} s |`,
);
const mismatches = results.flatMap((r) => r.mismatches);
const md = `## Analysis agreement (\`bench/analysis-agreement.ts\`)

Every statement of the corpus is analyzed, then run on a fixture on real PostgreSQL. The corpus: \`test/analyze/corpus.ts\`
(ADD COLUMN variants, type changes, NOT NULL, constraints, indexes, storage options, partitions, other DDL, DML and LOCK)
and \`test/analyze/corpus-docs.ts\`, built from the PostgreSQL reference pages (every ALTER TABLE subform, the commands of
the "Explicit Locking" page: statistics, sequences, rules, policies, publications, domains, composite types) and squawk's
and strong_migrations' rule examples. What the server did: the strongest lock per table, view and sequence from \`pg_locks\`
while the statement's transaction is open (CONCURRENTLY forms and VACUUM watched from a second session), relfilenode
before/after for rewrites, and for scans \`seq_scan\`/\`seq_tup_read\` (a sequential scan that read rows; a rewrite that
copies rows counts, as in the JSON contract). Baseline: the same analyzer without a catalog (\`--pg-version\` only).

| PostgreSQL | statements | lock mode | rewrite | scan | transactional | all four | all four, offline (baseline) | time |
|---|---|---|---|---|---|---|---|---|
${rows.join('\n')}
| **all** | ${statements} | **${pct(live.lock)}** | **${pct(live.rewrite)}** | **${pct(live.scan)}** | ${pct(live.transactional)} | **${pct(live.all)}** | ${pct(offline.all)} | |

Bar: lock, rewrite and scan each ≥ ${BAR}% with \`--db\` on every major — **${bar ? 'met' : 'NOT met'}**. The live catalog lifts full agreement from ${pct(offline.all)} to ${pct(live.all)} (${(live.all / Math.max(1, offline.all)).toFixed(2)}×).
${mismatches.length ? `\nMismatches:\n\n${mismatches.map((m) => `- ${m}`).join('\n')}\n` : '\nNo mismatches.\n'}`;

writeSection('analysis-agreement', md);
console.log(
  `\nall: lock ${pct(live.lock)}, rewrite ${pct(live.rewrite)}, scan ${pct(live.scan)}, all four ${pct(live.all)} (offline baseline ${pct(offline.all)}) — bar ${bar ? 'met' : 'NOT met'}`,
);
if (!bar) process.exitCode = 1;
