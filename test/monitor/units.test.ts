import { describe, expect, it } from 'vitest';
import { parseBytes, parseDuration } from '../../src/monitor/units.js';

describe('durations and sizes', () => {
  it('parses durations with units, and refuses bare numbers', () => {
    expect(parseDuration('1s')).toBe(1000);
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('5m')).toBe(300_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('1.5s')).toBe(1500);
    expect(parseDuration(' 2 min ')).toBe(120_000);
    expect(parseDuration('0')).toBe(0);
    expect(() => parseDuration('5')).toThrow(/not a duration/);
    expect(() => parseDuration(5)).toThrow(/needs a unit/);
    expect(() => parseDuration('5 parsecs')).toThrow(/not a duration/);
    expect(() => parseDuration('')).toThrow(/not a duration/);
  });

  it('parses sizes like pg_size_bytes (1024-based)', () => {
    expect(parseBytes('10MB')).toBe(10 * 1024 * 1024);
    expect(parseBytes('512kB')).toBe(512 * 1024);
    expect(parseBytes('1.5 GB')).toBe(1.5 * 1024 ** 3);
    expect(parseBytes('100')).toBe(100);
    expect(parseBytes(2048)).toBe(2048);
    expect(() => parseBytes('10 furlongs')).toThrow(/not a size/);
    expect(() => parseBytes(-1)).toThrow(/non-negative/);
  });
});
