// A sandbox in a Docker container (`postgres:<major>`) through testcontainers. Exact version match,
// at the price of needing a container runtime.
import { RunbookError } from '../../util/runbook-error.js';
import { registerSecret } from '../../util/secrets.js';
import type { Sandbox, SandboxRequest } from './sandbox-types.js';
import { makeCloser } from './closer.js';

export async function startDockerSandbox(req: SandboxRequest): Promise<Sandbox> {
  const image = `postgres:${req.sourceMajor}`;
  const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
  let started;
  try {
    started = await new PostgreSqlContainer(image).withDatabase(req.database).start();
  } catch (err) {
    const msg = (err as Error)?.message ?? String(err);
    if (/container runtime strategy|docker|ENOENT|EACCES|socket/i.test(msg)) {
      throw new RunbookError(`--sandbox docker: no working Docker (or Podman) runtime was found (${msg.split('\n')[0]})`, {
        hint: 'start Docker (or set DOCKER_HOST), or use the default --sandbox embedded, or pass a staging database URL as --sandbox',
        exitCode: 1,
        cause: err,
      });
    }
    throw new RunbookError(`--sandbox docker: could not start ${image}: ${msg.split('\n')[0]}`, {
      hint: `check that the image ${image} can be pulled (or is present locally)`,
      cause: err,
    });
  }
  registerSecret(started.getPassword());
  return {
    kind: 'docker',
    url: started.getConnectionUri(),
    major: req.sourceMajor,
    description: `Docker ${image} on ${started.getHost()}:${started.getPort()}/${req.database}`,
    warnings: [],
    existing: false,
    ...makeCloser(async () => {
      await started.stop({ remove: true, removeVolumes: true });
    }),
  };
}
