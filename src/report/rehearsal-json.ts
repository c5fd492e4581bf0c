// The rehearsal as JSON (for CI and `--json`): everything the Markdown report says, redacted.
import type { RehearsalResult } from '../rehearsal/rehearsal-types.js';
import { redactDeep } from '../util/secrets.js';

export function rehearsalJson(r: RehearsalResult): Record<string, unknown> {
  return redactDeep({
    runbook: r.runbook,
    source: r.source,
    sandbox: r.sandbox,
    sample: r.clone
      ? {
          percent: r.clone.samplePct,
          schema_scope: r.clone.schemaScope,
          pg_dump: r.clone.pgDump,
          tables: r.clone.tables.map((t) => ({
            table: t.table,
            role: t.role,
            method: t.method,
            source_rows: t.sourceRows,
            source_bytes: t.sourceBytes,
            sample_rows: t.sampleRows,
            sample_bytes: t.sampleBytes,
            referenced_rows_added: t.referencedRowsAdded,
            orphans_deleted: t.orphansDeleted,
          })),
        }
      : null,
    steps: r.steps.map((s) => ({
      id: s.stepId,
      kind: s.kind,
      status: s.status,
      locks: s.comparison.map((c) => ({
        relation: c.relation,
        mode: c.mode,
        predicted: c.predicted,
        observed: c.observed,
        mismatch: c.mismatch,
      })),
      prediction_source: s.predicted?.source ?? null,
      rewrite: s.rewrite,
      sample_seconds: s.sampleSeconds,
      projected_seconds: s.projectedSeconds,
      projected_range: [s.lowSeconds, s.highSeconds],
      basis: s.basis,
      wal_bytes: s.walBytes,
      retries: s.retries,
      rows: s.rows,
    })),
    deploy: {
      status: r.deploy.status,
      error: r.deploy.error ?? null,
      seconds: r.deploy.durationMs / 1000,
      ddl_capture: r.deploy.ddlCapture,
      samples: r.deploy.samples,
    },
    rollback: r.rollback
      ? {
          status: r.rollback.status,
          error: r.rollback.error ?? null,
          seconds: r.rollback.durationMs / 1000,
          steps: r.rollback.steps.map((s) => ({ id: s.stepId, status: s.status, seconds: s.durationMs / 1000 })),
        }
      : null,
    rollback_verified: r.rollbackVerified,
    schema_diff: r.schemaDiff ? { same: r.schemaDiff.same, added: r.schemaDiff.added, removed: r.schemaDiff.removed } : null,
    projection: r.projection,
    drill: r.drill,
    warnings: r.warnings,
    started_at: r.startedAt,
    duration_seconds: r.durationMs / 1000,
  });
}
