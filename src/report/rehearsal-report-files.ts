// A rehearsal report on disk: Markdown at `path`, the same as JSON beside it (x.md -> x.json).
import { writeFile } from 'node:fs/promises';
import type { RehearsalResult } from '../rehearsal/rehearsal-types.js';
import { rehearsalJson } from './rehearsal-json.js';
import { rehearsalMarkdown } from './rehearsal-md.js';

export async function writeRehearsalReport(path: string, result: RehearsalResult): Promise<void> {
  await writeFile(path, rehearsalMarkdown(result));
  await writeFile(path.replace(/\.md$/i, '') + '.json', JSON.stringify(rehearsalJson(result), null, 2) + '\n');
}
