// Background delivery to one webhook: a bounded queue, sent in order, each message retried with
// exponential backoff and jitter. Nothing here is awaited by the run; a webhook that stays down is
// reported once and afterwards gets a single attempt per message.
import type { NotifyTarget } from './notify-targets.js';

export interface SenderOptions {
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  timeoutMs: number;
  /** Oldest messages are dropped beyond this many waiting. */
  maxQueue: number;
  report(message: string): void;
  fetch?: typeof fetch;
}

export const DEFAULT_SENDER: Omit<SenderOptions, 'report'> = {
  attempts: 5,
  baseDelayMs: 1000,
  maxDelayMs: 30_000,
  timeoutMs: 10_000,
  maxQueue: 200,
};

export class WebhookSender {
  private readonly queue: string[] = [];
  private draining: Promise<void> | undefined;
  private dead = false;
  private lost = 0;
  private readonly stop = new AbortController();

  constructor(
    readonly target: NotifyTarget,
    private readonly opts: SenderOptions,
  ) {}

  /** Queues one JSON body; returns at once. */
  push(body: string): void {
    if (this.stop.signal.aborted) return;
    this.queue.push(body);
    if (this.queue.length > this.opts.maxQueue) {
      this.queue.shift();
      this.lost++;
    }
    this.draining ??= this.drain().finally(() => (this.draining = undefined));
  }

  /** Waits for the queue to empty, at most `ms`; then gives up on what is left and says so. */
  async close(ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
    await Promise.race([this.draining ?? Promise.resolve(), deadline]);
    clearTimeout(timer);
    this.stop.abort();
    const left = this.queue.length + (this.draining ? 1 : 0);
    this.queue.length = 0;
    if (left && !this.dead) this.opts.report(`notify: ${left} notification(s) to ${this.target.label} not delivered before exit`);
    if (this.lost)
      this.opts.report(`notify: ${this.lost} notification(s) to ${this.target.label} dropped: the webhook was too slow for the event rate`);
  }

  private async drain(): Promise<void> {
    while (this.queue.length && !this.stop.signal.aborted) {
      const body = this.queue.shift()!;
      const error = await this.deliver(body);
      if (error === undefined) this.dead = false;
      else if (!this.dead && !this.stop.signal.aborted) {
        this.dead = true;
        this.opts.report(
          `notify: webhook ${this.target.label} failed ${this.opts.attempts} times (${error}); the run goes on, later notifications get one attempt each`,
        );
      }
    }
  }

  /** undefined when delivered, else the last error in words. */
  private async deliver(body: string): Promise<string | undefined> {
    const attempts = this.dead ? 1 : this.opts.attempts;
    let last = '';
    for (let i = 0; i < attempts; i++) {
      if (i > 0) await this.sleep(Math.min(this.opts.maxDelayMs, this.opts.baseDelayMs * 2 ** (i - 1)) * (0.5 + Math.random() / 2));
      if (this.stop.signal.aborted) return 'stopped';
      last = await this.postOnce(body);
      if (last === '') return undefined;
      if (/^HTTP 4\d\d/.test(last) && !/^HTTP (408|429)/.test(last)) break; // the request itself is wrong: retrying cannot help
    }
    return last;
  }

  private async postOnce(body: string): Promise<string> {
    const signal = AbortSignal.any([this.stop.signal, AbortSignal.timeout(this.opts.timeoutMs)]);
    try {
      const res = await (this.opts.fetch ?? fetch)(this.target.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
        signal,
      });
      await res.arrayBuffer().catch(() => undefined);
      return res.ok ? '' : `HTTP ${res.status}`;
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } };
      // Never the message of a fetch error alone: it can quote the URL.
      return e.name === 'TimeoutError' ? `no answer in ${this.opts.timeoutMs} ms` : (e.cause?.code ?? e.name);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      const signal = this.stop.signal;
      function done() {
        clearTimeout(t);
        signal.removeEventListener('abort', done);
        resolve();
      }
      signal.addEventListener('abort', done, { once: true });
    });
  }
}
