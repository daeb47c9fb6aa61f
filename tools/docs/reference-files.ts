// What `npm run gen-docs` writes: docs/reference/README.md and one page per command, from the command specs.
import { commandListing, documentedSpecs } from '../../src/cli/registry.js';
import { referenceFileName, referenceIndex, referencePage } from '../../src/cli/reference-page.js';

/** File name (in docs/reference/) → content. */
export async function referenceFiles(): Promise<Map<string, string>> {
  const files = new Map<string, string>([['README.md', referenceIndex(await commandListing())]]);
  for (const spec of await documentedSpecs()) files.set(referenceFileName(spec.name), referencePage(spec));
  return files;
}
