// Unique step ids for a generated runbook, derived from what each step does.
export class IdAllocator {
  private used = new Set<string>();
  take(stem: string): string {
    const base =
      stem
        .toLowerCase()
        .replace(/[^a-z0-9_.-]+/g, '_')
        .replace(/^_+|_+$/g, '')
        .slice(0, 60) || 'step';
    let id = base;
    for (let n = 2; this.used.has(id); n++) id = `${base}_${n}`;
    this.used.add(id);
    return id;
  }
}
