/**
 * Bedrock model identifiers as a route names them: a foundation-model id
 * (`anthropic.claude-sonnet-4-5-20250929-v1:0`), a cross-region inference profile id
 * (`us.anthropic.…`, `eu.…`, `global.…`), or an ARN of either (or of an application inference
 * profile, whose foundation model the provider's config names, or a provisioned model). Used by the
 * provider to build requests and by the stack to derive the relay role's IAM resources from the
 * config (never `*`).
 */

import { ownValue } from '../shared/json';

/** Geography prefixes of Bedrock's system-defined cross-region inference profiles. */
const PROFILE_PREFIXES = ['us', 'eu', 'apac', 'us-gov', 'global', 'jp', 'au', 'ca'] as const;
const PROFILE = new RegExp(`^(${PROFILE_PREFIXES.join('|')})\\.([a-z0-9-]+\\.[A-Za-z0-9._:-]+)$`);
const FOUNDATION = /^[a-z0-9-]+\.[A-Za-z0-9._:-]+$/;
const ARN = /^arn:(aws[a-z-]*):bedrock:([a-z0-9-]*):(\d{12})?:([a-z-]+)\/(.+)$/;

export type BedrockModelKind = 'foundation-model' | 'inference-profile' | 'arn';

export interface BedrockModelId {
  readonly id: string;
  readonly kind: BedrockModelKind;
  /** The foundation model behind it, when the identifier names it (not for application profiles). */
  readonly foundationModel?: string;
  /** The profile's geography (`us`, `global`, …) for inference profiles. */
  readonly geography?: string;
  /** For ARNs: the resource type (`foundation-model`, `inference-profile`, `application-inference-profile`, …). */
  readonly arnResource?: string;
}

/**
 * The foundation model behind each application inference profile a provider uses (its
 * `"applicationProfiles"`): an application profile's ARN does not name its model, and IAM asks for
 * both the profile and the model.
 */
export type ApplicationProfiles = Readonly<Record<string, string>>;

/** The config field's check: application inference profile ARN → foundation model id. */
export function applicationProfilesProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'expected an object of application inference profile ARN → foundation model id';
  for (const [arn, model] of Object.entries(value)) {
    if (ARN.exec(arn)?.[4] !== 'application-inference-profile') return `"${arn}" is not an application inference profile ARN (arn:aws:bedrock:REGION:ACCOUNT:application-inference-profile/ID)`;
    if (typeof model !== 'string' || PROFILE.test(model) || !FOUNDATION.test(model)) return `the model behind "${arn}" must be a foundation model id such as "anthropic.claude-sonnet-4-5-20250929-v1:0", got ${JSON.stringify(model)}`;
  }
  return undefined;
}

/** A provider's application profiles, from its options (checked when the config was parsed). */
export function applicationProfilesOf(options: Readonly<Record<string, unknown>> | undefined): ApplicationProfiles {
  const value = options?.applicationProfiles;
  return typeof value === 'object' && value !== null ? (value as ApplicationProfiles) : {};
}

/** Parses a route's upstream model for a bedrock provider, or undefined when it is no Bedrock identifier. */
export function parseBedrockModelId(id: string, applicationProfiles: ApplicationProfiles = {}): BedrockModelId | undefined {
  const arn = ARN.exec(id);
  if (arn) {
    const [, , , , resource, name] = arn;
    if (resource === 'foundation-model') return { id, kind: 'arn', arnResource: resource, foundationModel: name };
    if (resource === 'inference-profile') {
      const profile = PROFILE.exec(name);
      return { id, kind: 'arn', arnResource: resource, foundationModel: profile?.[2], geography: profile?.[1] };
    }
    const behind = resource === 'application-inference-profile' ? ownValue(applicationProfiles, id) : undefined;
    return { id, kind: 'arn', arnResource: resource, ...(behind ? { foundationModel: behind } : {}) };
  }
  const profile = PROFILE.exec(id);
  if (profile) return { id, kind: 'inference-profile', geography: profile[1], foundationModel: profile[2] };
  if (FOUNDATION.test(id)) return { id, kind: 'foundation-model', foundationModel: id };
  return undefined;
}

/** Whether the model is Anthropic's (served natively on /v1/messages); unknown for application profiles. */
export function isAnthropicModel(model: BedrockModelId): boolean | undefined {
  if (!model.foundationModel) return undefined;
  return model.foundationModel.startsWith('anthropic.');
}

/**
 * The IAM resources that let the relay invoke this model in `region` of `account`: the model or
 * profile itself and, for a cross-region or application profile, its foundation model in the
 * regions the profile routes to (any region: AWS chooses; a `global` profile also uses the
 * region-less ARN).
 */
export function bedrockModelArns(model: BedrockModelId, region: string, account: string, partition = 'aws'): string[] {
  if (model.kind === 'foundation-model') return [`arn:${partition}:bedrock:${region}::foundation-model/${model.id}`];
  const arns = model.kind === 'arn' ? [model.id] : [`arn:${partition}:bedrock:${region}:${account}:inference-profile/${model.id}`];
  if ((model.geography || model.arnResource === 'application-inference-profile') && model.foundationModel) {
    arns.push(`arn:${partition}:bedrock:*::foundation-model/${model.foundationModel}`);
    if (model.geography === 'global') arns.push(`arn:${partition}:bedrock:::foundation-model/${model.foundationModel}`);
  }
  return arns;
}

/** The model id CountTokens takes: the bare foundation model (it refuses inference profiles). */
export function countTokensModel(model: BedrockModelId): string {
  return model.foundationModel ?? model.id;
}
