// Who is running: recorded with every journaled event, and the identity an approval is checked against.
import { hostname, userInfo } from 'node:os';

export interface Identity {
  user: string;
  host: string;
  pid: number;
  /** A SUDO_USER the environment claimed but that was not trusted (shown, never used as the identity). */
  claimed?: string;
}

interface Process {
  uid: number | undefined;
  env: NodeJS.ProcessEnv;
  account: () => string;
}

const thisProcess: Process = {
  uid: process.getuid?.(),
  env: process.env,
  account: () => userInfo().username,
};

/**
 * The OS user. SUDO_USER is anyone's to set, so it names the person only when the process really runs
 * as root under sudo (uid 0 and SUDO_UID set); otherwise the process's own account is the identity.
 */
export function osUser(p: Process = thisProcess): { user: string; claimed?: string } {
  const sudoUser = p.env.SUDO_USER;
  if (sudoUser && p.uid === 0 && p.env.SUDO_UID) return { user: sudoUser };
  let user: string;
  try {
    user = p.account();
  } catch {
    // No passwd entry (containers): the numeric uid, never a name from the environment.
    user = p.uid === undefined ? 'unknown' : `uid ${p.uid}`;
  }
  return sudoUser && sudoUser !== user ? { user, claimed: sudoUser } : { user };
}

export function currentIdentity(): Identity {
  return { ...osUser(), host: hostname(), pid: process.pid };
}
