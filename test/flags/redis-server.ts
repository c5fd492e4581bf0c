// Starts a throwaway redis-server on a free loopback port for the flag tests. When the binary is
// missing, `findRedisServer` says why: outside CI only the Redis tests are skipped; in CI the file fails.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { freePort } from '../../src/pg/embedded-server.js';
import { createClient } from 'redis';

export function findRedisServer(): { path?: string; reason?: string } {
  try {
    const path = execFileSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).trim();
    if (path) return { path };
  } catch {
    /* not found */
  }
  return { reason: 'redis-server is not installed (apt-get install redis-server)' };
}

export interface RedisHandle {
  url: string;
  stop(): Promise<void>;
}

export async function startRedis(binary: string): Promise<RedisHandle> {
  const port = await freePort();
  const child: ChildProcess = spawn(binary, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  const url = `redis://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    const c = createClient({ url, socket: { reconnectStrategy: false, connectTimeout: 500 } });
    c.on('error', () => {});
    try {
      await c.connect();
      await c.ping();
      await c.close();
      break;
    } catch {
      c.destroy();
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`redis-server did not start on ${url}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    url,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
