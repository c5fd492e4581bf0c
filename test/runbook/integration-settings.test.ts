// settings.notify / notify_throttled_after: parsed, pointed at when wrong, and a literal URL warned about.
import { describe, expect, it } from 'vitest';
import { loadRunbookText } from '../../src/runbook/load.js';
import { formatProblem } from '../../src/runbook/model.js';
import { STEP_KINDS } from '../../src/cli/composition-root.js';

const doc = (settings: string) => `version: 1
name: n
settings:
${settings}
phases:
  deploy:
    - id: a
      sql: select 1
`;

describe('integration settings', () => {
  it('reads url_env, a prefixed URL and the throttle notice', async () => {
    const { runbook, problems } = await loadRunbookText(
      doc('  notify:\n    - url_env: HOOK\n      format: slack\n  notify_throttled_after: 5m'),
      'r.yaml',
      { kinds: STEP_KINDS },
    );
    expect(problems).toEqual([]);
    expect(runbook!.integrations).toEqual({ notify: [{ url_env: 'HOOK', format: 'slack' }], notifyThrottledAfterMs: 300_000 });
  });

  it('warns about a literal URL (it would be stored in the journal) and points at bad entries', async () => {
    const { problems } = await loadRunbookText(
      doc('  notify:\n    - json:https://h.example/x\n    - { url: ftp://x }\n    - { format: slack }'),
      'r.yaml',
      { kinds: STEP_KINDS },
    );
    const text = problems.map(formatProblem);
    expect(text).toEqual([
      'r.yaml:6:14: settings.notify[1].url: expected an http(s) URL',
      'r.yaml:7:7: settings.notify[2]: give exactly one of url and url_env',
    ]);
    const ok = await loadRunbookText(doc('  notify:\n    - json:https://h.example/x'), 'r.yaml', { kinds: STEP_KINDS });
    expect(ok.problems.map(formatProblem)).toEqual([
      'r.yaml:4:3: warning: settings.notify: a webhook URL is a secret and the runbook text is stored in the journal; prefer url_env: NAME_OF_ENV_VAR',
    ]);
  });
});

describe('approval settings', () => {
  const step = (gate: string) => `version: 1
name: n
settings:
  approvals: 2
  approval_timeout: 30m
phases:
  deploy:
    - id: a
      sql: select 1
      gate: ${gate}
`;

  it('reads settings.approvals, approval_timeout and a gate with approvers', async () => {
    const { runbook, problems } = await loadRunbookText(step('{ type: confirm, approvers: 1 }'), 'r.yaml', { kinds: STEP_KINDS });
    expect(problems).toEqual([]);
    expect(runbook!.integrations).toEqual({ approvals: 2, approvalTimeoutMs: 1_800_000 });
    expect(runbook!.phases.deploy[0]).toMatchObject({ gate: 'confirm', approvers: 1 });
    const bare = await loadRunbookText(step('{ approvers: 1 }'), 'r.yaml', { kinds: STEP_KINDS });
    expect(bare.runbook!.phases.deploy[0]!.gate).toBeUndefined();
    expect(bare.runbook!.phases.deploy[0]!.approvers).toBe(1);
    const plain = await loadRunbookText(step('type'), 'r.yaml', { kinds: STEP_KINDS });
    expect(plain.runbook!.phases.deploy[0]).toMatchObject({ gate: 'type' });
    expect(plain.runbook!.phases.deploy[0]!.approvers).toBeUndefined();
  });

  it('points at a bad approver count and at a gate of type none with approvers', async () => {
    for (const [gate, message] of [
      ['{ type: confirm, approvers: -1 }', /r\.yaml:10:\d+: gate.*cannot be negative/],
      ['{ type: confirm, approvers: 1.5 }', /r\.yaml:10:\d+: gate.*whole number of approvers/],
      ['{ type: none, approvers: 1 }', /r\.yaml:10:\d+: gate/],
      ['{ type: confirm, approvers: 1, who: bob }', /r\.yaml:10:\d+: gate/],
    ] as const) {
      const { problems } = await loadRunbookText(step(gate), 'r.yaml', { kinds: STEP_KINDS });
      expect(problems.map(formatProblem).join('\n')).toMatch(message);
    }
  });
});
