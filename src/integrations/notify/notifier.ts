// The notification listener: events -> messages (Slack or generic JSON) -> one background sender
// per webhook. `close` flushes for a bounded time so a dead webhook never holds up the exit.
import type { Listener } from '../../engine/events.js';
import { NotificationFeed, type Notification } from './notify-messages.js';
import type { NotifyTarget } from './notify-targets.js';
import { DEFAULT_SENDER, WebhookSender, type SenderOptions } from './webhook-sender.js';

export interface NotifierOptions {
  throttleNoticeMs?: number;
  sender?: Partial<Omit<SenderOptions, 'report'>>;
  report(message: string): void;
}

export const DEFAULT_THROTTLE_NOTICE_MS = 10 * 60_000;

export function slackBody(n: Notification): string {
  const lines = [`*pgrunbook* ${n.text}`, ...n.details.map((d) => `> ${d}`), `run ${n.runId} on database ${n.database}`];
  return JSON.stringify({ text: lines.join('\n') });
}

export function jsonBody(n: Notification): string {
  return JSON.stringify({
    source: 'pgrunbook',
    kind: n.kind,
    run_id: n.runId,
    runbook: n.runbook,
    database: n.database,
    step: n.stepId ?? null,
    at: n.at,
    text: n.text,
    details: n.details,
  });
}

export class Notifier {
  private readonly senders: WebhookSender[];
  private readonly feed: NotificationFeed;
  readonly listener: Listener;

  constructor(targets: NotifyTarget[], opts: NotifierOptions) {
    this.senders = targets.map((t) => new WebhookSender(t, { ...DEFAULT_SENDER, ...opts.sender, report: opts.report }));
    this.feed = new NotificationFeed((n) => this.send(n), { throttleNoticeMs: opts.throttleNoticeMs ?? DEFAULT_THROTTLE_NOTICE_MS });
    this.listener = this.feed.listener;
  }

  private send(n: Notification): void {
    for (const s of this.senders) s.push(s.target.format === 'slack' ? slackBody(n) : jsonBody(n));
  }

  async close(ms = 5000): Promise<void> {
    this.feed.stopAll();
    await Promise.all(this.senders.map((s) => s.close(ms)));
  }
}
