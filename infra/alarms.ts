/**
 * Alarms: someone is told when a run fails. The handler itself mails a failure notice by SES
 * and rethrows; these alarms cover what the handler cannot report (a crash, a timeout, out of
 * memory, a schedule that could not invoke it): Lambda errors, and anything in the failure queue.
 * Both notify an SNS topic with an email subscription per operator.
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subs from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

export interface AlarmsProps {
  fn: lambda.IFunction;
  failureQueue: sqs.IQueue;
  operatorEmails: string[];
}

export class Alarms extends Construct {
  readonly topic: sns.Topic;
  readonly errors: cloudwatch.Alarm;
  readonly failedRuns: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: AlarmsProps) {
    super(scope, id);
    this.topic = new sns.Topic(this, 'Operators', { displayName: 'tailwatch failures', enforceSSL: true });
    for (const email of props.operatorEmails) this.topic.addSubscription(new subs.EmailSubscription(email));
    const notify = new actions.SnsAction(this.topic);

    this.errors = new cloudwatch.Alarm(this, 'PipelineErrors', {
      alarmDescription: 'A tailwatch run failed (error, timeout or out of memory). The operators also get a failure notice by email when the handler could send one; see the function logs.',
      metric: props.fn.metricErrors({ period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.failedRuns = new cloudwatch.Alarm(this, 'FailedRunsQueued', {
      alarmDescription: 'A scheduled run gave up after its retries (or could not be invoked): its event is in the failed-runs queue.',
      metric: props.failureQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: cloudwatch.Stats.MAXIMUM }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    for (const alarm of [this.errors, this.failedRuns]) {
      alarm.addAlarmAction(notify);
      alarm.addOkAction(notify);
    }
  }
}
