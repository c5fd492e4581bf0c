// A lesson is a folder under lessons/: `lesson.yaml` (what the naive way runs, what is going on in
// production meanwhile, the bar the safe way must meet, the script of explanations, an optional
// drill) and the safe way as an ordinary runbook (`runbook.yaml`). This loads and checks them.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { z } from 'zod';
import { parseBytes } from '../monitor/units.js';
import { parseDuration, DURATION_HINT } from '../runbook/durations.js';
import { InputError } from '../util/runbook-error.js';

export const LESSONS_DIR = fileURLToPath(new URL('../../lessons', import.meta.url));

const duration = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const ms = parseDuration(v);
  if (ms === undefined) ctx.addIssue({ code: 'custom', message: `"${v}" is not a duration: ${DURATION_HINT}` });
  return ms ?? 0;
});

const bytes = z.union([z.string(), z.number()]).transform((v, ctx) => {
  try {
    return parseBytes(typeof v === 'string' ? v.replace(/\/\s*s\s*$/, '') : v);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return 0;
  }
});

/** A streaming standby of the lesson's server, its replay held to a rate, and how far behind it may fall. */
const standbySchema = z
  .object({
    /** The standby replays at most this many bytes a second (`1MB/s`). */
    replay_rate: bytes,
    /** The safe way passes only if the standby was never further behind than this. */
    max_lag: bytes,
  })
  .strict();

/** What production is doing when the change lands: a transaction that holds a lock on the table. */
const holdSchema = z
  .object({
    /** report: a long read (ACCESS SHARE); writer: an open write transaction (ROW EXCLUSIVE, no row locks). */
    kind: z.enum(['report', 'writer']),
    for: duration,
  })
  .strict();

/** What pgrunbook does when a choice is picked; which ones a drill may offer depends on its fault. */
const ACTIONS = ['wait', 'terminate_blocker', 'cancel_blocker', 'abort', 'roll_back', 'keep_going', 'pause'] as const;
const FAULT_ACTIONS: Record<string, ReadonlyArray<(typeof ACTIONS)[number]>> = {
  idle_blocker: ['wait', 'terminate_blocker', 'abort'],
  long_transaction: ['wait', 'cancel_blocker', 'terminate_blocker', 'abort'],
  bad_deploy: ['roll_back', 'wait', 'keep_going'],
  write_burst: ['pause', 'keep_going', 'abort'],
  lagging_standby: ['wait', 'pause', 'abort'],
};

const choiceSchema = z
  .object({
    key: z.string().length(1),
    label: z.string().min(1),
    action: z.enum(ACTIONS),
    score: z.number().int().min(0),
    why: z.string().min(1),
  })
  .strict();

const drillSchema = z
  .object({
    /**
     * idle_blocker: a forgotten session idle in transaction on the table, that never ends by itself.
     * long_transaction: a long query (its snapshot) that a concurrent index build must wait out.
     * bad_deploy: the lesson's own broken deploy (needs `bad_deploy`): asked instead of rolling back by itself.
     * write_burst: the application's writes jump as the runbook's backfill starts.
     * lagging_standby: the lesson's standby stops replaying for `stall_for` as the backfill starts (needs `standby`).
     */
    fault: z.enum(['idle_blocker', 'long_transaction', 'bad_deploy', 'write_burst', 'lagging_standby']),
    /** idle_blocker: ask once the safe DDL has timed out this many times. */
    ask_after_retries: z.number().int().min(1).default(2),
    /** long_transaction: ask once the runbook has waited this long on the fault's session; write_burst: this long into the burst. */
    ask_after: duration.default(2000),
    /** write_burst: extra UPDATEs a second on random rows, and for how long. */
    burst_rate: z.number().int().min(1).default(200),
    burst_for: duration.default(5000),
    /** lagging_standby: how long the standby replays nothing. */
    stall_for: duration.default(8000),
    question: z.string().min(1),
    choices: z.array(choiceSchema).min(2),
  })
  .strict()
  .superRefine((d, ctx) => {
    for (const c of d.choices)
      if (!FAULT_ACTIONS[d.fault]!.includes(c.action))
        ctx.addIssue({
          code: 'custom',
          path: ['choices'],
          message: `action ${c.action} does nothing against ${d.fault} (use one of ${FAULT_ACTIONS[d.fault]!.join(', ')})`,
        });
  });

/** A deploy that breaks the application's writes: the lesson measures the errors and the way back. */
const badDeploySchema = z
  .object({
    /** Safe way: the runbook's rollback phase runs once the application's requests have failed this long. */
    roll_back_after: duration,
    /** Naive way: the errors go on this long before the hand-typed fix (`reset`), a stand-in for finding and typing it. */
    fix_by_hand_after: duration,
    /** After the rollback the application is watched this long: an error then means service is not back. */
    watch: duration,
  })
  .strict();

const lessonSchema = z
  .object({
    title: z.string().min(1),
    order: z.number().int(),
    /** The safe way passes when no application request takes longer than this. */
    bar: duration,
    /** The naive change is stopped after this (said on screen). */
    cap: duration,
    rows: z.number().int().min(1000).default(20_000),
    setup: z.string().optional(),
    /** Optional: a lesson about replication lag needs no lock held. */
    hold: holdSchema.optional(),
    naive: z.string().min(1),
    /** Undoes the naive change so the safe way starts from the same table. */
    reset: z.string().min(1),
    script: z.object({ intro: z.string(), naive: z.string(), safe: z.string(), takeaway: z.string() }).strict(),
    drill: drillSchema.optional(),
    bad_deploy: badDeploySchema.optional(),
    standby: standbySchema.optional(),
  })
  .strict()
  .refine((l) => !l.drill || (l.drill.fault === 'bad_deploy') === (l.bad_deploy !== undefined), {
    message: 'a bad_deploy drill needs `bad_deploy`, and a lesson with `bad_deploy` asks only a bad_deploy drill',
    path: ['drill'],
  });

export type Lesson = z.infer<typeof lessonSchema> & { id: string; dir: string; runbookFile: string };
export type Drill = NonNullable<Lesson['drill']>;
export type DrillChoice = Drill['choices'][number];

export function loadLesson(dir: string, id: string): Lesson {
  const file = join(dir, id, 'lesson.yaml');
  const runbookFile = join(dir, id, 'runbook.yaml');
  if (!existsSync(file)) throw new InputError(`no lesson "${id}" in ${dir}`, 'run `pgrunbook learn` to list the lessons');
  const parsed = lessonSchema.safeParse(parse(readFileSync(file, 'utf8')));
  if (!parsed.success) {
    const what = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new InputError(`${file}: ${what}`, 'fix the lesson file (docs/learn.md describes it)');
  }
  if (!existsSync(runbookFile)) throw new InputError(`${runbookFile} is missing`, 'each lesson needs its safe way as runbook.yaml');
  return { ...parsed.data, id, dir: join(dir, id), runbookFile };
}

/** Every lesson in `dir`, in their `order`. */
export function loadLessons(dir = LESSONS_DIR): Lesson[] {
  const ids = readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(dir, d.name, 'lesson.yaml')))
    .map((d) => d.name);
  return ids.map((id) => loadLesson(dir, id)).sort((a, b) => a.order - b.order);
}
