// CPU of the TUI while it idles: `pgrunbook demo` in a real 80×24 terminal (tmux), waiting at its
// first gate with the monitor polling every second and the panels re-rendering. CPU time of the
// pgrunbook process (utime+stime from /proc) over a window, as a share of one core. Baseline in the
// same run, measured at the same time: a node process that only runs a 1 s timer.
// Two variants: without synthetic traffic (the TUI and the monitor alone) and with the demo's
// default traffic (40 operations/s, generated inside the same process). Bar: under 5% of one core.
//
//   npm run build && npx tsx bench/tui-idle.ts [--seconds 20]
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { machine, ratio, writeSection } from './lib/readme.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = fileURLToPath(new URL('../bin/pgrunbook.js', import.meta.url));
const i = process.argv.indexOf('--seconds');
const SECONDS = i > 0 ? Number(process.argv[i + 1]) : 20;
const TICKS = 100; // USER_HZ on Linux
const SOCKET = `pgrb-bench-${process.pid}`;

const tmux = (...args: string[]) => spawnSync('tmux', ['-L', SOCKET, ...args], { encoding: 'utf8' });

function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / TICKS; // utime, stime
}

async function until(cond: () => boolean, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function measure(rate: number): Promise<{ tui: number; baseline: number }> {
  const name = `idle${rate}`;
  const r = tmux(
    'new-session',
    '-d',
    '-s',
    name,
    '-x',
    '80',
    '-y',
    '24',
    `unset CI CONTINUOUS_INTEGRATION; export NO_COLOR=1 TERM=xterm-256color; cd ${ROOT} && exec node ${BIN} demo --rows 100000 --rate ${rate}`,
  );
  if (r.status !== 0) throw new Error(`tmux: ${r.stderr}`);
  try {
    await until(() => (tmux('capture-pane', '-p', '-t', name).stdout ?? '').includes('Approve? [y/N]'), 'the first gate', 90_000);
    const pid = Number(tmux('list-panes', '-t', name, '-F', '#{pane_pid}').stdout.trim());
    // Let start-up work (plan, first polls) settle before the window opens.
    await new Promise((res) => setTimeout(res, 3000));
    const base = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    await new Promise((res) => setTimeout(res, 500));
    const a = { tui: cpuSeconds(pid), base: cpuSeconds(base.pid!), t: performance.now() };
    await new Promise((res) => setTimeout(res, SECONDS * 1000));
    const b = { tui: cpuSeconds(pid), base: cpuSeconds(base.pid!), t: performance.now() };
    base.kill();
    const wall = (b.t - a.t) / 1000;
    return { tui: (100 * (b.tui - a.tui)) / wall, baseline: (100 * (b.base - a.base)) / wall };
  } finally {
    tmux('send-keys', '-t', name, 'q');
    await new Promise((res) => setTimeout(res, 4000));
    tmux('kill-server');
  }
}

/** Percentage points over the baseline, and the ratio when the baseline is measurable. */
function over(m: { tui: number; baseline: number }): string {
  const pts = `+${(m.tui - m.baseline).toFixed(2)} points`;
  return m.baseline >= 0.1 ? `${pts} (${ratio(m.tui, m.baseline)})` : pts;
}

async function main(): Promise<void> {
  if (spawnSync('tmux', ['-V'], { stdio: 'ignore' }).status !== 0)
    throw new Error('tmux is needed for a real terminal: apt-get install tmux');
  if (!existsSync(fileURLToPath(new URL('../dist/cli/main.js', import.meta.url))))
    throw new Error('dist/ is missing: run `npm run build` first');
  const quiet = await measure(0);
  console.log(`no traffic: TUI ${quiet.tui.toFixed(2)}% of a core, baseline ${quiet.baseline.toFixed(2)}%`);
  const busy = await measure(40);
  console.log(`traffic 40 ops/s: TUI ${busy.tui.toFixed(2)}% of a core, baseline ${busy.baseline.toFixed(2)}%`);
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  const md = `## TUI idle CPU

\`npx tsx bench/tui-idle.ts\` (after \`npm run build\`): \`pgrunbook demo\` in a real 80×24 terminal (tmux), idling at its
first gate while the monitor polls every second and the panels redraw. CPU time (utime+stime) of the pgrunbook
process over ${SECONDS} s, as a share of one core. Baseline, measured over the same window: a node process running
a 1 s timer. With traffic, the synthetic load (40 operations/s) is generated inside the same process, so it counts.

| variant | pgrunbook process | baseline node | over baseline |
|---|---|---|---|
| TUI + monitor, no traffic | ${quiet.tui.toFixed(2)}% | ${quiet.baseline.toFixed(2)}% | ${over(quiet)} |
| with demo traffic (40 ops/s) | ${busy.tui.toFixed(2)}% | ${busy.baseline.toFixed(2)}% | ${over(busy)} |

(/proc counts CPU time in 10 ms ticks: over ${SECONDS} s one tick is ${(1 / SECONDS).toFixed(2)}% of a core.)

Bar: the TUI idles under 5% of one core (${quiet.tui < 5 ? 'met' : '**not met**'}). Load average at the end: ${load}.`;
  writeSection('tui-idle', md);
  console.log(md);
  console.log(`\n(${machine()})`);
}

await main();
