import { Stack, type StackProps } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { MixrouteRelay, type MixrouteRelayProps } from './mixroute-relay';

export interface MixrouteStackProps extends StackProps, MixrouteRelayProps {}

/** Composition only: one MixrouteRelay in a stack of its own. */
export class MixrouteStack extends Stack {
  public readonly relay: MixrouteRelay;

  constructor(scope: Construct, id: string, props: MixrouteStackProps) {
    super(scope, id, props);
    this.relay = new MixrouteRelay(this, 'Relay', props);
  }
}
