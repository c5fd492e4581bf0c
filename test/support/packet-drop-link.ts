// A network namespace joined to the host by a veth pair, whose packets can be dropped for real:
// iptables DROP on the host's end of the pair, both directions, so nothing is acknowledged and
// nothing is reset (TCP keepalives and timeouts are all that can notice). pgrunbook runs inside the
// namespace (`prefix`); the server listens on the host's end. Needs root, `ip` (iproute2), `ss`
// and `iptables`; in CI a missing one fails the run.
import { execFileSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';

export interface PacketDropLink {
  /** The host's address on the link (the server listens here). */
  hostIp: string;
  /** pgrunbook's address inside the namespace. */
  nsIp: string;
  /** Runs a command inside the namespace: `[...prefix, cmd, ...args]`. */
  prefix: string[];
  /** From now on every packet on the link is dropped, in both directions. */
  drop(): void;
  restore(): void;
  /** `ss -tnoi` inside the namespace: the TCP connections to `port`, with their timers. */
  connections(port: number): string[];
  close(): void;
}

function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Why the link cannot be built here (undefined when it can). */
function packetDropUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root (network namespaces and iptables need root)';
  for (const [tool, pkg] of [
    ['ip', 'iproute2'],
    ['ss', 'iproute2'],
    ['iptables', 'iptables'],
  ]) {
    try {
      sh('sh', ['-c', `command -v ${tool}`]);
    } catch {
      return `${tool} is not installed (apt-get install ${pkg})`;
    }
  }
  return undefined;
}

export function createPacketDropLink(): PacketDropLink {
  const id = randomBytes(3).toString('hex');
  const ns = `pgrb-${id}`;
  const host = `pgrbh${id}`;
  const peer = `pgrbn${id}`;
  const net = `10.213.${randomInt(1, 255)}`;
  const hostIp = `${net}.1`;
  const nsIp = `${net}.2`;
  const rules = [
    ['INPUT', '-i'],
    ['OUTPUT', '-o'],
  ] as const;
  let dropped = false;
  sh('ip', ['netns', 'add', ns]);
  sh('ip', ['link', 'add', host, 'type', 'veth', 'peer', 'name', peer]);
  sh('ip', ['link', 'set', peer, 'netns', ns]);
  sh('ip', ['addr', 'add', `${hostIp}/24`, 'dev', host]);
  sh('ip', ['link', 'set', host, 'up']);
  sh('ip', ['netns', 'exec', ns, 'ip', 'addr', 'add', `${nsIp}/24`, 'dev', peer]);
  sh('ip', ['netns', 'exec', ns, 'ip', 'link', 'set', peer, 'up']);
  sh('ip', ['netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up']);
  const link: PacketDropLink = {
    hostIp,
    nsIp,
    prefix: ['ip', 'netns', 'exec', ns],
    drop: () => {
      if (dropped) return;
      for (const [chain, dir] of rules) sh('iptables', ['-I', chain, dir, host, '-j', 'DROP']);
      dropped = true;
    },
    restore: () => {
      if (!dropped) return;
      for (const [chain, dir] of rules) sh('iptables', ['-D', chain, dir, host, '-j', 'DROP']);
      dropped = false;
    },
    connections: (port) =>
      sh('ip', ['netns', 'exec', ns, 'ss', '-tnoH', 'state', 'established', 'dst', `${hostIp}:${port}`])
        .split('\n')
        .filter((l) => l.trim()),
    close: () => {
      link.restore();
      try {
        sh('ip', ['netns', 'del', ns]);
      } catch {}
      try {
        sh('ip', ['link', 'del', host]);
      } catch {}
    },
  };
  return link;
}

/** Whether the packet-drop tests named `what` can run here; in CI a missing piece fails, elsewhere the skip is said. */
export function packetDropForTests(what: string): boolean {
  const unavailable = packetDropUnavailable();
  if (!unavailable) return true;
  if (process.env.CI) throw new Error(`${unavailable}: .ci/run installs iptables and runs as root; ${what} must run in CI`);
  process.stdout.write(`SKIPPED: ${unavailable}; ${what} did not run\n`);
  return false;
}
