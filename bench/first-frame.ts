// First frame of the TUI after launch, in a real pseudo-terminal (util-linux `script`), for
// `pgrunbook demo` (the UI mounts before PostgreSQL starts). Baseline, same run and same pty path:
// the first byte of `node -e` writing one line. Also measures "ready" (PostgreSQL started, 1M rows
// seeded, traffic on, the runbook starting) once. Bars: first frame ≤ 500 ms; ready < 15 s.
//
//   npm run build && npx tsx bench/first-frame.ts [--runs 5] [--rows 1000000]
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { stripVTControlCharacters } from 'node:util';
import { machine, ratio, writeSection } from './lib/readme.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = fileURLToPath(new URL('../bin/pgrunbook.js', import.meta.url));
const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const RUNS = arg('--runs', 5);
const ROWS = arg('--rows', 1_000_000);

interface PtyRun {
  firstMs: number;
  /** When Ink's full layout (the key legend) was on screen. */
  fullMs?: number;
  readyMs?: number;
  exitMs: number;
  code: number | null;
}

function quote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Runs `cmd` in a fresh 80×24 pty; resolves times (ms from spawn) of the first output matching `first` and `ready`. */
function inPty(
  cmd: string,
  first: RegExp,
  opts: { ready?: RegExp; full?: RegExp; quitAfter?: 'first' | 'ready'; timeoutMs?: number } = {},
): Promise<PtyRun> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env, TERM: 'xterm-256color', NO_COLOR: '1' };
    delete env.CI; // ink draws live frames only outside CI
    delete env.CONTINUOUS_INTEGRATION;
    const t0 = performance.now();
    const child = spawn('script', ['-qfec', `stty cols 80 rows 24; exec ${cmd}`, '/dev/null'], {
      cwd: ROOT,
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let firstMs: number | undefined;
    let readyMs: number | undefined;
    let fullMs: number | undefined;
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      reject(new Error(`timed out; output so far:\n${stripVTControlCharacters(out).slice(-2000)}`));
    }, opts.timeoutMs ?? 60_000);
    const quit = () => child.stdin.write('q');
    let quitting = false;
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      const text = stripVTControlCharacters(out);
      if (firstMs === undefined && first.test(text)) firstMs = performance.now() - t0;
      if (opts.full && fullMs === undefined && opts.full.test(text)) fullMs = performance.now() - t0;
      if (opts.quitAfter === 'first' && firstMs !== undefined && (!opts.full || fullMs !== undefined) && !quitting) {
        quitting = true;
        quit();
      }
      if (opts.ready && readyMs === undefined && opts.ready.test(text)) {
        readyMs = performance.now() - t0;
        if (opts.quitAfter === 'ready') quit();
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (firstMs === undefined) return reject(new Error(`no first frame; output:\n${stripVTControlCharacters(out).slice(-2000)}`));
      resolve({ firstMs, fullMs, readyMs, exitMs: performance.now() - t0, code });
    });
  });
}

/** CPU time (ms) a fresh node spends loading `spec` (nothing when empty): where start-up time goes. */
function importCpuMs(spec: string): number {
  const code = `${spec ? `await import(${JSON.stringify(spec)});` : ''} const u = process.cpuUsage(); console.log((u.user + u.system) / 1000);`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`node -e failed: ${r.stderr}`);
  return Number(r.stdout.trim());
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function main(): Promise<void> {
  if (spawnSync('script', ['--version'], { stdio: 'ignore' }).status !== 0)
    throw new Error('`script` (util-linux) is needed for a pseudo-terminal: apt-get install util-linux');
  if (!existsSync(fileURLToPath(new URL('../dist/cli/main.js', import.meta.url))))
    throw new Error('dist/ is missing: run `npm run build` first');

  const baseline: number[] = [];
  const frames: number[] = [];
  const fulls: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    // Interleaved, so both see the same machine load.
    baseline.push((await inPty(`node -e ${quote("process.stdout.write('pgrunbook baseline\\n')")}`, /pgrunbook baseline/)).firstMs);
    const r = await inPty(`node ${BIN} demo --rows 1000`, /pgrunbook · starting/, {
      full: /\? help/,
      quitAfter: 'first',
      timeoutMs: 60_000,
    });
    frames.push(r.firstMs);
    fulls.push(r.fullMs!);
    console.log(
      `run ${i + 1}: baseline ${baseline[i]!.toFixed(0)} ms, first frame ${r.firstMs.toFixed(0)} ms, full Ink layout ${r.fullMs!.toFixed(0)} ms (exit ${r.code} after ${r.exitMs.toFixed(0)} ms)`,
    );
  }
  const ready = await inPty(`node ${BIN} demo --rows ${ROWS}`, /pgrunbook · starting/, {
    ready: /demo ready in/,
    quitAfter: 'ready',
    timeoutMs: 120_000,
  });
  console.log(
    `ready with ${ROWS} rows: ${(ready.readyMs! / 1000).toFixed(1)} s (first frame ${ready.firstMs.toFixed(0)} ms, exit ${ready.code})`,
  );

  const load0 = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  const cpu = (spec: string) => median([importCpuMs(spec), importCpuMs(spec), importCpuMs(spec)]);
  const cpuNode = cpu('');
  const cpuInk = cpu('ink');
  const cpuMain = cpu(fileURLToPath(new URL('../dist/cli/main.js', import.meta.url)));
  const b = median(baseline);
  const f = median(frames);
  const full = median(fulls);
  const md = `## First frame

\`npx tsx bench/first-frame.ts\` (after \`npm run build\`): \`pgrunbook demo\` launched in a fresh 80×24 pseudo-terminal
(util-linux \`script\`); the first frame is the moment the header appears on the terminal: the demo draws it as
plain text before loading Ink (about half a second of CPU), then Ink redraws those lines with the full layout,
whose time (the key legend on screen) is the second row. Both come before PostgreSQL starts. Baseline in the same run, interleaved: the first byte of \`node -e\` printing one line
through the same pty. ${RUNS} runs each, medians. "Ready" is one run with ${ROWS.toLocaleString('en-US')} rows: embedded
PostgreSQL started, the table seeded, traffic on, the runbook starting.

| what | median | runs |
|---|---|---|
| baseline: \`node -e\` first byte | ${b.toFixed(0)} ms | ${baseline.map((x) => x.toFixed(0)).join(', ')} |
| \`pgrunbook demo\` first frame | ${f.toFixed(0)} ms | ${frames.map((x) => x.toFixed(0)).join(', ')} |
| first frame over baseline | ${ratio(f, b)} | |
| full Ink layout (key legend on screen) | ${full.toFixed(0)} ms | ${fulls.map((x) => x.toFixed(0)).join(', ')} |
| ready (${ROWS.toLocaleString('en-US')} rows seeded) | ${(ready.readyMs! / 1000).toFixed(1)} s | 1 |

Bars: first frame ≤ 500 ms (${f <= 500 ? 'met' : '**not met**'}); ready < 15 s (${ready.readyMs! < 15_000 ? 'met' : '**not met**'}).

Where start-up goes (CPU time of a fresh node process loading a module graph, medians of 3):

| load | CPU |
|---|---|
| nothing (\`node\` itself) | ${cpuNode.toFixed(0)} ms |
| \`ink\` alone (any Ink UI pays this: about 600 files, 400 of them from \`es-toolkit/compat\`) | ${cpuInk.toFixed(0)} ms |
| \`dist/cli/main.js\` (the command table; each command loads its own modules) | ${cpuMain.toFixed(0)} ms |

Load average at the end: ${load0}.`;
  writeSection('first-frame', md);
  console.log(md);
  console.log(`\n(${machine()})`);
}

await main();
