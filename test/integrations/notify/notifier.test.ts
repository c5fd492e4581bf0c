// Webhook notifications against a real local HTTP receiver: payloads, retries with backoff, a dead
// webhook that is reported once and never blocks, and URLs that never leak.
import { afterEach, describe, expect, it } from 'vitest';
import { EventBus, type EventBody } from '../../../src/engine/events.js';
import { NotificationFeed, type Notification } from '../../../src/integrations/notify/notify-messages.js';
import { Notifier } from '../../../src/integrations/notify/notifier.js';
import { parseNotifyArg, targetsFromSettings } from '../../../src/integrations/notify/notify-targets.js';
import { redact } from '../../../src/util/secrets.js';
import { deadPort, startReceiver, type Receiver } from '../../support/http-receiver.js';

const started: EventBody = {
  type: 'run.started',
  runbook: 'add amount_cents',
  file: 'x.yaml',
  target: { host: 'db', port: 5432, database: 'app', user: 'deploy' },
  phases: ['deploy'],
  resumed: false,
  user: 'ann',
  host: 'box',
  pid: 1,
};
const request = {
  id: 'drop',
  stepId: 'drop',
  level: 'type' as const,
  title: 'Drop the old column',
  action: 'drops orders.amount',
  lockMode: 'AccessExclusiveLock',
  evidence: [
    { label: 'long transactions', value: 0, ok: true },
    { label: 'replication lag', value: '3 MB', ok: false, detail: 'above 1 MB' },
  ],
};
const gate: EventBody = { type: 'gate.requested', request };
const fast = { attempts: 3, baseDelayMs: 20, maxDelayMs: 50, timeoutMs: 2000 };
let receivers: Receiver[] = [];
afterEach(async () => {
  await Promise.all(receivers.map((r) => r.close()));
  receivers = [];
});
async function receiver(status?: Parameters<typeof startReceiver>[0]) {
  const r = await startReceiver(status);
  receivers.push(r);
  return r;
}

describe('notification targets', () => {
  it('picks the payload from the prefix or the host, and shows only the origin', () => {
    expect(parseNotifyArg('https://hooks.slack.com/services/T0/B0/sekret')).toMatchObject({
      format: 'slack',
      label: 'https://hooks.slack.com/…',
    });
    expect(parseNotifyArg('https://chat.example/hooks/abc')).toMatchObject({ format: 'json' });
    expect(parseNotifyArg('slack:https://chat.example/hooks/abc')).toMatchObject({
      format: 'slack',
      url: 'https://chat.example/hooks/abc',
    });
    expect(() => parseNotifyArg('ftp://x/y')).toThrow(/ftp: URLs are not supported/);
    // Registered as a secret: whatever prints it later prints *** instead.
    expect(redact('posting to https://hooks.slack.com/services/T0/B0/sekret failed')).not.toContain('sekret');
  });

  it('reads url_env and says which variable is missing', () => {
    expect(targetsFromSettings([{ url_env: 'HOOK' }], { HOOK: 'json:https://h.example/x' })).toMatchObject([
      { format: 'json', url: 'https://h.example/x' },
    ]);
    expect(() => targetsFromSettings([{ url_env: 'NOPE' }], {})).toThrow(/settings.notify\[0\]: environment variable NOPE is not set/);
  });
});

describe('notification feed', () => {
  it('announces a throttle that lasts, once, and forgets one that ends in time', () => {
    const sent: Notification[] = [];
    const timers: { fn: () => void; cancelled: boolean }[] = [];
    const feed = new NotificationFeed((n) => sent.push(n), {
      throttleNoticeMs: 10 * 60_000,
      setTimer: (fn) => {
        const t = { fn, cancelled: false };
        timers.push(t);
        return { cancel: () => void (t.cancelled = true) };
      },
    });
    const bus = new EventBus('r1');
    bus.on(feed.listener);
    bus.emit(started);
    bus.emit({ type: 'step.throttle', stepId: 'fill', reason: 'replication lag', detail: '12 MB' });
    bus.emit({ type: 'step.throttle', stepId: 'fill', reason: 'replication lag' }); // still the same spell
    bus.emit({ type: 'step.throttle', stepId: 'fill', reason: null });
    expect(timers).toHaveLength(1);
    expect(timers[0]!.cancelled).toBe(true);
    bus.emit({ type: 'step.throttle', stepId: 'fill', reason: 'wal rate' });
    timers[1]!.fn();
    expect(sent.map((n) => n.kind)).toEqual(['throttled']);
    expect(sent[0]!.text).toBe('add amount_cents: step fill has been throttled for 10 min');
    expect(sent[0]!.details[0]).toBe('wal rate');
  });

  it('passes the point of no return when an irreversible deploy step completes', () => {
    const sent: Notification[] = [];
    const bus = new EventBus('r1');
    bus.on(new NotificationFeed((n) => sent.push(n), { throttleNoticeMs: 1000 }).listener);
    bus.emit(started);
    bus.emit({
      type: 'run.plan',
      steps: [
        { phase: 'deploy', id: 'add', kind: 'add_column', title: 'add', gate: 'none', reversible: true },
        { phase: 'deploy', id: 'drop', kind: 'sql', title: 'drop', gate: 'type', reversible: false },
      ],
    });
    bus.emit({ type: 'step.completed', phase: 'deploy', stepId: 'add', durationMs: 5 });
    bus.emit({ type: 'step.completed', phase: 'deploy', stepId: 'drop', durationMs: 5 });
    expect(sent.map((n) => `${n.kind} ${n.stepId}`)).toEqual(['point_of_no_return drop']);
  });

  it('announces a gate waiting for approval with its evidence, then each approval given or refused', () => {
    const sent: Notification[] = [];
    const bus = new EventBus('r1');
    bus.on(new NotificationFeed((n) => sent.push(n), { throttleNoticeMs: 1000 }).listener);
    bus.emit(started);
    const operator = { user: 'ann', host: 'box', role: 'deploy' };
    bus.emit({ type: 'approval.waiting', request: { ...request, approvers: 2 }, requestId: '1', needed: 2, operator });
    const decided = {
      type: 'approval.decided',
      stepId: 'drop',
      gateId: 'drop',
      requestId: '1',
      decidedAt: 'now',
      seenBy: 'notify',
    } as const;
    bus.emit({ ...decided, approved: true, by: { user: 'bob', host: 'lap', role: 'bob' }, missing: 1 });
    bus.emit({ ...decided, approved: false, by: { user: 'cy', host: 'lap2', role: 'deploy' }, reason: 'lag too high', missing: 1 });
    expect(sent.map((n) => n.kind)).toEqual(['approval_waiting', 'approval_given', 'approval_refused']);
    expect(sent[0]!.text).toBe('add amount_cents: step drop waits for approval by someone other than ann@box: pgrunbook approve r1 drop');
    expect(sent[0]!.details).toContain('AGAINST replication lag: 3 MB (above 1 MB)');
    expect(sent[1]).toMatchObject({
      text: 'add amount_cents: step drop approved by bob@lap (role bob)',
      details: ['1 more approval(s) needed'],
    });
    expect(sent[2]).toMatchObject({
      text: 'add amount_cents: step drop refused by cy@lap2 (role deploy)',
      details: ['reason: lag too high'],
    });
  });
});

describe('notifier', () => {
  it('posts Slack and JSON payloads for a gate, its decision and the outcome', async () => {
    const slack = await receiver();
    const json = await receiver();
    const n = new Notifier([parseNotifyArg(`slack:${slack.url}/services/T/B/tok`), parseNotifyArg(`${json.url}/hook`)], {
      sender: fast,
      report: () => {},
    });
    const bus = new EventBus('run-1');
    bus.on(n.listener);
    bus.emit(started);
    bus.emit(gate);
    bus.emit({ type: 'gate.decided', request, decision: { approved: true, by: 'bob@laptop (role deploy)' } });
    bus.emit({ type: 'run.completed', durationMs: 61_000 });
    await n.close(5000);

    const texts = slack.received.map((r) => JSON.parse(r.body.toString()).text as string);
    expect(slack.received.every((r) => r.path === '/services/T/B/tok' && r.headers['content-type'] === 'application/json')).toBe(true);
    expect(texts[0]).toBe(
      [
        '*pgrunbook* add amount_cents: gate waiting at step drop: Drop the old column',
        '> drops orders.amount',
        '> takes ACCESS EXCLUSIVE',
        '> ok long transactions: 0',
        '> AGAINST replication lag: 3 MB (above 1 MB)',
        'run run-1 on database app',
      ].join('\n'),
    );
    expect(texts[1]).toMatch(/^\*pgrunbook\* add amount_cents: step drop approved by bob@laptop \(role deploy\)/);
    expect(texts[2]).toMatch(/^\*pgrunbook\* add amount_cents: run completed in 61 s/);
    const bodies = json.received.map((r) => JSON.parse(r.body.toString()));
    expect(bodies.map((b) => b.kind)).toEqual(['gate_waiting', 'gate_decided', 'run_completed']);
    expect(bodies[0]).toMatchObject({ source: 'pgrunbook', run_id: 'run-1', runbook: 'add amount_cents', database: 'app', step: 'drop' });
  });

  it('retries a failing webhook with backoff until it answers', async () => {
    const flaky = await receiver((_r, n) => (n <= 2 ? 503 : 200));
    const reports: string[] = [];
    const n = new Notifier([parseNotifyArg(flaky.url)], { sender: fast, report: (m) => reports.push(m) });
    const bus = new EventBus('run-2');
    bus.on(n.listener);
    bus.emit(started);
    bus.emit({ type: 'run.failed', error: 'boom', stepId: 's2' });
    await n.close(5000);
    expect(flaky.received).toHaveLength(3);
    expect(JSON.parse(flaky.received[2]!.body.toString())).toMatchObject({ kind: 'run_failed', details: ['boom'] });
    expect(reports).toEqual([]);
  });

  it('a dead webhook never blocks the emitter, is reported once, and its URL is never printed', async () => {
    const port = await deadPort();
    const live = await receiver();
    const reports: string[] = [];
    const n = new Notifier([parseNotifyArg(`http://127.0.0.1:${port}/services/T/B/topsecret`), parseNotifyArg(live.url)], {
      sender: fast,
      report: (m) => reports.push(m),
    });
    const bus = new EventBus('run-3');
    bus.on(n.listener);
    bus.emit(started);
    for (let i = 0; i < 5; i++) bus.emit({ type: 'step.failed', phase: 'deploy', stepId: `s${i}`, durationMs: 1, error: 'x' });
    expect(live.received).toHaveLength(0); // emit returned before any delivery was made
    await live.waitFor((r) => r.length === 5);
    await n.close(5000);
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatch(/^notify: webhook http:\/\/127\.0\.0\.1:\d+\/… failed 3 times \(ECONNREFUSED\); the run goes on/);
    expect(reports.join('\n')).not.toContain('topsecret');
  });

  it('close gives up after its deadline on a webhook that never answers', async () => {
    const slow = { ...fast, timeoutMs: 60_000 };
    // A receiver that accepts the connection but never answers.
    const never = await import('node:http').then(({ createServer }) => createServer(() => {}));
    await new Promise<void>((resolve) => never.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(never.address() as { port: number }).port}/x`;
    const reports: string[] = [];
    const n = new Notifier([parseNotifyArg(url)], { sender: slow, report: (m) => reports.push(m) });
    const bus = new EventBus('run-4');
    bus.on(n.listener);
    bus.emit(started);
    bus.emit({ type: 'run.completed', durationMs: 1 });
    const t0 = performance.now();
    await n.close(300);
    expect(performance.now() - t0).toBeLessThan(5000); // not the 60 s request timeout
    expect(reports).toEqual([
      expect.stringMatching(/^notify: 1 notification\(s\) to http:\/\/127\.0\.0\.1:\d+\/… not delivered before exit/),
    ]);
    never.closeAllConnections();
    never.close();
  });
});
