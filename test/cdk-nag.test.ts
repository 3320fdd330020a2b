/**
 * cdk-nag's AwsSolutions pack over the stack (both engines): no unsuppressed error, and every
 * acknowledgement carries a written reason. The Lambda is not bundled here: nag reads the
 * construct tree, which bundling does not change.
 */
import { rmSync } from 'node:fs';
import { Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { synthesise, type Synthesised } from '../infra/synth.js';

interface Violation {
  ruleName: string;
  description: string;
  severity?: string;
  violatingResources: { constructPath: string }[];
}

function acknowledgements(root: IConstruct): { path: string; id: string; reason: unknown }[] {
  return root.node.findAll().flatMap((c) =>
    c.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) => Object.entries(m.data as Record<string, unknown>).map(([id, reason]) => ({ path: c.node.path, id, reason }))),
  );
}

const variants: Record<string, Record<string, unknown>> = {
  default: {},
  athena: {
    stackName: 'TailwatchAthena',
    exportBucketName: 'corp-sales-exports',
    config: { engine: 'athena', input: { format: 'parquet' } },
    exportColumns: [
      { name: 'customer_id', type: 'string' },
      { name: 'order_date', type: 'date' },
      { name: 'amount', type: 'double' },
    ],
  },
};

const synthesised: Record<string, Synthesised> = {};
const violations: Record<string, Violation[]> = {};

beforeAll(() => {
  for (const [name, ctx] of Object.entries(variants)) {
    const s = synthesise(ctx, { bundle: false });
    synthesised[name] = s;
    violations[name] = new AwsSolutionsChecks(s.app).validateScope(s.app).violations as Violation[];
  }
});

afterAll(() => {
  for (const s of Object.values(synthesised)) rmSync(s.outdir, { recursive: true, force: true });
});

describe.each(Object.keys(variants))('AwsSolutions on the %s stack', (name) => {
  it('reports no unsuppressed error', () => {
    const errors = violations[name].filter((v) => v.severity === 'error');
    expect(errors.map((v) => `${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath).join(', ')}: ${v.description}`)).toEqual([]);
  });

  it('reports no unsuppressed warning either', () => {
    const warnings = violations[name].filter((v) => v.severity !== 'error');
    expect(warnings.map((v) => `${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath).join(', ')}`)).toEqual([]);
  });

  it('every acknowledgement names an AwsSolutions rule and gives a reason of at least a sentence', () => {
    const acks = acknowledgements(synthesised[name].app);
    expect(acks.length).toBeGreaterThan(0);
    for (const a of acks) {
      expect(a.id, a.path).toMatch(/^(Annotation::)?AwsSolutions-[A-Z]+\d+(\[.+\])?$/i);
      expect(typeof a.reason, `${a.path} ${a.id}`).toBe('string');
      expect((a.reason as string).trim().length, `${a.path} ${a.id}`).toBeGreaterThanOrEqual(40);
    }
  });
});

it('the pack is live, and no acknowledgement is stale', () => {
  // The same pack with acknowledgements ignored (cdk-nag consults them in one method): every
  // acknowledged id must be a finding that really occurs, and there must be findings at all,
  // so a pack that silently checks nothing (an API change) fails here.
  class IgnoringAcknowledgements extends AwsSolutionsChecks {}
  (IgnoringAcknowledgements.prototype as unknown as { isAcknowledged: () => boolean }).isAcknowledged = () => false;
  for (const s of Object.values(synthesised)) {
    const acked = new Set(acknowledgements(s.app).map((a) => a.id.replace(/^annotation::/i, '')));
    const fired = new Set((new IgnoringAcknowledgements(s.app).validateScope(s.app).violations as Violation[]).map((v) => v.ruleName));
    expect(fired.size).toBeGreaterThan(0);
    expect([...acked].filter((id) => !fired.has(id))).toEqual([]);
  }
});
