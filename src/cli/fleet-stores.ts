// Which store keeps a fleet's journal, from the command's flags: the catalog database
// (`--catalog-db URL`, optionally `--fleet ID`) or else the local `--state-dir`. Also where the
// targets come from: the targets file, or `--targets-query` on the catalog database, and on a
// resume the credentials again (the catalog keeps the targets' URLs without passwords).
import { readFileSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { type CatalogDb, CatalogFleetStore, openCatalog } from '../fleet/fleet-catalog-store.js';
import { type FleetRequest, FleetState, type FleetStore } from '../fleet/fleet-state.js';
import { loadTargetsFile, queryTargets } from '../fleet/fleet-targets.js';
import { ConnectionConfigError, resolveConnection } from '../pg/connection.js';
import { InputError } from '../util/runbook-error.js';
import { redact } from '../util/secrets.js';
import { type PreparedFleet, prepareFleet } from './fleet-execute.js';
import type { WaveFlags } from '../fleet/fleet-waves.js';
import { planRollback, rollbackLines, targetsForPhase } from '../fleet/fleet-rollback.js';

export interface StoreFlags {
  stateDir: string;
  /** True when --state-dir was given on the command line (not its default). */
  stateDirGiven: boolean;
  catalogDb?: string;
  fleet?: string;
}

/** A new fleet's store and its checked targets, before any target starts. */
export async function newFleet(
  flags: StoreFlags,
  request: FleetRequest,
  waveFlags?: WaveFlags,
): Promise<{ store: FleetStore; prepared: PreparedFleet }> {
  if (request.phase === 'rollback') return rollbackFleet(flags, request, waveFlags ?? {});
  if (request.targetsQuery && !flags.catalogDb)
    throw new InputError('--targets-query runs on the catalog database', 'pass --catalog-db URL as well');
  if (!!request.targets === !!request.targetsQuery)
    throw new InputError('give the targets one way', 'pass either --targets FILE or --catalog-db URL --targets-query SQL');
  const catalog = await catalogOf(flags);
  try {
    const targets = request.targetsQuery
      ? await queryTargets(catalog!.pool, request.targetsQuery)
      : await loadTargetsFile(request.targets!);
    const prepared = await prepareFleet(request, targets, undefined, waveFlags);
    if (!catalog)
      return {
        store: FleetState.create(
          flags.stateDir,
          request,
          targets.map((t) => t.name),
        ),
        prepared,
      };
    const id = flags.fleet ?? defaultFleetId(request.runbook);
    const store = await CatalogFleetStore.create(catalog, id, request, readFileSync(request.runbook, 'utf8'), targets);
    return { store, prepared };
  } catch (err) {
    await catalog?.pool.end().catch(() => {});
    throw err;
  }
}

/**
 * The rollback of the deploy fleet the store flags name (`--state-dir DIR`, or `--catalog-db URL
 * [--fleet ID]`): its completed targets, newest wave first, with that fleet's waves and limits unless
 * the flags say otherwise. In the catalog it is a new fleet, "ID-rollback"; in a state directory it
 * takes the deploy's place (fleet-state.ts).
 */
async function rollbackFleet(
  flags: StoreFlags,
  request: FleetRequest,
  waveFlags: WaveFlags,
): Promise<{ store: FleetStore; prepared: PreparedFleet }> {
  if (request.targets || request.targetsQuery || waveFlags.waves)
    throw new InputError(
      'a rollback runs over the targets and waves of the deploy fleet it undoes',
      'drop --targets, --targets-query and --waves; name the deploy fleet with --state-dir DIR or --catalog-db URL --fleet ID',
    );
  const catalog = await catalogOf(flags);
  try {
    const deploy = catalog ? await CatalogFleetStore.open(catalog, flags.fleet, false) : FleetState.open(flags.stateDir);
    const of = deploy instanceof CatalogFleetStore ? `fleet "${deploy.id}"` : `the fleet in ${flags.stateDir}`;
    const plan = planRollback(deploy.data, of);
    if (deploy.data.status === 'running') await (await deploy.lock())(); // a live deploy runner is named (exit 3)
    const targets = targetsForPhase(plan.order, await deploy.currentTargets());
    Object.assign(request, {
      targets: deploy.data.request.targets,
      targetsQuery: deploy.data.request.targetsQuery,
      rollback: { of, order: plan.order, skipped: plan.skipped },
    });
    const prepared = await prepareFleet(request, targets, undefined, {
      ...waveFlags,
      waves: plan.waves,
      maxFailures: waveFlags.maxFailures ?? deploy.data.request.maxFailures,
      perServer: waveFlags.perServer ?? deploy.data.request.perServer,
    });
    if (!(deploy instanceof CatalogFleetStore))
      return { store: FleetState.createRollback(deploy as FleetState, request, plan.order), prepared };
    const store = await CatalogFleetStore.create(
      catalog!,
      `${deploy.id}-rollback`,
      request,
      readFileSync(request.runbook, 'utf8'),
      targets,
    );
    return { store, prepared };
  } catch (err) {
    await catalog?.pool.end().catch(() => {});
    throw err;
  }
}

/** An existing fleet's store: the one named, or the only unfinished one (`unfinished`), or the newest. */
export async function existingFleet(flags: StoreFlags, unfinished: boolean): Promise<FleetStore> {
  const catalog = await catalogOf(flags);
  if (!catalog) return FleetState.open(flags.stateDir);
  try {
    return await CatalogFleetStore.open(catalog, flags.fleet, unfinished);
  } catch (err) {
    await catalog.pool.end().catch(() => {});
    throw err;
  }
}

/** The targets of a fleet being resumed, checked again (credentials as the targets' source gives them now). */
export async function resumedFleet(store: FleetStore): Promise<PreparedFleet> {
  const source = store instanceof CatalogFleetStore ? store.runbookSource : undefined;
  return prepareFleet(store.data.request, targetsForPhase(store.data.request.rollback?.order, await store.currentTargets()), source);
}

async function catalogOf(flags: StoreFlags): Promise<CatalogDb | undefined> {
  if (!flags.catalogDb) {
    if (flags.fleet) throw new InputError('--fleet names a fleet in the catalog database', 'pass --catalog-db URL as well');
    return undefined;
  }
  if (flags.stateDirGiven)
    throw new InputError(
      '--state-dir and --catalog-db are two places for the same journal',
      'pass one of them (--catalog-db to resume from any machine)',
    );
  try {
    return await openCatalog(resolveConnection(flags.catalogDb));
  } catch (err) {
    if (err instanceof ConnectionConfigError)
      throw new InputError(
        `--catalog-db: ${redact(err.message.replace(/^--db: /, ''))}`,
        'pass a URL like postgres://user@host:5432/catalog',
      );
    throw err;
  }
}

function defaultFleetId(runbookFile: string): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
  return `${basename(runbookFile, extname(runbookFile))}-${stamp}`;
}

/** `fleet status`: every target in order (those not started too), the waves, the halt. */
export async function statusText(store: FleetStore, mode: 'plain' | 'json'): Promise<string> {
  const d = store.data;
  const waves = store instanceof CatalogFleetStore ? await store.waves() : undefined;
  const names = d.order ?? Object.keys(d.targets);
  if (mode === 'json') {
    const targets = Object.fromEntries(names.map((n) => [n, d.targets[n] ?? { status: 'not started' }]));
    const phase = d.request.phase ?? 'deploy';
    const rollback = d.request.rollback ? { of: d.request.rollback.of, skipped: d.request.rollback.skipped } : undefined;
    return `${JSON.stringify({ status: d.status, phase, rollback, haltReason: d.haltReason, startedAt: d.startedAt, waves, targets })}\n`;
  }
  const what = d.request.phase === 'rollback' ? 'fleet rollback' : 'fleet';
  const lines = [`${what} ${d.status}${d.haltReason ? `: ${d.haltReason}` : ''} (started ${d.startedAt}, runbook ${d.request.runbook})`];
  lines.push(...rollbackLines(d));
  for (const w of waves ?? [])
    lines.push(
      `wave ${w.wave}: ${w.targets} targets, parallel ${w.parallel}, ` +
        (w.finished ? `done: ${w.completed} completed, ${w.failed} failed` : 'running or interrupted'),
    );
  for (const name of names) {
    const e = d.targets[name];
    lines.push(
      e
        ? `[${name}] wave ${e.wave} ${e.status}${e.runId ? ` run ${e.runId}` : ''}${e.reason ? `: ${e.reason}` : ''}`
        : `[${name}] not started`,
    );
  }
  const started = names.filter((n) => d.targets[n]).length;
  lines.push(
    d.order
      ? `${started} of ${names.length} targets started`
      : `${started} targets started; the others of the targets file have not started`,
  );
  if (d.status !== 'completed') lines.push(`continue with \`pgrunbook fleet resume ${store.resumeArgs}\``);
  return `${lines.join('\n')}\n`;
}
