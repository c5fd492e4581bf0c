// Picks and opens the sandbox for `--sandbox embedded|docker|URL`. Whoever opens one closes it:
// see withSandbox, which also closes it on SIGINT/SIGTERM/SIGHUP.
import { InputError } from '../../util/runbook-error.js';
import { redact } from '../../util/secrets.js';
import { startDockerSandbox } from './docker.js';
import { startEmbeddedSandbox } from './embedded-sandbox.js';
import { openUrlSandbox } from './url.js';
import type { Sandbox, SandboxRequest } from './sandbox-types.js';

export type { Sandbox, SandboxRequest } from './sandbox-types.js';

export function openSandbox(req: SandboxRequest): Promise<Sandbox> {
  const spec = req.spec.trim();
  if (spec === 'embedded' || spec === '') return startEmbeddedSandbox(req);
  if (spec === 'docker') return startDockerSandbox(req);
  if (/^postgres(ql)?:\/\//i.test(spec)) return openUrlSandbox({ ...req, spec });
  throw new InputError(`--sandbox: expected embedded, docker or a postgres:// URL, got "${redact(spec).slice(0, 80)}"`);
}

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * Runs `fn` with an open sandbox and always closes it: on return, on throw, and on a signal
 * (the sandbox is closed first, then the signal's usual exit code is set and `onSignal` runs).
 */
export async function withSandbox<T>(sandbox: Sandbox, fn: (s: Sandbox) => Promise<T>, onSignal?: (sig: string) => void): Promise<T> {
  const handlers = new Map<string, () => void>();
  for (const sig of SIGNALS) {
    const h = () => {
      onSignal?.(sig);
      void sandbox.close().finally(() => {
        process.exitCode = sig === 'SIGINT' ? 130 : sig === 'SIGTERM' ? 143 : 129;
        // Leave the rest to whoever else listens; without other listeners exit now.
        if (process.listenerCount(sig) <= 1) process.exit();
      });
    };
    handlers.set(sig, h);
    process.on(sig, h);
  }
  try {
    return await fn(sandbox);
  } finally {
    for (const [sig, h] of handlers) process.off(sig, h);
    await sandbox.close();
  }
}
