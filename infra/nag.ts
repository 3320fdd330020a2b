/**
 * cdk-nag acknowledgements, each with a reason. cdk-nag 3 suppresses through CDK's own
 * `Validations.of(construct).acknowledge({ id, reason })`, one finding at a time: a wildcard
 * resource is acknowledged as `AwsSolutions-IAM5[Resource::<flattened ARN>]`, so the ids are
 * computed from the same tokens the policy uses (they follow the logical ids and the prefixes).
 */
import { Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * The string cdk-nag prints for a CloudFormation value (same rules as its flattenCfnReference):
 * Fn::Join is joined, Fn::GetAtt becomes <Logical.Attr>, Ref becomes <Logical>, Fn::Sub keeps its text.
 */
export function flattenCfn(node: unknown): string {
  if (node === undefined) return '';
  if (typeof node === 'string') return node.replace(/\$\{/g, '<').replace(/\}/g, '>');
  if (node && typeof node === 'object') {
    const o = node as Record<string, unknown>;
    if (o['Fn::Join']) {
      const [delim, items] = o['Fn::Join'] as [string, unknown[]];
      return items.map(flattenCfn).join(delim);
    }
    if (o['Fn::Sub']) return flattenCfn(o['Fn::Sub']);
    if (o['Fn::GetAtt']) {
      const [res, attr] = o['Fn::GetAtt'] as [unknown, unknown];
      return `<${flattenCfn(res)}.${flattenCfn(attr)}>`;
    }
    if (o['Fn::ImportValue']) return flattenCfn(o['Fn::ImportValue']);
    if (o.Ref) return `<${flattenCfn(o.Ref)}>`;
  }
  return JSON.stringify(node);
}

/** Acknowledge a rule (or one finding of it) on a construct and everything below it. */
export function acknowledge(scope: IConstruct, id: string, reason: string): void {
  if (!reason.trim()) throw new Error(`acknowledgement of ${id} needs a reason`);
  Validations.of(scope).acknowledge({ id, reason });
}

/**
 * Acknowledge the IAM5 finding for one wildcard resource ARN (a prefix scope such as
 * `arn:aws:s3:::bucket/prefix/*`) granted to the role or policy at `scope`.
 */
export function acknowledgeWildcardResource(scope: IConstruct, arn: string, reason: string): void {
  const flat = flattenCfn(Stack.of(scope).resolve(arn));
  if (!flat.includes('*')) return;
  acknowledge(scope, `AwsSolutions-IAM5[Resource::${flat}]`, reason);
}
