// One way out for the demo, whatever the trigger (q, Ctrl+C, SIGHUP, SIGTERM, a closed terminal):
// request() records why and tells the listeners (the runner then stops at a safe point), and the
// cleanups (traffic, monitor, PostgreSQL) run once, newest first, each with a deadline. A second
// signal skips the niceties: process.exit, where EmbeddedServer's exit hook still kills the server.

export class StopRequested extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'StopRequested';
  }
}

type Cleanup = { name: string; fn: () => Promise<void> | void };

export const SIGNAL_EXIT_CODE: Record<string, number> = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 };

export class Shutdown {
  private reasonText?: string;
  private resolveRequested!: (reason: string) => void;
  /** Resolves with the reason once a stop is requested. */
  readonly requested: Promise<string>;
  private listeners = new Set<(reason: string) => void>();
  private cleanups: Cleanup[] = [];
  private cleaning?: Promise<void>;
  private removeSignals?: () => void;
  /** Set when a signal (rather than the operator) asked to stop. */
  signal?: NodeJS.Signals;

  constructor(private readonly opts: { cleanupTimeoutMs?: number; onForce?: (signal: NodeJS.Signals) => void } = {}) {
    this.requested = new Promise((resolve) => (this.resolveRequested = resolve));
  }

  get reason(): string | undefined {
    return this.reasonText;
  }

  get isRequested(): boolean {
    return this.reasonText !== undefined;
  }

  request(reason: string): void {
    if (this.reasonText !== undefined) return;
    this.reasonText = reason;
    this.resolveRequested(reason);
    for (const l of this.listeners) {
      try {
        l(reason);
      } catch {
        /* a listener must not stop the shutdown */
      }
    }
  }

  /** Called at once when a stop is requested (or now, if it already was). */
  onRequest(l: (reason: string) => void): () => void {
    if (this.reasonText !== undefined) l(this.reasonText);
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  add(name: string, fn: () => Promise<void> | void): void {
    this.cleanups.push({ name, fn });
  }

  /** Rejects with StopRequested as soon as a stop is requested; otherwise settles like `p`. */
  race<T>(p: Promise<T>): Promise<T> {
    // The loser must not surface as an unhandled rejection later.
    p.catch(() => {});
    return Promise.race([p, this.requested.then((r) => Promise.reject(new StopRequested(r)))]);
  }

  /** Runs every cleanup once, newest first; failures and timeouts are collected, not thrown. */
  cleanup(): Promise<void> {
    this.cleaning ??= (async () => {
      const failures: string[] = [];
      for (const c of [...this.cleanups].reverse()) {
        let timer: NodeJS.Timeout | undefined;
        const t0 = Date.now();
        try {
          await Promise.race([
            Promise.resolve().then(c.fn),
            new Promise((_, reject) => {
              timer = setTimeout(() => reject(new Error('timed out')), this.opts.cleanupTimeoutMs ?? 15_000);
            }),
          ]);
        } catch (err) {
          failures.push(`${c.name}: ${(err as Error).message}`);
        } finally {
          clearTimeout(timer);
          if (process.env.PGRUNBOOK_DEBUG) process.stderr.write(`demo cleanup: ${c.name} ${Date.now() - t0} ms\n`);
        }
      }
      this.removeSignals?.();
      if (failures.length) process.emitWarning(`pgrunbook demo cleanup: ${failures.join('; ')}`);
    })();
    return this.cleaning;
  }

  /** SIGINT / SIGTERM / SIGHUP request a stop; a second one forces the exit. */
  installSignals(signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP']): void {
    const handler = (sig: NodeJS.Signals) => {
      if (this.isRequested) {
        this.opts.onForce?.(sig);
        process.exit(SIGNAL_EXIT_CODE[sig] ?? 1);
      }
      this.signal = sig;
      this.request(
        sig === 'SIGHUP' ? 'the terminal hung up (SIGHUP)' : sig === 'SIGTERM' ? 'terminated (SIGTERM)' : 'interrupted (SIGINT)',
      );
    };
    for (const s of signals) process.on(s, handler);
    this.removeSignals = () => {
      for (const s of signals) process.off(s, handler);
    };
  }
}
