// A fake PostgreSQL for engine tests: sessions that answer the run lock's queries (the real .sql
// files, matched by text) from shared in-memory advisory locks and runs, record every other query,
// and fail on demand. No server: what is tested is the engine's logic, not PostgreSQL.
import type pg from 'pg';
import { sqlText } from '../../../src/pg/sql-files.js';

export interface FakeRun {
  run_id: string;
  runbook_name: string;
  backend_pid: number;
  status: string;
  os_user: string;
  host: string;
  pid: number;
  started_at: string;
}

type Answer = (sql: string, params: unknown[]) => unknown[] | undefined;

export class FakeServer {
  /** Advisory locks: `class:name` -> backend pid of the holder. */
  readonly locks = new Map<string, number>();
  readonly runs: FakeRun[] = [];
  /** pgrunbook.runs does not exist yet. */
  noSchema = false;
  private nextPid = 100;

  session(clientAddr = '10.0.0.5'): FakeSession {
    return new FakeSession(this, ++this.nextPid, clientAddr);
  }

  sessionOf(pid: number): FakeSession | undefined {
    return FakeSession.all.find((s) => s.processID === pid && s.server === this);
  }
}

export class FakeSession {
  static readonly all: FakeSession[] = [];
  readonly queries: { sql: string; params: unknown[] }[] = [];
  /** Answers for queries the fake does not model, tried in order; the first defined answer wins. */
  readonly answers: Answer[] = [];
  /** Fail the next N queries with this error. */
  failNext: { times: number; error: Error } | undefined;
  ended = false;
  connected = false;
  private readonly handlers = new Map<string, (err: Error) => void>();

  constructor(
    readonly server: FakeServer,
    readonly processID: number,
    readonly clientAddr: string,
  ) {
    FakeSession.all.push(this);
  }

  async connect(): Promise<void> {
    this.connected = true;
  }

  on(event: string, fn: (err: Error) => void): this {
    this.handlers.set(event, fn);
    return this;
  }

  /** The connection dies: its advisory locks go with it, as in PostgreSQL. */
  die(): void {
    for (const [k, pid] of this.server.locks) if (pid === this.processID) this.server.locks.delete(k);
    this.handlers.get('error')?.(new Error('Connection terminated unexpectedly'));
  }

  async end(): Promise<void> {
    this.ended = true;
    for (const [k, pid] of this.server.locks) if (pid === this.processID) this.server.locks.delete(k);
  }

  async query<R extends pg.QueryResultRow = any>(sql: string, params: unknown[] = []): Promise<pg.QueryResult<R>> {
    this.queries.push({ sql, params });
    if (this.failNext && this.failNext.times > 0) {
      this.failNext.times--;
      throw this.failNext.error;
    }
    const rows = this.lockAnswer(sql, params) ?? this.answers.reduce<unknown[] | undefined>((r, a) => r ?? a(sql, params), undefined) ?? [];
    return { rows, rowCount: rows.length } as unknown as pg.QueryResult<R>;
  }

  private lockAnswer(sql: string, params: unknown[]): unknown[] | undefined {
    const key = `${params[0]}:${params[1]}`;
    const { locks } = this.server;
    if (sql === sqlText('engine/sql', 'run-lock-try')) {
      const holder = locks.get(key);
      if (holder === undefined) locks.set(key, this.processID);
      return [{ ok: holder === undefined || holder === this.processID }];
    }
    if (sql === sqlText('engine/sql', 'run-lock-release')) {
      const mine = locks.get(key) === this.processID;
      if (mine) locks.delete(key);
      return [{ pg_advisory_unlock: mine }];
    }
    if (sql === sqlText('engine/sql', 'run-lock-holder')) {
      const pid = locks.get(key);
      return pid === undefined ? [] : [{ backend_pid: pid, client_addr: this.server.sessionOf(pid)?.clientAddr ?? null }];
    }
    if (sql === sqlText('engine/sql', 'run-lock-holder-run')) {
      if (this.server.noSchema) throw new Error('relation "pgrunbook.runs" does not exist');
      return this.server.runs.filter((r) => r.backend_pid === params[0] && r.runbook_name === params[1] && r.status === 'running');
    }
    return undefined;
  }
}
