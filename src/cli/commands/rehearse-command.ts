// `pgrunbook rehearse FILE`: the test phase on a sandbox copy. Deploy and rollback run there,
// traced; the source is only read. Exit 0 when the deploy completed and the rollback was verified.
import type { Command } from 'commander';
import { projectionRange } from '../../rehearsal/projection.js';
import { EventBus, type RunEvent } from '../../engine/events.js';
import { parseSampleMethod, parseSamplePct } from '../../rehearsal/sample-arg.js';
import { rehearsalJson } from '../../report/rehearsal-json.js';
import { writeRehearsalReport } from '../../report/rehearsal-report-files.js';
import { redact } from '../../util/secrets.js';
import { withDb, withVars } from '../options.js';
import { stdoutWriter } from '../../render/output.js';
import { jsonRenderer } from '../../render/json-renderer.js';
import { plainRenderer } from '../../render/plain-renderer.js';
import { rehearse } from '../composition-root.js';
import { loadRunbookOrExit } from '../runbook-input.js';
import { connectionOrExit } from './run-command.js';

export function register(program: Command): void {
  const cmd = program
    .command('rehearse')
    .description('rehearse deploy and rollback on a sandbox copy: trace locks, verify the rollback, project timings')
    .argument('<file>', 'runbook YAML')
    .option('--sandbox <where>', 'embedded (default), docker, or a staging database URL', 'embedded')
    .option('--sample <pct>', 'percent of each big table to copy (e.g. 1%)', '1')
    .option(
      '--sample-method <how>',
      'auto: whole key groups of a repeated index key where they fit, else primary-key slices; slices; or tablesample',
      'auto',
    )
    .option('--report <file.md>', 'write the Markdown report there (and the JSON next to it)')
    .option('--schema-from <how>', 'copy the schema with pg_dump, from the catalog, or auto (pg_dump when it can dump the source)', 'auto')
    .option('--drill', 'inject faults while the deploy runs (blocking transaction, long transaction, write burst)')
    .option('--plain', 'plain text, one line per event')
    .option('--json', 'JSON lines; the last line carries the projection');
  withVars(withDb(cmd)).action(async (file: string, o) => {
    const samplePct = parseSamplePct(o.sample);
    const sampleMethod = parseSampleMethod(o.sampleMethod);
    const runbook = await loadRunbookOrExit(file, o.var, o.secretVar);
    const connection = connectionOrExit(o.db);
    const json = !!o.json;
    const write = stdoutWriter(() => {});
    // Sandbox runner events, and our own notes, in one stream with one numbering.
    const bus = new EventBus('rehearsal');
    const render = json ? jsonRenderer(write) : plainRenderer((s) => write(`[sandbox] ${s}`));
    const forward = (e: RunEvent) => {
      const { seq: _seq, at: _at, runId: _runId, ...body } = e;
      void _seq;
      void _at;
      void _runId;
      const out = bus.emit(body);
      render({ ...out, runId: e.runId });
    };
    const log = (message: string) => {
      if (json) render(bus.emit({ type: 'step.log', stepId: 'rehearse', level: message.startsWith('warning') ? 'warn' : 'info', message }));
      else write(`${redact(message)}\n`);
    };
    const abort = new AbortController();
    const result = await rehearse({
      runbook,
      sourceUrl: connection.connectionString,
      sandbox: o.sandbox,
      samplePct,
      sampleMethod,
      schemaFrom: o.schemaFrom,
      drill: !!o.drill,
      listeners: [forward],
      log,
      signal: abort.signal,
    });
    if (o.report) await writeRehearsalReport(o.report, result);
    if (json) {
      render(bus.emit({ type: 'rehearsal.projection', projection: result.projection, report: rehearsalJson(result) }));
    } else {
      write(`\n${summary(result)}\n`);
      if (o.report) write(`report written to ${o.report}\n`);
    }
    if (result.deploy.status !== 'completed' || !result.rollbackVerified) process.exitCode = 1;
  });
}

function summary(r: Awaited<ReturnType<typeof rehearse>>): string {
  const lines = [
    `rehearsal of ${r.runbook} on ${r.sandbox.description}: deploy ${r.deploy.status}, rollback ${r.rollbackVerified ? 'verified' : 'NOT verified'}`,
  ];
  for (const s of r.steps) {
    const mism = s.comparison.filter((c) => c.mismatch === 'unpredicted').map((c) => `${c.mode} on ${c.relation}`);
    lines.push(
      `  ${s.stepId}: ${s.status}, ${s.sampleSeconds.toFixed(2)} s on the sample -> ~${s.projectedSeconds.toFixed(1)} s (${s.lowSeconds.toFixed(1)}-${s.highSeconds.toFixed(1)}) on the source [${s.basis}]` +
        `${s.rewrite ? ', REWRITES the table' : ''}${mism.length ? `, UNPREDICTED locks: ${mism.join(', ')}` : ''}`,
    );
  }
  lines.push(`projected deploy on the source: ${r.projection.total_seconds.toFixed(1)} s (range ${projectionRange(r.projection)})`);
  for (const d of r.drill ?? []) lines.push(`  drill ${d.fault}: ${d.handled}`);
  for (const w of r.warnings) lines.push(`  warning: ${w}`);
  return redact(lines.join('\n'));
}
