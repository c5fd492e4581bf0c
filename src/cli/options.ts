// Options shared by several commands, and how output mode is chosen.
import type { Command } from 'commander';
import type { OutputMode } from '../render/output.js';
import { InputError } from '../util/runbook-error.js';

/** A repeatable option's values, in the order given. */
export const collectList = (value: string, prev: string[] = []): string[] => [...prev, value];

export function collectVar(value: string, prev: Record<string, string> = {}): Record<string, string> {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new InputError(`--var "${value}": expected NAME=VALUE`, 'for example --var table=orders');
  const name = value.slice(0, eq).trim();
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
    throw new InputError(`--var "${value}": "${name}" is not a valid variable name`, 'names are letters, digits and _');
  return { ...prev, [name]: value.slice(eq + 1) };
}

export function withDb(cmd: Command): Command {
  return cmd.option('--db <url>', 'target database URL (else DATABASE_URL, else PGHOST/PGPORT/PGUSER/PGDATABASE/PGPASSWORD and ~/.pgpass)');
}

function collectSecretVar(value: string, prev: Record<string, string> = {}): Record<string, string> {
  const name = value.slice(0, Math.max(0, value.indexOf('='))).trim();
  const env = value.slice(value.indexOf('=') + 1);
  if (name && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(env)) {
    // Never echo the value: it may be the secret itself, typed by mistake.
    throw new InputError(
      `--secret-var "${name}=...": the part after = names an environment variable, not the value`,
      `for example --secret-var ${name}=DEPLOY_TOKEN, with DEPLOY_TOKEN exported`,
    );
  }
  return collectVar(value, prev);
}

export function withVars(cmd: Command): Command {
  return cmd
    .option('--var <name=value>', 'override a runbook variable (repeatable)', collectVar)
    .option(
      '--secret-var <name=ENV>',
      'read a variable from environment variable ENV as a secret: never stored, shown as *** (repeatable)',
      collectSecretVar,
    );
}

export function withOutput(cmd: Command): Command {
  return cmd.option('--plain', 'plain text, one line per event').option('--json', 'JSON lines, one object per event');
}

export function outputMode(opts: { plain?: boolean; json?: boolean }, io = { stdout: process.stdout, stdin: process.stdin }): OutputMode {
  if (opts.plain && opts.json) throw new InputError('--plain and --json are mutually exclusive', 'pick one');
  if (opts.json) return 'json';
  if (opts.plain) return 'plain';
  return io.stdout.isTTY && io.stdin.isTTY ? 'ink' : 'plain';
}

/** `--node-exporter` and `--prometheus`: where the database host's CPU, I/O wait, disks and memory come from. */
export function withHost(cmd: Command): Command {
  return cmd
    .option(
      '--node-exporter <url>',
      "the database host's node_exporter (e.g. http://db1:9100/metrics): Host line, host_cpu and io_wait throttles",
    )
    .option(
      '--prometheus <url>',
      "a Prometheus server that scrapes the database host's node_exporter (e.g. http://prom:9090), instead of --node-exporter",
    )
    .option('--prometheus-instance <label>', "the database host's `instance` label in Prometheus (needed when it scrapes several)");
}

export interface HostOptions {
  nodeExporter?: string;
  prometheus?: string;
  prometheusInstance?: string;
}

/** The host endpoints given, checked: http(s) URLs, not both, an instance only with --prometheus. */
export function hostEndpoints(o: HostOptions): HostOptions | undefined {
  const check = (flag: string, v: string | undefined) => {
    if (v === undefined) return;
    let ok = false;
    try {
      ok = ['http:', 'https:'].includes(new URL(v).protocol);
    } catch {
      ok = false;
    }
    // Never echo the value: it may carry a password.
    if (!ok)
      throw new InputError(
        `${flag}: not an http(s) URL`,
        `for example ${flag} ${flag === '--prometheus' ? 'http://prom:9090' : 'http://db1:9100/metrics'}`,
      );
  };
  check('--node-exporter', o.nodeExporter);
  check('--prometheus', o.prometheus);
  if (o.nodeExporter && o.prometheus)
    throw new InputError('--node-exporter and --prometheus are mutually exclusive', 'pick one source of host figures');
  if (o.prometheusInstance && !o.prometheus) throw new InputError('--prometheus-instance needs --prometheus', 'pass --prometheus URL too');
  if (!o.nodeExporter && !o.prometheus) return undefined;
  return { nodeExporter: o.nodeExporter, prometheus: o.prometheus, prometheusInstance: o.prometheusInstance };
}
