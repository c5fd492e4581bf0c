import { describe, expect, it } from 'vitest';
import { formatBytes, formatSeconds, oneLine, parseBytes, parseDuration } from '../../src/monitor/units.js';

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
    expect(oneLine('select\n  1,\t2', 8)).toBe('select …');
  });
});
