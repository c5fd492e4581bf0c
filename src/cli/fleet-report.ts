// Writes the fleet report (`fleet run --report FILE`, `fleet report --out FILE`): each target's
// own run report from the journal in its database into FILE's `<name>.targets/` folder, then the
// fleet's page linking them. A target that cannot be read is named with why, and the rest go on.
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import type { FleetStore } from '../fleet/fleet-state.js';
import { resolveConnection } from '../pg/connection.js';
import { buildFleetReport, type FleetReportInput, fleetReportMarkdown } from '../report/fleet-report.js';
import { buildRunReport, renderMarkdown } from '../report/run-report.js';
import { InputError } from '../util/runbook-error.js';
import { redactedMessage } from '../util/secrets.js';
import { withStateClient } from './state-client.js';

/** md or json, from the file's extension. */
export function reportFormat(file: string): 'md' | 'json' {
  const ext = extname(file).toLowerCase();
  if (ext === '.md') return 'md';
  if (ext === '.json') return 'json';
  throw new InputError(`--report "${file}": the file must end in .md or .json`, 'for example --report fleet-report.md');
}

export async function writeFleetReport(state: FleetStore, file: string): Promise<void> {
  const format = reportFormat(file);
  const d = state.data;
  const urls = new Map((await state.currentTargets()).map((t) => [t.name, t.url]));
  const folder = `${basename(file, extname(file))}.targets`;
  const runs: FleetReportInput['runs'] = {};
  for (const [name, t] of Object.entries(d.targets)) {
    if (!t.runId) continue;
    runs[name] = await targetReport(urls.get(name), t.runId, format, join(dirname(file), folder, `${name}.${format}`));
    if (runs[name].link) runs[name].link = `${folder}/${name}.${format}`;
  }
  const report = buildFleetReport({
    status: d.status,
    haltReason: d.haltReason,
    startedAt: d.startedAt,
    runbook: d.request.runbook,
    targets: d.targets,
    events: await state.events(),
    runs,
  });
  writeFileSync(file, format === 'json' ? `${JSON.stringify(report, null, 2)}\n` : fleetReportMarkdown(report));
}

async function targetReport(
  url: string | undefined,
  runId: string,
  format: 'md' | 'json',
  path: string,
): Promise<FleetReportInput['runs'][string]> {
  if (!url) return { error: 'the target is no longer in the targets file' };
  try {
    const report = await withStateClient(resolveConnection(url), 'report', async (c, has) => (has ? buildRunReport(c, runId) : undefined));
    if (!report) return { error: `run ${runId} is not in the target's journal` };
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, format === 'json' ? `${JSON.stringify(report, null, 2)}\n` : renderMarkdown(report));
    return { report, link: path };
  } catch (err) {
    return { error: `${redactedMessage(err)}; when it is back: pgrunbook report ${runId} --db <its url>` };
  }
}
