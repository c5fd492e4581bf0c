// A lesson is a folder under lessons/: `lesson.yaml` (what the naive way runs, what is going on in
// production meanwhile, the bar the safe way must meet, the script of explanations, an optional
// drill) and the safe way as an ordinary runbook (`runbook.yaml`). This loads and checks them.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { z } from 'zod';
import { parseDuration, DURATION_HINT } from '../runbook/durations.js';
import { InputError } from '../util/runbook-error.js';

export const LESSONS_DIR = fileURLToPath(new URL('../../lessons', import.meta.url));

const duration = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const ms = parseDuration(v);
  if (ms === undefined) ctx.addIssue({ code: 'custom', message: `"${v}" is not a duration: ${DURATION_HINT}` });
  return ms ?? 0;
});

/** What production is doing when the change lands: a transaction that holds a lock on the table. */
const holdSchema = z
  .object({
    /** report: a long read (ACCESS SHARE); writer: an open write transaction (ROW EXCLUSIVE, no row locks). */
    kind: z.enum(['report', 'writer']),
    for: duration,
  })
  .strict();

const choiceSchema = z
  .object({
    key: z.string().length(1),
    label: z.string().min(1),
    /** What pgrunbook does when this is chosen. */
    action: z.enum(['wait', 'terminate_blocker', 'abort']),
    score: z.number().int().min(0),
    why: z.string().min(1),
  })
  .strict();

const drillSchema = z
  .object({
    /** A forgotten session, idle in transaction on the table, that never ends by itself. */
    fault: z.enum(['idle_blocker']),
    /** Ask once the safe DDL has timed out this many times. */
    ask_after_retries: z.number().int().min(1).default(2),
    question: z.string().min(1),
    choices: z.array(choiceSchema).min(2),
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
    hold: holdSchema,
    naive: z.string().min(1),
    /** Undoes the naive change so the safe way starts from the same table. */
    reset: z.string().min(1),
    script: z.object({ intro: z.string(), naive: z.string(), safe: z.string(), takeaway: z.string() }).strict(),
    drill: drillSchema.optional(),
  })
  .strict();

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
