// The fleet's input: the targets file and the waves, with errors that say where and what to fix.
import { describe, expect, it } from 'vitest';
import { parseTargets } from '../../src/fleet/fleet-targets.js';
import { parseLimit, parseWaves, planWaves } from '../../src/fleet/fleet-waves.js';

describe('targets file', () => {
  it('reads YAML and JSON, with labels and vars as strings', () => {
    const y = parseTargets(
      'targets:\n  - name: acme\n    url: postgres://u@h/acme\n    labels: {region: eu}\n    vars: {n: 3}\n',
      't.yaml',
    );
    expect(y).toEqual([{ name: 'acme', url: 'postgres://u@h/acme', labels: { region: 'eu' }, vars: { n: '3' } }]);
    const j = parseTargets('{"targets": [{"name": "b", "url": "postgresql://h/b"}]}', 't.json');
    expect(j[0]).toEqual({ name: 'b', url: 'postgresql://h/b', labels: {}, vars: {} });
  });

  it('names the line and column of a bad field, and never echoes a password', () => {
    const text = 'targets:\n  - name: a\n    url: postgres://u@h/a\n  - name: b\n    url: mysql://u:hunter2@h/b\n';
    expect(() => parseTargets(text, 't.yaml')).toThrow(/^t\.yaml:5:10: targets\.1\.url: expected a URL like postgres:/);
    expect(() => parseTargets(text, 't.yaml')).not.toThrow(/hunter2/);
  });

  it('refuses duplicate names, unknown keys and an empty list', () => {
    expect(() => parseTargets('targets:\n  - {name: a, url: "postgres://h/a"}\n  - {name: a, url: "postgres://h/b"}\n', 'f')).toThrow(
      /f:3:12: target name "a" appears twice/,
    );
    expect(() => parseTargets('target: []\n', 'f')).toThrow(/f:1:1: /);
    expect(() => parseTargets('targets: []\n', 'f')).toThrow(/list at least one target/);
    expect(() => parseTargets('targets: [\n', 'f')).toThrow(/^f:\d+:\d+: /);
  });
});

describe('waves', () => {
  it('count, percent of the whole fleet (rounded up), the last wave takes the rest', () => {
    const t = Array.from({ length: 30 }, (_, i) => i);
    const waves = planWaves(t, parseWaves('[{count: 1}, {percent: 10, parallel: 2}, {percent: 100, parallel: 8, max_failures: "10%"}]'));
    expect(waves.map((w) => w.targets.length)).toEqual([1, 3, 26]);
    expect(waves.map((w) => w.parallel)).toEqual([1, 2, 8]);
    expect(waves[2]!.maxFailures).toEqual({ percent: 10 });
    expect(waves[2]!.targets[0]).toBe(4);
  });

  it('stops at the end of the list and refuses waves that do not cover it', () => {
    expect(planWaves([1, 2], parseWaves('[{count: 5}, {percent: 100}]'))).toHaveLength(1);
    expect(() => planWaves([1, 2, 3], parseWaves('[{count: 1}]'))).toThrow(/the waves cover 1 of 3 targets/);
  });

  it('bad wave specs and limits are input errors that say what to write', () => {
    expect(() => parseWaves('[{count: 1, percent: 5}]')).toThrow(/wave 1: give exactly one of count, percent or match/);
    expect(() => parseWaves('[{count: 1, paralel: 2}]')).toThrow(/wave 1: /);
    expect(() => parseWaves('[{percent: 100, max_failures: "lots"}]')).toThrow(/wave 1: max_failures: bad limit "lots"/);
    expect(() => parseWaves('{')).toThrow(/--waves: /);
    expect(parseLimit('3', '--max-failures')).toEqual({ count: 3 });
    expect(parseLimit('25%', '--max-failures')).toEqual({ percent: 25 });
    expect(() => parseLimit('0', '--max-failures')).toThrow(/--max-failures "0"/);
  });
});
