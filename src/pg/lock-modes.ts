// PostgreSQL's table lock modes, as pg_locks names them, ordered by strength.
export type LockMode =
  | 'AccessShareLock'
  | 'RowShareLock'
  | 'RowExclusiveLock'
  | 'ShareUpdateExclusiveLock'
  | 'ShareLock'
  | 'ShareRowExclusiveLock'
  | 'ExclusiveLock'
  | 'AccessExclusiveLock';

export const LOCK_STRENGTH: Record<LockMode, number> = {
  AccessShareLock: 1,
  RowShareLock: 2,
  RowExclusiveLock: 3,
  ShareUpdateExclusiveLock: 4,
  ShareLock: 5,
  ShareRowExclusiveLock: 6,
  ExclusiveLock: 7,
  AccessExclusiveLock: 8,
};

/** "AccessExclusiveLock" -> "ACCESS EXCLUSIVE": the name SQL and the docs use, the one pgrunbook shows. */
export function lockSqlName(mode: string | null | undefined): string {
  if (!mode) return '?';
  return mode
    .replace(/Lock$/, '')
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .toUpperCase();
}

/** A lock a statement or step takes on one relation. */
export interface PlannedLock {
  relation: string;
  mode: LockMode;
}
