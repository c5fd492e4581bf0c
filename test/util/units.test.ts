import { describe, expect, it } from 'vitest';
import { formatBytes, formatMs, formatSeconds, oneLine } from '../../src/util/units.js';

describe('the shared unit formatters', () => {
  it('formats for narrow panels', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1536)).toBe('1.50 kB');
    expect(formatBytes(10 * 1024 * 1024)).toBe('10.0 MB');
    expect(formatBytes(null)).toBe('-');
    expect(formatSeconds(0.25)).toBe('250ms');
    expect(formatSeconds(5)).toBe('5s');
    expect(formatSeconds(5.25)).toBe('5.3s');
    expect(formatSeconds(65)).toBe('1m05s');
    expect(formatSeconds(7322)).toBe('2h02m');
    expect(formatSeconds(90000)).toBe('1d01h');
    expect(formatSeconds(null)).toBe('-');
    expect(formatSeconds(-3)).toBe('0ms');
    expect(formatMs(1234)).toBe('1.2s');
    expect(formatMs(undefined)).toBe('-');
    expect(formatBytes(-2048)).toBe('-2.00 kB');
    expect(oneLine('select\n  1,\t2', 8)).toBe('select …');
  });
});
