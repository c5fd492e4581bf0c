// A last line of defence for the demo's PostgreSQL when pgrunbook itself is killed outright
// (SIGKILL, an OOM kill, a terminal emulator that kills after a grace period): exit hooks do not
// run then. A tiny detached process holds the read end of a pipe from us; when the pipe closes
// without a goodbye (we died), it stops the postmaster (fast shutdown, then SIGKILL) and removes
// the data directory. On a normal exit we say goodbye first and it leaves quietly.
import { spawn, type ChildProcess } from 'node:child_process';

const WATCHDOG = `
const [pm, dataDir] = [Number(process.argv[1]), process.argv[2]];
let bye = false;
process.stdin.on('data', (b) => { if (String(b).includes('bye')) bye = true; });
process.stdin.on('error', () => {});
process.stdin.on('close', async () => {
  if (bye) process.exit(0);
  const alive = () => { try { process.kill(pm, 0); return true; } catch { return false; } };
  try { process.kill(pm, 'SIGINT'); } catch {}
  for (let i = 0; i < 100 && alive(); i++) await new Promise((r) => setTimeout(r, 100));
  try { process.kill(pm, 'SIGKILL'); } catch {}
  for (let i = 0; i < 20 && alive(); i++) await new Promise((r) => setTimeout(r, 100));
  try { require('node:fs').rmSync(dataDir, { recursive: true, force: true }); } catch {}
  process.exit(0);
});
`;

export interface Watchdog {
  /** Normal shutdown: the server is being stopped by us; the watchdog leaves. */
  dismiss(): void;
}

export function watchServer(postmasterPid: number, dataDir: string): Watchdog {
  let child: ChildProcess | undefined;
  try {
    child = spawn(process.execPath, ['-e', WATCHDOG, String(postmasterPid), dataDir], {
      detached: true,
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    child.on('error', () => {});
    child.stdin?.on('error', () => {});
    // Neither the process nor the pipe may keep our event loop alive.
    child.unref();
    (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  } catch {
    child = undefined;
  }
  let dismissed = false;
  return {
    dismiss: () => {
      if (dismissed || !child?.stdin) return;
      dismissed = true;
      child.stdin.end('bye\n');
    },
  };
}
