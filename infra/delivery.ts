/**
 * Delivery: the SES identity the report is sent from and the configuration set every send
 * names (reputation metrics, TLS required, bounces and complaints suppressed).
 */
import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as ses from 'aws-cdk-lib/aws-ses';
import { Construct } from 'constructs';
import type { Settings } from './settings.js';

export class Delivery extends Construct {
  readonly identity: ses.EmailIdentity;
  readonly configurationSet: ses.ConfigurationSet;
  private readonly settings: Settings;

  constructor(scope: Construct, id: string, settings: Settings) {
    super(scope, id);
    this.settings = settings;
    this.configurationSet = new ses.ConfigurationSet(this, 'ConfigurationSet', {
      reputationMetrics: true,
      sendingEnabled: true,
      tlsPolicy: ses.ConfigurationSetTlsPolicy.REQUIRE,
      suppressionReasons: ses.SuppressionReasons.BOUNCES_AND_COMPLAINTS,
    });
    // Creating an email identity makes SES send a verification link to the address.
    this.identity = new ses.EmailIdentity(this, 'Sender', {
      identity: ses.Identity.email(settings.senderEmail),
      configurationSet: this.configurationSet,
    });
  }

  /**
   * ses:SendEmail/SendRawEmail on the sender identity and the configuration set. The recipients'
   * identities are listed too: in the SES sandbox, sending is also authorised against them.
   */
  grantSend(grantee: iam.IGrantable): iam.Grant {
    const stack = Stack.of(this);
    const identityArn = (name: string) => stack.formatArn({ service: 'ses', resource: 'identity', resourceName: name });
    const recipients = [...new Set([...this.settings.recipients, ...this.settings.operatorEmails])];
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['ses:SendEmail', 'ses:SendRawEmail'],
      resourceArns: [
        this.identity.emailIdentityArn,
        stack.formatArn({ service: 'ses', resource: 'configuration-set', resourceName: this.configurationSet.configurationSetName }),
        ...recipients.map(identityArn),
      ],
    });
  }
}
