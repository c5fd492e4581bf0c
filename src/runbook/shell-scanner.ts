// Where each reference stands in a shell command: in code, inside quotes, a comment or a
// here-document (where quoting would not hold).
import type { Reference } from './template-references.js';

export type ShellContext = 'code' | 'single quotes' | 'double quotes' | 'a comment' | 'a here-document';

const HEREDOC = /<<(-?)[ \t]*(?:'([^'\n]*)'|"([^"\n]*)"|([^\s;&|<>()'"]+))/y;

export function shellContexts(t: string, refs: Reference[]): ShellContext[] {
  const ctx: ShellContext[] = [];
  let state: ShellContext = 'code';
  // Here-documents start on the line after their `<<WORD`; several may be pending on one line.
  const pending: { delim: string; stripTabs: boolean }[] = [];
  let r = 0;
  let i = 0;
  while (i < t.length) {
    if (r < refs.length && i === refs[r]!.start) {
      ctx.push(state);
      i = refs[r++]!.end;
      continue;
    }
    const c = t[i]!;
    switch (state) {
      case 'code':
        if (c === '\\') i += 2;
        else if (c === '<' && t[i + 1] === '<' && t[i + 2] !== '<') {
          HEREDOC.lastIndex = i;
          const m = HEREDOC.exec(t);
          if (m) {
            pending.push({ delim: m[2] ?? m[3] ?? m[4]!, stripTabs: m[1] === '-' });
            i = HEREDOC.lastIndex;
          } else i += 2;
        } else {
          if (c === "'") state = 'single quotes';
          else if (c === '"') state = 'double quotes';
          else if (c === '#' && (i === 0 || /[\s;&|()]/.test(t[i - 1]!))) state = 'a comment';
          else if (c === '\n' && pending.length) state = 'a here-document';
          i++;
        }
        break;
      case 'single quotes':
        if (c === "'") state = 'code';
        i++;
        break;
      case 'double quotes':
        if (c === '\\') i += 2;
        else {
          if (c === '"') state = 'code';
          i++;
        }
        break;
      case 'a comment':
        if (c === '\n') state = pending.length ? 'a here-document' : 'code';
        i++;
        break;
      case 'a here-document': {
        // At a line start: is this the delimiter line?
        const nl = t.indexOf('\n', i);
        const lineEnd = nl < 0 ? t.length : nl;
        const refInLine = r < refs.length && refs[r]!.start < lineEnd;
        const line = t.slice(i, lineEnd);
        const h = pending[0]!;
        if (!refInLine && (h.stripTabs ? line.replace(/^\t+/, '') : line) === h.delim) {
          pending.shift();
          if (!pending.length) state = 'code';
        }
        // References in the body are expanded by the shell, quotes or not.
        while (r < refs.length && refs[r]!.start <= lineEnd) {
          ctx.push(state);
          r++;
        }
        i = Math.max(lineEnd + 1, r > 0 ? refs[r - 1]!.end : 0);
        break;
      }
    }
  }
  while (ctx.length < refs.length) ctx.push(state);
  return ctx;
}
