import { Stack, type StackProps } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { iamChangePattern, type IamWatch } from './constructs/incident-alerts';

export interface MixrouteIamEventsStackProps extends StackProps {
  /** The relay role and policies to watch (MixrouteRelay.iamWatch). */
  readonly watch: IamWatch;
  /** The region of the relay stack, whose default event bus raises the alert. */
  readonly relayRegion: string;
}

/**
 * The companion stack for a relay deployed outside us-east-1. IAM is a global service: CloudTrail
 * delivers its events to EventBridge in us-east-1 only, so changes to the relay role or the stack's
 * policies would never reach the relay region's alert rule. This stack (deployed to us-east-1 with
 * the relay stack) forwards exactly those events to the relay region's default event bus, where
 * the RelayRoleChanged rule sends them to the alert topic.
 */
export class MixrouteIamEventsStack extends Stack {
  public readonly rule: events.Rule;

  constructor(scope: Construct, id: string, props: MixrouteIamEventsStackProps) {
    super(scope, id, props);
    if (this.region !== 'us-east-1') throw new Error(`MixrouteIamEventsStack: IAM events reach EventBridge in us-east-1 only; deploy this stack there, not to ${this.region}`);
    if (props.relayRegion === 'us-east-1') throw new Error('MixrouteIamEventsStack: a relay in us-east-1 sees IAM events itself and needs no forwarder');
    this.rule = new events.Rule(this, 'ForwardIamChanges', {
      description: "Forwards changes of the Mixroute relay role and policies to the relay's region, where they raise an alert.",
      eventPattern: iamChangePattern(props.watch),
    });
    const busArn = `arn:${this.partition}:events:${props.relayRegion}:${this.account}:event-bus/default`;
    // A role of its own with a managed policy that may put events on that one bus, and nothing else.
    const role = new iam.Role(this, 'ForwarderRole', {
      assumedBy: new iam.ServicePrincipal('events.amazonaws.com'),
      description: 'Forwards Mixroute IAM change events to the relay region',
      managedPolicies: [
        new iam.ManagedPolicy(this, 'ForwarderPolicy', {
          description: "Put events on the relay region's default event bus only",
          statements: [new iam.PolicyStatement({ actions: ['events:PutEvents'], resources: [busArn] })],
        }),
      ],
    });
    this.rule.addTarget(new targets.EventBus(events.EventBus.fromEventBusArn(this, 'RelayRegionBus', busArn), { role: role.withoutPolicyUpdates() }));
  }
}
