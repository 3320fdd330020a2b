/** Prints the output tables' columns as Markdown (pasted into README.md; a test keeps them in step). */
import { tableDefs } from '../lib/outputs/schema.js';

for (const t of tableDefs(['region', 'channel'])) {
  process.stdout.write(`\n#### \`${t.name}\` — ${t.doc}\n\n| column | type | meaning |\n| --- | --- | --- |\n`);
  for (const c of t.columns) process.stdout.write(`| \`${c.name}\` | ${c.type} | ${c.doc.replace(/\|/g, '\\|')} |\n`);
}
