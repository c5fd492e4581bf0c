// The default sandbox: a throwaway embedded PostgreSQL of the source's major version (or the
// nearest installed one, with a warning), with one database named like the source's.
import pg from 'pg';
import { EmbeddedServer, installedMajors, nearestMajor } from '../../pg/embedded-server.js';
import { quoteIdent } from '../../pg/connection.js';
import { RunbookError } from '../../util/runbook-error.js';
import type { Sandbox, SandboxRequest } from './sandbox-types.js';
import { makeCloser } from './closer.js';

export async function startEmbeddedSandbox(req: SandboxRequest): Promise<Sandbox> {
  const major = nearestMajor(req.sourceMajor);
  if (major === undefined) {
    throw new RunbookError('no embedded PostgreSQL binaries are installed, so there is no embedded sandbox', {
      hint: 'run `npm ci` in the pgrunbook checkout, or pass --sandbox docker or --sandbox postgres://... (a staging database)',
      exitCode: 2,
    });
  }
  const warnings: string[] = [];
  if (major !== req.sourceMajor) {
    warnings.push(
      `the source runs PostgreSQL ${req.sourceMajor} but only ${installedMajors().join(', ')} are installed for the embedded sandbox; ` +
        `rehearsing on ${major}, whose locking and timing can differ. Use --sandbox docker for an exact match.`,
    );
  }
  const server = await EmbeddedServer.start({ major, settings: { log_min_messages: 'fatal' } });
  try {
    const admin = new pg.Client({ connectionString: server.localUrl(), application_name: 'pgrunbook-rehearsal:setup' });
    await admin.connect();
    try {
      if (req.database !== 'postgres') await admin.query(`CREATE DATABASE ${quoteIdent(req.database)}`);
    } finally {
      await admin.end();
    }
  } catch (err) {
    await server.stop();
    throw err;
  }
  return {
    kind: 'embedded',
    url: server.localUrl(req.database),
    major,
    description: `embedded PostgreSQL ${major} on 127.0.0.1:${server.port}/${req.database}`,
    warnings,
    existing: false,
    ...makeCloser(() => server.stop()),
  };
}
