/**
 * Schedule: EventBridge Scheduler invokes the pipeline Lambda (asynchronously) with a fixed
 * event whose `asOf` is the tick's scheduled time, so a retried or late delivery still
 * reports on the date it was meant for.
 */
import { Duration, TimeZone } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { Settings } from './settings.js';

/** What the handler receives on every scheduled run. */
export const SCHEDULE_EVENT = {
  source: 'tailwatch.schedule',
  asOf: scheduler.ContextAttribute.scheduledTime,
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

  constructor(scope: Construct, id: string, props: ScheduleProps) {
    super(scope, id);
    const { settings } = props;
    this.schedule = new scheduler.Schedule(this, 'Schedule', {
      description: `tailwatch report run, ${settings.schedule} in ${settings.scheduleTimeZone}`,
      schedule: scheduler.ScheduleExpression.expression(settings.schedule, TimeZone.of(settings.scheduleTimeZone)),
      target: new targets.LambdaInvoke(props.fn, {
        input: scheduler.ScheduleTargetInput.fromObject(SCHEDULE_EVENT),
        deadLetterQueue: props.deadLetterQueue,
        retryAttempts: SCHEDULE_RETRY_ATTEMPTS,
        maxEventAge: SCHEDULE_MAX_EVENT_AGE,
      }),
    });
  }
}
