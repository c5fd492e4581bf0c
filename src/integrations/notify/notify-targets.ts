// Where notifications go: `--notify URL` (repeatable) and `settings.notify` in the runbook.
// A webhook URL is a secret (Slack's path is the credential), so only its origin is ever shown.
import { InputError } from '../../util/runbook-error.js';
import { registerSecret } from '../../util/secrets.js';

export type NotifyFormat = 'slack' | 'json';

export interface NotifyTarget {
  url: string;
  format: NotifyFormat;
  /** Safe to print: scheme and host only. */
  label: string;
}

/** What `settings.notify` holds after loading (see runbook/schema.ts). */
export interface NotifySetting {
  url?: string;
  url_env?: string;
  format?: NotifyFormat;
}

/** `https://hooks.slack.com/services/T/B/x` -> `https://hooks.slack.com/…`. */
export function safeUrlLabel(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}/…`;
  } catch {
    return 'an unparsable URL';
  }
}

/**
 * `URL`, or `slack:URL` / `json:URL` to choose the payload. Without a prefix, Slack's own host gets
 * Slack's payload and anything else the generic JSON one.
 */
export function parseNotifyArg(arg: string, where = '--notify'): NotifyTarget {
  const m = /^(slack|json):(?=[a-z][a-z0-9+.-]*:\/\/)/i.exec(arg);
  const url = m ? arg.slice(m[0].length) : arg;
  const format = m ? (m[1]!.toLowerCase() as NotifyFormat) : undefined;
  return target(url, format, where);
}

function target(url: string, format: NotifyFormat | undefined, where: string): NotifyTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new InputError(`${where}: not a URL (${safeUrlLabel(url)})`, 'pass an http(s) webhook URL, optionally prefixed slack: or json:');
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') {
    throw new InputError(`${where}: ${u.protocol} URLs are not supported`, 'pass an http:// or https:// webhook URL');
  }
  registerSecret(url);
  return { url, format: format ?? (u.host === 'hooks.slack.com' ? 'slack' : 'json'), label: safeUrlLabel(url) };
}

/** Targets from the runbook's settings; `url_env` names an environment variable holding the URL. */
export function targetsFromSettings(settings: NotifySetting[], env: NodeJS.ProcessEnv = process.env): NotifyTarget[] {
  return settings.map((s, i) => {
    const where = `settings.notify[${i}]`;
    if (s.url_env !== undefined) {
      const url = env[s.url_env];
      if (!url)
        throw new InputError(
          `${where}: environment variable ${s.url_env} is not set`,
          `export ${s.url_env}=<webhook URL>, or drop this entry`,
        );
      return withFormat(parseNotifyArg(url, `${where} (${s.url_env})`), s.format);
    }
    return withFormat(parseNotifyArg(s.url ?? '', where), s.format);
  });
}

function withFormat(t: NotifyTarget, format: NotifyFormat | undefined): NotifyTarget {
  return format ? { ...t, format } : t;
}
