// Who is running: recorded with every journaled event.
import { hostname, userInfo } from 'node:os';

export interface Identity {
  user: string;
  host: string;
  pid: number;
}

export function currentIdentity(): Identity {
  let user = process.env.SUDO_USER || process.env.USER || 'unknown';
  try {
    user = process.env.SUDO_USER || userInfo().username;
  } catch {
    /* no passwd entry (containers): keep $USER */
  }
  return { user, host: hostname(), pid: process.pid };
}
