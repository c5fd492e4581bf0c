import { describe, expect, it } from 'vitest';
import { osUser } from '../../src/engine/operator-identity.js';

const account = () => 'alice';

describe('osUser', () => {
  it('trusts SUDO_USER only as root under sudo', () => {
    expect(osUser({ uid: 0, env: { SUDO_USER: 'bob', SUDO_UID: '1001' }, account })).toEqual({ user: 'bob' });
  });

  it('keeps a SUDO_USER claimed without sudo as a claim, never as the identity', () => {
    expect(osUser({ uid: 1000, env: { SUDO_USER: 'bob', SUDO_UID: '1001' }, account })).toEqual({ user: 'alice', claimed: 'bob' });
    expect(osUser({ uid: 0, env: { SUDO_USER: 'bob' }, account: () => 'root' })).toEqual({ user: 'root', claimed: 'bob' });
  });

  it('without a passwd entry names the uid, not $USER', () => {
    const none = () => {
      throw new Error('no passwd entry');
    };
    expect(osUser({ uid: 1234, env: { USER: 'bob' }, account: none })).toEqual({ user: 'uid 1234' });
  });
});
