/**
 * Schedule: EventBridge Scheduler invokes the pipeline Lambda (asynchronously) with a fixed
 * event carrying the tick's scheduled time (`<aws.scheduler.scheduled-time>`, ISO 8601), the
 * shape functions/handler.ts validates: `{ source, scheduledTime }`.
 */
import { Duration, Stack, TimeZone } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { acknowledge } from './nag.js';
import type { Settings } from './settings.js';

/** What the handler receives on every scheduled run. */
export const SCHEDULE_EVENT = {
  source: 'tailwatch.schedule',
  scheduledTime: scheduler.ContextAttribute.scheduledTime,
} as const;

/** The scheduler retries a delivery that failed (throttled, service error), not a run that failed. */
export const SCHEDULE_RETRY_ATTEMPTS = 3;
export const SCHEDULE_MAX_EVENT_AGE = Duration.hours(1);

export interface ScheduleProps {
  settings: Settings;
  fn: lambda.IFunction;
  deadLetterQueue: sqs.IQueue;
}

export class RunSchedule extends Construct {
  readonly schedule: scheduler.Schedule;
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: ScheduleProps) {
    super(scope, id);
    const { settings } = props;
    // Our own target role (the L2 would make one per stack) so its grant can be acknowledged here.
    const stack = Stack.of(this);
    this.role = new iam.Role(this, 'TargetRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
      description: 'tailwatch schedule: invoke the pipeline, dead-letter to the failed-runs queue',
    });
    this.schedule = new scheduler.Schedule(this, 'Schedule', {
      description: `tailwatch report run, ${settings.schedule} in ${settings.scheduleTimeZone}`,
      schedule: scheduler.ScheduleExpression.expression(settings.schedule, TimeZone.of(settings.scheduleTimeZone)),
      target: new targets.LambdaInvoke(props.fn, {
        role: this.role,
        input: scheduler.ScheduleTargetInput.fromObject(SCHEDULE_EVENT),
        deadLetterQueue: props.deadLetterQueue,
        retryAttempts: SCHEDULE_RETRY_ATTEMPTS,
        maxEventAge: SCHEDULE_MAX_EVENT_AGE,
      }),
    });
    const fnLogicalId = stack.getLogicalId(props.fn.node.defaultChild as lambda.CfnFunction);
    acknowledge(
      this.role,
      `AwsSolutions-IAM5[Resource::<${fnLogicalId}.Arn>:*]`,
      'lambda:InvokeFunction on the pipeline function and its versions/aliases (ARN:*), as the Scheduler target grant is written; no other function.',
    );
  }
}
