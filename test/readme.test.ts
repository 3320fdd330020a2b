import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configSchema } from '../lib/config.js';
import { tableDefs } from '../lib/outputs/schema.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

describe('README', () => {
  it('shows the two Quick start commands', () => {
    const quick = readme.slice(readme.indexOf('## Quick start'), readme.indexOf('## What it does'));
    expect(quick).toMatch(/^npm ci && npm start$/m);
    expect(quick).toMatch(/^npm test$/m);
  });

  it('documents every column of every output table', () => {
    for (const t of tableDefs(['region', 'channel'])) {
      expect(readme, t.name).toContain(`#### \`${t.name}\``);
      for (const c of t.columns) expect(readme, `${t.name}.${c.name}`).toContain(`| \`${c.name}\` |`);
    }
  });

  it('names every top-level and section config key', () => {
    for (const [key, value] of Object.entries(configSchema.shape)) {
      expect(readme, key).toContain(`"${key}"`);
      const inner = (value as { _def: { innerType?: { _def?: { schema?: { shape?: Record<string, unknown> }; shape?: () => Record<string, unknown> } } } })._def.innerType;
      const shape = inner?._def?.schema?.shape ?? inner?._def?.shape?.();
      for (const k of Object.keys(shape ?? {})) expect(readme, `${key}.${k}`).toContain(k);
    }
  });
});
