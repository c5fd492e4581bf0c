// schema/runbook.schema.json is a committed copy of `pgrunbook schema` (editors read it through
// the `# yaml-language-server: $schema=...` line of the shipped runbooks). It must match the zod
// schemas, which grow with every step kind: this test regenerates it and compares.
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { schemaText } from '../../src/cli/commands/schema-command.js';
import { runbookJsonSchema } from '../../src/runbook/schema.js';
import { STEP_KINDS } from '../../src/cli/composition-root.js';

const FILE = new URL('../../schema/runbook.schema.json', import.meta.url);
const REFRESH =
  'UPDATE_SCHEMA=1 npx vitest run test/runbook/schema.test.ts   (or: npm run build && node bin/pgrunbook.js schema > schema/runbook.schema.json)';

describe('runbook JSON Schema', () => {
  it('the committed copy equals the generated schema', () => {
    const fresh = schemaText();
    if (process.env.UPDATE_SCHEMA) writeFileSync(FILE, fresh);
    let committed = '';
    try {
      committed = readFileSync(FILE, 'utf8');
    } catch {
      /* missing: reported below */
    }
    if (committed !== fresh) {
      expect.fail(`schema/runbook.schema.json is out of date (a step kind or a field changed). Refresh it with:\n  ${REFRESH}`);
    }
  });

  it('has a step variant for every registered kind, with the common keys', () => {
    const s = runbookJsonSchema(STEP_KINDS) as any;
    // Shared parts are emitted once under definitions and referenced.
    const d = (x: any): any => (x?.$ref ? d(s.definitions[x.$ref.replace('#/definitions/', '')]) : x);
    expect(s.$schema).toMatch(/draft-07/);
    expect(s.required).toEqual(expect.arrayContaining(['version', 'name', 'phases']));
    const list = d(s.properties.phases.properties.deploy);
    const step = d(list.anyOf.find((x: any) => x.type === 'array').items);
    const variants: any[] = step.anyOf.map(d);
    const kinds = variants.map((v) => Object.keys(v.properties).find((k) => STEP_KINDS.has(k)));
    expect(kinds.sort()).toEqual([...STEP_KINDS.keys()].sort());
    for (const v of variants) {
      expect(v.required).toContain('id');
      expect(Object.keys(v.properties)).toEqual(
        expect.arrayContaining(['id', 'title', 'why', 'gate', 'rollback', 'timeout', 'lock_timeout', 'statement_timeout', 'ddl_retries']),
      );
      expect(v.additionalProperties).toBe(false);
    }
    expect(s.properties.settings.properties.lock_timeout.anyOf[1].pattern).toBeTruthy();
  });
});
