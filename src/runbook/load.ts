// YAML -> validated, variable-rendered Runbook. Every problem is collected (not just the first),
// each with FILE:LINE:COL. Nothing here touches a database.
//
//   1. bytes: size, binary / non-UTF-8
//   2. YAML: syntax, tabs, duplicate keys, several documents, alias bombs (bounded expansion)
//   3. structure: top-level keys, version, vars (+ --var overrides), settings, phases, steps
//   4. each step: id, exactly one kind, common fields; `{{ }}` references rendered per field
//      (SQL / shell / plain, see template.ts); the kind's zod schema on the rendered value
//   5. SQL fields parsed with libpg-query (syntax errors mapped back to the runbook line:col)
//   6. each kind's own validate()
import { readFile } from 'node:fs/promises';
import {
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  visit,
  type Document,
  type Node,
  type Scalar,
  type YAMLMap,
} from 'yaml';
import type { z } from 'zod';
import type { KindTable } from './kind-table.js';
import { fieldMode, formatPath, type ParamPath } from './field-paths.js';
import { describeValue, flattenIssues, issueMessage, keysAt, suggestKey } from './issues.js';
import {
  DEFAULT_SETTINGS,
  PHASES,
  type PhaseName,
  type Problem,
  type Runbook,
  type Settings,
  type SourcePos,
  type StepSpec,
} from './model.js';
import {
  gateLevelField,
  gateObjectField,
  REQUIRED_TOP_KEYS,
  runbookSettingsFields,
  settingsFields,
  stepCommonFields,
  TOP_KEYS,
  topFields,
  VAR_NAME,
} from './schema.js';
import { ignoredRollbackWarning } from './self-undo.js';
import { scalarSourceMap } from './source-map.js';
import { sqlProblems } from './sql-check.js';
import { didYouMean } from './suggest.js';
import { renderTemplate, type FieldMode } from './template.js';
import { findReferences } from './template-references.js';
import { registerSecret } from '../util/secrets.js';
import { credentialMessage, findCredentialLiterals } from './credential-literals.js';
import type { FleetSection } from './fleet-section.js';

export interface LoadOptions {
  /** --var overrides. Each must name a variable declared under `vars`. */
  vars?: Record<string, string>;
  /** --secret-var name=ENV: the variable is read from ENV and treated as a secret. */
  secretVars?: Record<string, string>;
  /** Where from_env values are read (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** `validate`: an unset environment variable is a warning, not an error (nothing will run). */
  envOptional?: boolean;
  /** Step kinds to validate against (the composition root's table, src/cli/composition-root.ts). */
  kinds: KindTable;
}

export interface LoadResult {
  /** Present only when there is no error (warnings allowed). */
  runbook?: Runbook;
  /** Errors and warnings, sorted by position. */
  problems: Problem[];
}

export const MAX_RUNBOOK_BYTES = 5 * 1024 * 1024;
/** Bounds alias expansion (YAML "billion laughs"). */
export const MAX_ALIAS_COUNT = 100;

export async function loadRunbookFile(path: string, opts: LoadOptions): Promise<LoadResult> {
  const at1 = { file: path, line: 1, col: 1 };
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why =
      e.code === 'ENOENT'
        ? 'no such file'
        : e.code === 'EISDIR'
          ? 'it is a directory, not a file'
          : e.code === 'EACCES'
            ? 'permission denied'
            : e.message;
    return { problems: [{ pos: at1, severity: 'error', message: `cannot read the runbook: ${why}` }] };
  }
  if (buf.length > MAX_RUNBOOK_BYTES) {
    return {
      problems: [
        { pos: at1, severity: 'error', message: `the file is ${buf.length} bytes; a runbook is at most ${MAX_RUNBOOK_BYTES} bytes` },
      ],
    };
  }
  const nul = buf.indexOf(0);
  if (nul >= 0) return { problems: [binaryProblem(path, buf.subarray(0, nul).toString('utf8'))] };
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(buf);
  } catch {
    return { problems: [{ pos: at1, severity: 'error', message: 'the file is not UTF-8 text: a runbook is a UTF-8 YAML file' }] };
  }
  return loadRunbookText(text, path, opts);
}

function binaryProblem(file: string, before: string): Problem {
  const lines = before.split('\n');
  return {
    pos: { file, line: lines.length, col: lines[lines.length - 1]!.length + 1 },
    severity: 'error',
    message: 'binary file (it contains a NUL byte): a runbook is a UTF-8 YAML text file',
  };
}

export async function loadRunbookText(text: string, file: string, opts: LoadOptions): Promise<LoadResult> {
  const nul = text.indexOf('\0');
  if (nul >= 0) return { problems: [binaryProblem(file, text.slice(0, nul))] };
  const l = new Loader(text, file, opts);
  try {
    await l.load();
  } catch (err) {
    // A bug here must still come out as a problem, never as a stack trace.
    l.problem(0, 'error', `internal error while validating: ${(err as Error)?.message ?? String(err)}`);
  }
  return l.result();
}

interface FromEnv {
  name: string;
  node: Node;
  env: string;
  secret: boolean;
}

interface Entry {
  key: string;
  keyNode: Node;
  value: Node | null;
}

interface SqlField {
  sql: string;
  posAt(offset: number): SourcePos;
  what: string;
}

class Loader {
  readonly problems: Problem[] = [];
  private readonly lc = new LineCounter();
  private doc!: Document.Parsed;
  private readonly kinds: KindTable;
  private vars: Record<string, string> = {};
  private readonly secretVars: Record<string, string> = {};
  private readonly used = new Set<string>();
  private readonly declared = new Map<string, { keyNode: Node }>();
  private stepNodes = 0;
  private readonly sqlFields: SqlField[] = [];
  private runbook?: Runbook;

  constructor(
    private readonly text: string,
    private readonly file: string,
    private readonly opts: LoadOptions,
  ) {
    this.kinds = opts.kinds;
  }

  // -- positions and problems ------------------------------------------------------------------

  pos(at: Node | number | null | undefined): SourcePos {
    let offset = typeof at === 'number' ? at : (at?.range?.[0] ?? 0);
    // "at end of input": the end of the last line reads better than the empty line after it.
    if (offset >= this.text.length && this.text.endsWith('\n')) offset = this.text.length - 1;
    const { line, col } = this.lc.linePos(Math.max(0, Math.min(offset, this.text.length)));
    return { file: this.file, line: Math.max(1, line), col: Math.max(1, col) };
  }

  problem(at: Node | number | null | undefined, severity: Problem['severity'], message: string): void {
    this.problems.push({ pos: this.pos(at), severity, message });
  }

  error(at: Node | number | null | undefined, message: string): void {
    this.problem(at, 'error', message);
  }

  result(): LoadResult {
    const seen = new Set<string>();
    const problems = this.problems
      .filter((p) => {
        const k = `${p.pos.line}:${p.pos.col}:${p.severity}:${p.message}`;
        return seen.has(k) ? false : (seen.add(k), true);
      })
      .sort((a, b) => a.pos.line - b.pos.line || a.pos.col - b.pos.col);
    const ok = !problems.some((p) => p.severity === 'error');
    return { runbook: ok ? this.runbook : undefined, problems };
  }

  // -- YAML ------------------------------------------------------------------------------------

  async load(): Promise<void> {
    this.doc = parseDocument(this.text, { lineCounter: this.lc, uniqueKeys: true, prettyErrors: false, logLevel: 'error' });
    let fatal = false;
    // A tab in the indentation derails the parser: what it says after that is a consequence.
    const tabs = this.doc.errors.filter((e) => e.code === 'TAB_AS_INDENT');
    for (const e of tabs.length ? tabs : this.doc.errors) {
      if (e.code !== 'DUPLICATE_KEY') fatal = true;
      this.error(e.pos[0], yamlMessage(e.code, e.message, this.text, e.pos[0]));
    }
    for (const w of this.doc.warnings) this.problem(w.pos[0], 'warning', w.message.split('\n')[0]!);
    if (fatal) return; // the tree of a broken document would only produce confusing follow-ups

    try {
      this.doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (err) {
      const msg = (err as Error).message;
      let first: Node | undefined;
      visit(this.doc, {
        Alias: (_k, n) => {
          first ??= n as unknown as Node;
          return visit.BREAK;
        },
      });
      this.error(
        first ?? 0,
        /Excessive alias count/.test(msg)
          ? `aliases expand to too many nodes (more than ${MAX_ALIAS_COUNT} alias expansions): this looks like an "alias bomb"; write the values out instead`
          : /Unresolved alias/.test(msg)
            ? `${msg.replace(/^Unresolved alias \(the anchor must be set before the alias\): /, 'unresolved alias *')}: define the anchor (&name) before using it`
            : `YAML: ${msg}`,
      );
      return;
    }

    const top = this.doc.contents;
    if (top === null || (isScalar(top) && (top.value === null || top.value === ''))) {
      this.error(0, 'empty runbook: expected a mapping with version: 1, name: and phases:');
      return;
    }
    if (!isMap(top)) {
      this.error(top, `the top level must be a mapping (version:, name:, phases:), not ${describeNode(top)}`);
      return;
    }
    await this.topLevel(top);
  }

  private resolve(n: unknown): Node | null {
    let node = n as Node | null;
    for (let i = 0; i < 50 && node && isAlias(node); i++) node = (node as any).resolve(this.doc) ?? null;
    return node ?? null;
  }

  /** Key/value pairs of a mapping; later duplicates (already reported by YAML) are skipped. */
  private entries(map: YAMLMap): Entry[] {
    const out: Entry[] = [];
    const seen = new Set<string>();
    for (const pair of map.items) {
      const keyNode = this.resolve(pair.key);
      if (!keyNode || !isScalar(keyNode) || (typeof keyNode.value === 'object' && keyNode.value !== null)) {
        this.error((pair.key as Node) ?? map, 'keys must be plain names');
        continue;
      }
      const key = String(keyNode.value);
      if (key === '<<') {
        this.error(keyNode, 'merge keys (<<) are not supported: write the keys out');
        continue;
      }
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({ key, keyNode, value: this.resolve(pair.value) });
    }
    return out;
  }

  private js(node: Node | null): unknown {
    if (!node) return null;
    return (node as any).toJS(this.doc, { maxAliasCount: MAX_ALIAS_COUNT });
  }

  /** Finds the node a zod issue path leads to (as deep as it goes). */
  private nodeAt(node: Node | null, path: PropertyKey[]): { node: Node | null; keyNode?: Node } {
    let cur = node;
    let keyNode: Node | undefined;
    for (const seg of path) {
      if (cur && isMap(cur)) {
        const pair = cur.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
        if (!pair) break;
        keyNode = pair.key as Node;
        cur = this.resolve(pair.value) ?? keyNode;
      } else if (cur && isSeq(cur) && typeof seg === 'number' && cur.items[seg]) {
        cur = this.resolve(cur.items[seg]);
        keyNode = undefined;
      } else break;
    }
    return { node: cur, keyNode };
  }

  /** Validates `input` with `schema`; reports each issue at the node it concerns. */
  private check<T>(schema: z.ZodType<T>, input: unknown, node: Node | null, label: string): { ok: true; value: T } | { ok: false } {
    const r = schema.safeParse(input, { reportInput: true });
    if (r.success) return { ok: true, value: r.data };
    for (const iss of flattenIssues(r.error.issues)) {
      const where = this.nodeAt(node, iss.path);
      const sub = formatPath(iss.path as ParamPath, label);
      if (iss.code === 'unrecognized_keys' && where.node && isMap(where.node)) {
        const known = keysAt(schema, iss.path);
        for (const key of iss.keys) {
          const kn = where.node.items.find((p) => isScalar(p.key) && String(p.key.value) === key)?.key as Node | undefined;
          this.error(
            kn ?? where.node,
            `${sub ? `${sub}: ` : ''}unknown key "${key}"${suggestKey(key, known)}${known ? `; expected ${known.join(', ')}` : ''}`,
          );
        }
        continue;
      }
      this.error(where.node ?? where.keyNode ?? node, `${sub ? `${sub}: ` : ''}${issueMessage(iss)}`);
    }
    return { ok: false };
  }

  // -- rendering -------------------------------------------------------------------------------

  /** Renders one string scalar; queues SQL fields for the parser. */
  private renderScalar(node: Scalar, mode: FieldMode, what: string): string {
    const template = String(node.value);
    const r = renderTemplate(template, mode, this.vars, { shellEnv: this.secretVars });
    for (const name of r.used) this.used.add(name);
    let map: ((o: number) => number) | undefined;
    const src = (tplOffset: number) => (map ??= scalarSourceMap(this.text, node))(tplOffset);
    for (const p of r.problems) this.problem(src(p.offset), p.severity, `${what}: ${p.message}`);
    if (mode === 'sql' && !r.problems.some((p) => p.severity === 'error')) {
      this.sqlFields.push({ sql: r.text, posAt: (o) => this.pos(src(r.toTemplate(o))), what });
    }
    return r.text;
  }

  /** JS value of a node with every string rendered in the mode its path calls for. */
  private renderNode(node: Node | null, path: ParamPath, modeAt: (p: ParamPath) => FieldMode, label: string): unknown {
    if (!node) return null;
    if (isScalar(node)) {
      if (typeof node.value !== 'string') return node.value;
      return this.renderScalar(node, modeAt(path), formatPath(path, label));
    }
    if (isMap(node) && node.flow && node.items.length === 1 && isMap(node.items[0]!.key) && (node.items[0]!.key as YAMLMap).flow) {
      // `title: {{ table }}` is a YAML flow mapping, not text.
      const text = this.text.slice(node.range![0], node.range![1]).trim();
      this.error(node, `${formatPath(path, label)}: a value that starts with {{ must be quoted in YAML: write "${text}"`);
      for (const r of findReferences(text)) this.used.add(r.name);
      return text;
    }
    if (isMap(node)) {
      const o: Record<string, unknown> = {};
      for (const e of this.entries(node)) o[e.key] = this.renderNode(e.value, [...path, e.key], modeAt, label);
      return o;
    }
    if (isSeq(node)) return node.items.map((it, i) => this.renderNode(this.resolve(it), [...path, i], modeAt, label));
    return this.js(node);
  }

  private renderPlain(e: Entry | undefined, label: string): unknown {
    if (!e) return undefined;
    return this.renderNode(e.value, [], () => 'plain', label);
  }

  // -- structure -------------------------------------------------------------------------------

  private unknownKeys(entries: Entry[], allowed: readonly string[], where: string, extraHint = ''): void {
    for (const e of entries) {
      if (!allowed.includes(e.key)) {
        this.error(e.keyNode, `unknown key "${e.key}"${where}${didYouMean(e.key, allowed)}${extraHint}`);
      }
    }
  }

  private async topLevel(top: YAMLMap): Promise<void> {
    const entries = this.entries(top);
    const get = (k: string) => entries.find((e) => e.key === k);
    this.unknownKeys(entries, TOP_KEYS, ' at the top level', `; expected ${TOP_KEYS.join(', ')}`);
    for (const k of REQUIRED_TOP_KEYS) {
      if (!get(k)) this.error(top, k === 'version' ? 'missing version: add `version: 1` at the top' : `missing "${k}:" at the top level`);
    }

    const versionOk = get('version')
      ? this.check(topFields.version, this.js(get('version')!.value), get('version')!.value, 'version').ok
      : false;
    this.readVars(get('vars'), top);
    if (get('version') && !versionOk && typeof this.js(get('version')!.value) === 'number') return; // another format: stop here

    const name = this.renderPlain(get('name'), 'name');
    if (get('name')) this.check(topFields.name, name, get('name')!.value, 'name');
    const description = this.renderPlain(get('description'), 'description');
    if (get('description')) this.check(topFields.description, description, get('description')!.value, 'description');

    const settings = this.readSettings(get('settings')?.value ?? null, DEFAULT_SETTINGS, 'settings');
    const integrations = this.readIntegrations(get('settings')?.value ?? null);
    const fleet = this.readFleet(get('fleet'));
    const phases = this.readPhases(get('phases'), settings);

    for (const hit of findCredentialLiterals(this.text)) this.problem(hit.offset, 'warning', credentialMessage(hit));
    for (const [name, decl] of this.declared) {
      if (!this.used.has(name)) this.problem(decl.keyNode, 'warning', `variable "${name}" is declared but never used`);
    }

    const runbook: Runbook = {
      version: 1,
      name: typeof name === 'string' ? name : '',
      ...(typeof description === 'string' ? { description } : {}),
      vars: Object.fromEntries(Object.entries(this.vars).filter(([k]) => !Object.hasOwn(this.secretVars, k))),
      ...(Object.keys(this.secretVars).length ? { secretVars: { ...this.secretVars } } : {}),
      settings,
      ...(integrations ? { integrations } : {}),
      phases,
      ...(fleet ? { fleet } : {}),
      file: this.file,
      source: this.text,
    };
    if (this.stepNodes === 0 && get('phases')) {
      this.problem(get('phases')!.keyNode, 'warning', 'the runbook has no steps');
    }

    for (const f of this.sqlFields) this.problems.push(...(await sqlProblems(f.sql, f.posAt, f.what)));

    for (const phase of PHASES) {
      for (const step of phases[phase]) {
        const kind = this.kinds.get(step.kind);
        if (!kind?.validate) continue;
        try {
          const found = await kind.validate(step, { runbook, step });
          this.problems.push(...found.map((p) => ({ ...p, pos: p.pos ?? step.pos })));
        } catch (err) {
          const message = `step "${step.id}": ${step.kind} validation failed: ${(err as Error)?.message ?? String(err)}`;
          this.problems.push({ pos: step.pos, severity: 'error', message });
        }
      }
    }
    this.runbook = runbook;
  }

  private readVars(e: Entry | undefined, top: YAMLMap): void {
    const defaults: Record<string, string> = {};
    const missing: { name: string; keyNode: Node }[] = [];
    const fromEnv: FromEnv[] = [];
    if (e && e.value && !(isScalar(e.value) && e.value.value === null)) {
      if (!isMap(e.value)) this.error(e.value, `vars must be a mapping of name: default value, not ${describeNode(e.value)}`);
      else {
        for (const v of this.entries(e.value)) {
          if (!VAR_NAME.test(v.key)) {
            this.error(v.keyNode, `bad variable name "${v.key}": use letters, digits and _ (not starting with a digit)`);
            continue;
          }
          this.declared.set(v.key, { keyNode: v.keyNode });
          const raw = this.js(v.value);
          const r = this.check(topFields.vars.valueType, raw, v.value, `vars.${v.key}`);
          if (!r.ok) continue;
          if (r.value === null) missing.push({ name: v.key, keyNode: v.keyNode });
          else if (typeof r.value === 'object')
            fromEnv.push({ name: v.key, node: v.value ?? v.keyNode, env: r.value.from_env, secret: r.value.secret === true });
          else defaults[v.key] = String(r.value);
        }
      }
    }
    for (const [name, env] of Object.entries(this.opts.secretVars ?? {})) {
      if (!this.declared.has(name)) {
        this.error(
          e?.keyNode ?? top,
          `--secret-var ${name}: no variable "${name}" is declared under vars${didYouMean(name, this.declared.keys())}; declare it (null, or { from_env: ${env}, secret: true })`,
        );
        continue;
      }
      const i = fromEnv.findIndex((f) => f.name === name);
      const entry = { name, node: this.declared.get(name)!.keyNode, env, secret: true };
      if (i >= 0) fromEnv[i] = entry;
      else fromEnv.push(entry);
    }
    for (const f of fromEnv) {
      if (Object.hasOwn(this.opts.vars ?? {}, f.name) && !f.secret) continue; // --var wins over a plain from_env
      defaults[f.name] = this.readEnv(f);
      if (f.secret) this.secretVars[f.name] = f.env;
    }
    const overrides = this.opts.vars ?? {};
    for (const [k, v] of Object.entries(overrides)) {
      if (!this.declared.has(k)) {
        this.error(
          e?.keyNode ?? top,
          `--var ${k}: no variable "${k}" is declared under vars${didYouMean(k, this.declared.keys())}; declare it (with a default, or null to require it) to set it from the command line`,
        );
        continue;
      }
      if (Object.hasOwn(this.secretVars, k)) {
        this.error(
          e?.keyNode ?? top,
          `--var ${k}: "${k}" is a secret variable; set it through its environment variable ${this.secretVars[k]}, not on the command line (where ps shows it)`,
        );
        continue;
      }
      defaults[k] = v;
    }
    for (const m of missing) {
      if (Object.hasOwn(overrides, m.name) || Object.hasOwn(this.secretVars, m.name)) continue;
      this.error(m.keyNode, `variable "${m.name}" has no default: pass --var ${m.name}=VALUE`);
      defaults[m.name] = m.name; // a stand-in, so its uses are not reported again as undefined
    }
    this.vars = defaults;
  }

  /** A from_env value; a secret is registered with the redactor before anything can print it. */
  private readEnv(f: FromEnv): string {
    const value = (this.opts.env ?? process.env)[f.env];
    if (value === undefined || value === '') {
      const message = `variable "${f.name}" reads the environment variable ${f.env}, which is not set: export it before run and resume`;
      this.problem(f.node, this.opts.envOptional ? 'warning' : 'error', message);
      return f.name; // a stand-in, so its uses are not reported again as undefined
    }
    if (f.secret) registerSecret(value);
    return value;
  }

  private readSettings(node: Node | null, base: Settings, label: string): Settings {
    const out = { ...base };
    if (!node || (isScalar(node) && node.value === null)) return out;
    if (!isMap(node)) {
      this.error(node, `${label} must be a mapping (lock_timeout, statement_timeout, ddl_retries), not ${describeNode(node)}`);
      return out;
    }
    const entries = this.entries(node);
    const known = [...Object.keys(settingsFields), ...Object.keys(runbookSettingsFields)];
    this.unknownKeys(entries, known, ` in ${label}`, `; expected ${known.join(', ')}`);
    this.applySettings(entries, out, label);
    return out;
  }

  /** settings.notify / notify_throttled_after (runbook-wide; steps cannot override them). */
  private readIntegrations(node: Node | null): Runbook['integrations'] {
    if (!node || !isMap(node)) return undefined;
    const out: NonNullable<Runbook['integrations']> = {};
    for (const e of this.entries(node)) {
      if (e.key === 'notify') {
        const r = this.check(runbookSettingsFields.notify, this.renderPlain(e, 'settings.notify'), e.value, 'settings.notify');
        if (!r.ok) continue;
        out.notify = r.value.map((t) => (typeof t === 'string' ? { url: t } : t));
        if (out.notify.some((t) => t.url !== undefined)) {
          this.problem(
            e.keyNode,
            'warning',
            'settings.notify: a webhook URL is a secret and the runbook text is stored in the journal; prefer url_env: NAME_OF_ENV_VAR',
          );
        }
      } else if (e.key === 'notify_throttled_after') {
        const r = this.check(runbookSettingsFields.notify_throttled_after, this.renderPlain(e, e.key), e.value, `settings.${e.key}`);
        if (r.ok) out.notifyThrottledAfterMs = r.value;
      } else if (e.key === 'approvals') {
        const r = this.check(runbookSettingsFields.approvals, this.js(e.value), e.value, 'settings.approvals');
        if (r.ok) out.approvals = r.value;
      } else if (e.key === 'approval_timeout') {
        const r = this.check(runbookSettingsFields.approval_timeout, this.renderPlain(e, e.key), e.value, `settings.${e.key}`);
        if (r.ok) out.approvalTimeoutMs = r.value;
      }
    }
    return Object.keys(out).length ? out : undefined;
  }

  /** The `fleet:` section; its health check is SQL (rendered and parsed like a step's). */
  private readFleet(e: Entry | undefined): FleetSection | undefined {
    if (!e?.value || (isScalar(e.value) && e.value.value === null)) return undefined;
    if (!isMap(e.value)) {
      this.error(e.value, `fleet must be a mapping (waves, max_failures, per_server, soak, health, gate), not ${describeNode(e.value)}`);
      return undefined;
    }
    const sqlAt = (p: ParamPath): FieldMode => (p[0] === 'health' && p[1] === 'check' ? 'sql' : 'plain');
    const r = this.check(topFields.fleet, this.renderNode(e.value, [], sqlAt, 'fleet'), e.value, 'fleet');
    return r.ok ? r.value : undefined;
  }

  private applySettings(entries: Entry[], out: Settings, label: string): void {
    for (const e of entries) {
      if (!(e.key in settingsFields)) continue;
      const name = label ? `${label}.${e.key}` : e.key;
      const input = this.renderPlain(e, name);
      const r = this.check(settingsFields[e.key as keyof typeof settingsFields] as z.ZodType<number>, input, e.value, name);
      if (!r.ok) continue;
      if (e.key === 'lock_timeout') out.lockTimeoutMs = r.value;
      else if (e.key === 'statement_timeout') out.statementTimeoutMs = r.value;
      else out.ddlRetries = r.value;
    }
  }

  private readPhases(e: Entry | undefined, settings: Settings): Record<PhaseName, StepSpec[]> {
    const phases = Object.fromEntries(PHASES.map((p) => [p, [] as StepSpec[]])) as Record<PhaseName, StepSpec[]>;
    if (!e) return phases;
    if (!e.value || (isScalar(e.value) && e.value.value === null)) return phases;
    if (!isMap(e.value)) {
      this.error(e.value, `phases must be a mapping of phase name to a list of steps (${PHASES.join(', ')}), not ${describeNode(e.value)}`);
      return phases;
    }
    const ids = new Map<string, { phase: PhaseName; pos: SourcePos }>();
    for (const p of this.entries(e.value)) {
      if (!(PHASES as readonly string[]).includes(p.key)) {
        this.error(p.keyNode, `unknown phase "${p.key}"${didYouMean(p.key, PHASES)}; phases are ${PHASES.join(', ')}`);
        continue;
      }
      const phase = p.key as PhaseName;
      if (!p.value || (isScalar(p.value) && p.value.value === null)) continue;
      if (!isSeq(p.value)) {
        this.error(p.value, `phase "${phase}" must be a list of steps (each item starts with "- id: ..."), not ${describeNode(p.value)}`);
        continue;
      }
      for (const item of p.value.items) {
        this.stepNodes++;
        const step = this.readStep(this.resolve(item), phase, settings, ids);
        if (step) phases[phase].push(step);
      }
    }
    return phases;
  }

  private readStep(
    node: Node | null,
    phase: PhaseName,
    base: Settings,
    ids: Map<string, { phase: PhaseName; pos: SourcePos }>,
  ): StepSpec | undefined {
    if (!node || !isMap(node)) {
      this.error(
        node,
        `a step is a mapping with an id and one kind key (e.g. "- id: add_column" then "sql: ..."), not ${node ? describeNode(node) : 'nothing'}`,
      );
      return undefined;
    }
    const pos = this.pos(node);
    const entries = this.entries(node);
    // id first: messages below name the step.
    const id = this.readStepId(node, entries, phase, ids);
    const kindEntries = this.stepKindEntries(node, entries, id ? `step "${id}"` : 'step');
    const common = this.readStepCommon(entries, base);
    const kindE = kindEntries[0];
    if (!kindE || !id) return undefined;
    const kind = this.kinds.get(kindE.key)!;
    const queued = this.sqlFields.length;
    const rendered = this.renderNode(kindE.value, [], (p) => fieldMode(kind, p), kind.kind);
    const parsed = this.check(kind.schema, rendered, kindE.value, kind.kind);
    const rbE = entries.find((x) => x.key === 'rollback');
    if (rbE) {
      const ignored = ignoredRollbackWarning(kind.kind, id, phase, parsed.ok ? parsed.value : rendered);
      if (ignored) this.problem(rbE.keyNode, 'warning', ignored);
    }
    if (!parsed.ok) this.sqlFields.length = queued; // SQL errors inside a value of the wrong shape would be noise
    if (!parsed.ok || !common.enabled) return undefined;
    const { title, why, gate, approvers, rollback, timeoutMs, settings } = common;
    return {
      id,
      phase,
      kind: kind.kind,
      params: parsed.value,
      ...(title !== undefined ? { title } : {}),
      ...(why !== undefined ? { why } : {}),
      ...(gate !== undefined ? { gate } : {}),
      ...(approvers !== undefined ? { approvers } : {}),
      ...(rollback !== undefined ? { rollback } : {}),
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
      settings,
      pos,
    };
  }

  /** The step's id, when present, valid and not used by an earlier step (recorded in `ids`). */
  private readStepId(
    node: Node,
    entries: Entry[],
    phase: PhaseName,
    ids: Map<string, { phase: PhaseName; pos: SourcePos }>,
  ): string | undefined {
    const idE = entries.find((x) => x.key === 'id');
    if (!idE) {
      this.error(node, `step without an id (in phase ${phase}): add a unique "id:" as its first key`);
      return undefined;
    }
    const r = this.check(stepCommonFields.id, this.js(idE.value), idE.value, 'id');
    if (!r.ok) return undefined;
    const prev = ids.get(r.value);
    if (prev) {
      this.error(
        idE.value,
        `duplicate step id "${r.value}": already used at line ${prev.pos.line} (phase ${prev.phase}); ids must be unique across all phases`,
      );
    } else ids.set(r.value, { phase, pos: this.pos(idE.value) });
    return r.value;
  }

  /** The step's kind keys (one is right); unknown keys, no kind and several kinds are reported. */
  private stepKindEntries(node: Node, entries: Entry[], who: string): Entry[] {
    const commonKeys = Object.keys(stepCommonFields);
    const kindNames = [...this.kinds.keys()];
    const kindEntries: Entry[] = [];
    for (const x of entries) {
      if (commonKeys.includes(x.key)) continue;
      if (this.kinds.has(x.key)) {
        kindEntries.push(x);
        continue;
      }
      const hint = didYouMean(x.key, [...commonKeys, ...kindNames]);
      this.error(
        x.keyNode,
        `${who}: unknown step kind or key "${x.key}"${hint}${hint ? '' : `; kinds are ${kindNames.join(', ')}; other keys are ${commonKeys.join(', ')}`}`,
      );
    }
    if (kindEntries.length === 0) {
      const unknownOnly = entries.some((x) => !commonKeys.includes(x.key));
      if (!unknownOnly) this.error(node, `${who} has no kind: add exactly one of ${kindNames.join(', ')}`);
    } else if (kindEntries.length > 1) {
      const names = kindEntries.map((k) => `"${k.key}"`).join(' and ');
      this.error(
        kindEntries[1]!.keyNode,
        `${who} has ${kindEntries.length} kinds (${names}): a step does exactly one thing; split it into separate steps`,
      );
    }
    return kindEntries;
  }

  /** The fields every step kind shares: settings, title, why, gate, timeout, when, rollback. */
  private readStepCommon(entries: Entry[], base: Settings): StepCommon {
    const get = (k: string) => entries.find((x) => x.key === k);
    const settings = { ...base };
    this.applySettings(entries, settings, '');
    const str = (k: 'title' | 'why') => {
      const x = get(k);
      if (!x) return undefined;
      const v = this.renderPlain(x, k);
      const r = this.check(stepCommonFields[k], v, x.value, k);
      return r.ok ? r.value : undefined;
    };
    const common: StepCommon = { settings, title: str('title'), why: str('why'), enabled: true };
    const gateE = get('gate');
    if (gateE) {
      // A mapping is the approval form; checked on its own so its errors name its keys.
      const schema = isMap(gateE.value) ? gateObjectField : gateLevelField;
      const r = this.check(schema, this.js(gateE.value), gateE.value, 'gate');
      if (r.ok) ({ level: common.gate, approvers: common.approvers } = r.value);
    }
    const timeoutE = get('timeout');
    if (timeoutE) {
      const r = this.check(stepCommonFields.timeout, this.renderPlain(timeoutE, 'timeout'), timeoutE.value, 'timeout');
      if (r.ok) common.timeoutMs = r.value;
    }
    // `when:` (e.g. "{{ index }}"): a step whose condition renders false is left out of the run.
    const whenE = get('when');
    if (whenE) {
      const r = this.check(stepCommonFields.when, this.renderPlain(whenE, 'when'), whenE.value, 'when');
      if (r.ok) common.enabled = r.value;
    }
    const rbE = get('rollback');
    if (rbE) {
      if (rbE.value && isScalar(rbE.value) && typeof rbE.value.value === 'string' && rbE.value.value.trim() !== '') {
        common.rollback = this.renderScalar(rbE.value, 'sql', 'rollback');
      } else {
        this.error(rbE.value ?? rbE.keyNode, `rollback: expected SQL text, got ${describeValue(this.js(rbE.value))}`);
      }
    }
    return common;
  }
}

/** A step's common fields as read; `enabled` is false when its `when:` rendered false. */
interface StepCommon {
  settings: Settings;
  title?: string;
  why?: string;
  gate?: StepSpec['gate'];
  approvers?: number;
  timeoutMs?: number;
  enabled: boolean;
  rollback?: string;
}

function describeNode(n: Node): string {
  if (isSeq(n)) return 'a list';
  if (isMap(n)) return 'a mapping';
  if (isScalar(n)) return describeValue(n.value);
  return 'something else';
}

function yamlMessage(code: string, message: string, text: string, offset: number): string {
  const first = message.split('\n')[0]!;
  switch (code) {
    case 'TAB_AS_INDENT':
      return 'a tab is used for indentation: YAML allows only spaces there';
    case 'DUPLICATE_KEY': {
      const key = /^\s*([^:\n]*?)\s*:/.exec(text.slice(offset, offset + 200))?.[1];
      return `duplicate key${key ? ` "${key}"` : ''}: each key may appear only once in a mapping`;
    }
    case 'MULTIPLE_DOCS':
      return 'more than one YAML document (a second "---"): a runbook is a single document';
    default:
      return `YAML syntax error: ${first}`;
  }
}
