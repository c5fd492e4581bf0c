// Starts one embedded PostgreSQL per requested major for the whole test run.
// PG_VERSIONS=14,18 picks the matrix (default: 17). Each test file then creates its own database,
// so files run in parallel without sharing state.
import type { TestProject } from 'vitest/node';
import { EmbeddedServer, DEFAULT_MAJOR } from '../../src/pg/embedded-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    pgUrls: Record<string, string>;
    pgMajors: number[];
  }
}

export function requestedMajors(): number[] {
  const raw = process.env.PG_VERSIONS?.trim();
  if (!raw) return [DEFAULT_MAJOR];
  const majors = raw.split(',').map((s) => Number(s.trim()));
  for (const m of majors) if (!Number.isInteger(m) || m < 14 || m > 18) throw new Error(`PG_VERSIONS: bad major "${m}" (14..18)`);
  return [...new Set(majors)];
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const majors = requestedMajors();
  const servers = await Promise.all(majors.map((major) => EmbeddedServer.start({ major })));
  const urls: Record<string, string> = {};
  for (const s of servers) urls[String(s.major)] = s.url;
  project.provide('pgUrls', urls);
  project.provide('pgMajors', majors);
  process.stdout.write(`embedded PostgreSQL ${servers.map((s) => `${s.major} on :${s.port}`).join(', ')}\n`);
  return async () => {
    await Promise.all(servers.map((s) => s.stop()));
  };
}
