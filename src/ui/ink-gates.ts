// The interactive GatePort: a request goes into the UI store (the GatePrompt widget shows it with
// its evidence, action and lock level) and the promise resolves when the operator answers through
// intents.decideGate. A `type` gate is only approved with the exact expected text.
import { AbortedError } from '../util/runbook-error.js';
import { acceptable, type GateAnswer, type GateDecision, type GatePort, type GateRequest } from '../engine/gates.js';
import type { UiStore } from './store.js';

interface Pending {
  req: GateRequest;
  resolve(d: GateDecision): void;
  cleanup(): void;
}

export class InkGates implements GatePort {
  private pending = new Map<string, Pending>();

  constructor(
    private readonly store: UiStore,
    private readonly opts: { user: string },
  ) {}

  request(req: GateRequest, signal: AbortSignal): Promise<GateDecision> {
    return new Promise<GateDecision>((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason ?? new AbortedError());
      const onAbort = () => {
        this.drop(req.id);
        reject(signal.reason ?? new AbortedError());
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.pending.set(req.id, { req, resolve, cleanup: () => signal.removeEventListener('abort', onAbort) });
      this.store.getState().openGate(req);
    });
  }

  /** The operator's answer. Returns false when it cannot be accepted (unknown gate, wrong text). */
  decide(id: string, answer: GateAnswer): boolean {
    const p = this.pending.get(id);
    if (!p) return false;
    if (answer.approved && !acceptable(p.req, answer)) return false;
    this.drop(id);
    const decision: GateDecision = { approved: answer.approved, by: this.opts.user };
    if (answer.choice !== undefined) decision.choice = answer.choice;
    if (answer.reason !== undefined) decision.reason = answer.reason;
    p.resolve(decision);
    return true;
  }

  /** Declines every open gate (used when the operator quits). */
  declineAll(reason: string): void {
    for (const id of [...this.pending.keys()]) this.decide(id, { approved: false, reason });
  }

  get openCount(): number {
    return this.pending.size;
  }

  private drop(id: string): void {
    const p = this.pending.get(id);
    if (!p) return;
    p.cleanup();
    this.pending.delete(id);
    this.store.getState().closeGate(id);
  }
}
