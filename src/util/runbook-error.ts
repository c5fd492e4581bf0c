// Errors that carry what the operator should do next.
export class RunbookError extends Error {
  constructor(
    message: string,
    readonly opts: { hint?: string; sqlstate?: string; exitCode?: number; cause?: unknown } = {},
  ) {
    super(message);
  }
  get hint(): string | undefined {
    return this.opts.hint;
  }
  get sqlstate(): string | undefined {
    return this.opts.sqlstate;
  }
}

/** Bad input: runbook, flags, variables. Exit code 2. */
export class InputError extends RunbookError {
  constructor(message: string, hint?: string) {
    super(message, { hint, exitCode: 2 });
  }
}

/** The run lock is held by someone else. Exit code 3. */
export class RunLockHeldError extends RunbookError {
  constructor(message: string) {
    super(message, { exitCode: 3 });
  }
}

export class AbortedError extends RunbookError {
  constructor(reason = 'aborted by the operator') {
    super(reason, { exitCode: 1 });
  }
}

export function isAbort(err: unknown): boolean {
  return err instanceof AbortedError || (err as Error)?.name === 'AbortError';
}
