/**
 * The relay role's Bedrock permissions, derived at synth from the config: InvokeModel,
 * InvokeModelWithResponseStream and CountTokens on exactly the foundation models and inference
 * profiles the bedrock routes name (in the provider's region, or the stack's), never `*`. A
 * cross-region inference profile also needs its foundation model in the regions it routes to, and
 * so does an application inference profile, whose model the provider's "applicationProfiles" names.
 */
import * as iam from 'aws-cdk-lib/aws-iam';
import { REQUESTED_MODEL, type RelayConfig } from '../../lambda/core/config';
import { applicationProfilesOf, bedrockModelArns, parseBedrockModelId } from '../../lambda/providers/bedrock';

export const BEDROCK_ACTIONS = ['bedrock:InvokeModel', 'bedrock:InvokeModelWithResponseStream', 'bedrock:CountTokens'] as const;

export interface BedrockScope {
  /** The stack's region and account (tokens at synth are fine). */
  readonly region: string;
  readonly account: string;
  readonly partition: string;
}

/** Every Bedrock resource the config's routes can call, sorted and without duplicates. */
export function bedrockResources(config: RelayConfig, scope: BedrockScope): string[] {
  const arns = new Set<string>();
  for (const route of config.models.values()) {
    for (const candidate of route.candidates) {
      const provider = config.providers.get(candidate.provider);
      if (!provider || provider.type !== 'bedrock') continue;
      if (candidate.model === REQUESTED_MODEL) {
        throw new Error(`models.${route.name}: a pattern route to the bedrock provider "${provider.name}" must name its Bedrock model ("model"), so the relay role can be granted exactly that model`);
      }
      const model = parseBedrockModelId(candidate.model, applicationProfilesOf(provider.options));
      if (!model) throw new Error(`models.${route.name}: "${candidate.model}" is not a Bedrock model id, inference profile id or ARN`);
      if (model.arnResource === 'application-inference-profile' && !model.foundationModel) {
        throw new Error(
          `models.${route.name}: the application inference profile "${candidate.model}" does not name its foundation model, and the relay role needs both: add it to the bedrock provider "${provider.name}" as "applicationProfiles": { "${candidate.model}": "<foundation model id>" }`,
        );
      }
      const region = typeof provider.options.region === 'string' ? provider.options.region : scope.region;
      for (const arn of bedrockModelArns(model, region, scope.account, scope.partition)) arns.add(arn);
    }
  }
  return [...arns].sort();
}

/** The policy statement, or undefined when no route goes to Bedrock. */
export function bedrockStatement(config: RelayConfig, scope: BedrockScope): iam.PolicyStatement | undefined {
  const resources = bedrockResources(config, scope);
  if (resources.length === 0) return undefined;
  return new iam.PolicyStatement({ sid: 'InvokeConfiguredBedrockModels', actions: [...BEDROCK_ACTIONS], resources });
}
