/**
 * The relay role's Bedrock permissions come from the config: exactly InvokeModel,
 * InvokeModelWithResponseStream and CountTokens, on exactly the models and profiles the bedrock
 * routes name (the provider's region, else the stack's), never `*`; none at all without bedrock
 * routes; cdk-nag stays clean with the one justified acknowledgement.
 */
import { BEDROCK_ACTIONS } from '../../lib/constructs/bedrock-grants';
import { matchesPattern, resolveIntrinsics } from '../helpers/event-pattern';
import { buildStack, NAG_PACKS, RELAY_CONFIG, resourcesOf, statementsOf, unacknowledged } from './stack-fixture';

const APP_PROFILE = 'arn:aws:bedrock:eu-west-1:111122223333:application-inference-profile/abc123def456';

const BEDROCK_CONFIG = {
  providers: {
    ...RELAY_CONFIG.providers,
    bedrock: { type: 'bedrock', applicationProfiles: { [APP_PROFILE]: 'anthropic.claude-sonnet-4-5-20250929-v1:0' } },
    'bedrock-eu': { type: 'bedrock', region: 'eu-central-1' },
  },
  models: {
    ...RELAY_CONFIG.models,
    'claude-sonnet': { candidates: [{ provider: 'anthropic', model: 'claude-sonnet-5-5' }, { provider: 'bedrock', model: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0' }] },
    haiku: { provider: 'bedrock', model: 'anthropic.claude-haiku-4-5-20251001-v1:0' },
    'haiku-eu': { provider: 'bedrock-eu', model: 'anthropic.claude-haiku-4-5-20251001-v1:0' },
    'opus-global': { provider: 'bedrock', model: 'global.anthropic.claude-opus-4-5-20251101-v1:0' },
    'app-profile': { provider: 'bedrock', model: APP_PROFILE },
    llama: { provider: 'bedrock', model: 'meta.llama3-3-70b-instruct-v1:0' },
  },
};

function bedrockStatements(template: ReturnType<typeof buildStack>['template']) {
  return resourcesOf(template, 'AWS::IAM::ManagedPolicy')
    .flatMap(([, policy]) => statementsOf(policy))
    .filter((statement) => [statement.Action].flat().some((action: string) => action.startsWith('bedrock:')));
}

test('exact actions on exactly the configured models, profiles and the profiles\' foundation models', () => {
  const { template } = buildStack({ relayConfig: BEDROCK_CONFIG });
  const statements = bedrockStatements(template);
  expect(statements).toHaveLength(1);
  const [statement] = statements;
  expect(statement.Sid).toBe('InvokeConfiguredBedrockModels');
  expect(statement.Effect).toBe('Allow');
  expect([statement.Action].flat().sort()).toEqual([...BEDROCK_ACTIONS].sort());
  expect(statement.Condition).toBeUndefined();
  const resources = [statement.Resource].flat().map((r: unknown) => resolveIntrinsics(r)).sort();
  expect(resources).toEqual(
    [
      'arn:aws:bedrock:eu-west-1::foundation-model/anthropic.claude-haiku-4-5-20251001-v1:0',
      'arn:aws:bedrock:eu-central-1::foundation-model/anthropic.claude-haiku-4-5-20251001-v1:0',
      'arn:aws:bedrock:eu-west-1:111122223333:inference-profile/us.anthropic.claude-sonnet-4-5-20250929-v1:0',
      'arn:aws:bedrock:*::foundation-model/anthropic.claude-sonnet-4-5-20250929-v1:0',
      'arn:aws:bedrock:eu-west-1:111122223333:inference-profile/global.anthropic.claude-opus-4-5-20251101-v1:0',
      'arn:aws:bedrock:*::foundation-model/anthropic.claude-opus-4-5-20251101-v1:0',
      'arn:aws:bedrock:::foundation-model/anthropic.claude-opus-4-5-20251101-v1:0',
      APP_PROFILE, // and the model behind it (the sonnet foundation model above, in any region)
      'arn:aws:bedrock:eu-west-1::foundation-model/meta.llama3-3-70b-instruct-v1:0',
    ].sort(),
  );
  expect(resources.every((arn: string) => arn !== '*' && !arn.endsWith('/*'))).toBe(true);
  // Only the relay function's policy holds Bedrock actions.
  const holders = resourcesOf(template, 'AWS::IAM::ManagedPolicy').filter(([, p]) => statementsOf(p).some((s) => [s.Action].flat().some((a: string) => a.startsWith('bedrock:'))));
  expect(holders.map(([id]) => id)).toEqual([expect.stringMatching(/^RelayPolicy/)]);
});

test('no Bedrock permission at all when no route goes to Bedrock', () => {
  const { template } = buildStack();
  expect(bedrockStatements(template)).toEqual([]);
});

test('an application inference profile is granted with the foundation model its provider names for it; without one, synth says what to add', () => {
  const profileOnly = { providers: { bedrock: { type: 'bedrock' } }, models: { app: { provider: 'bedrock', model: APP_PROFILE } } };
  expect(() => buildStack({ relayConfig: profileOnly })).toThrow(/does not name its foundation model.*"applicationProfiles": \{ "arn:aws:bedrock:eu-west-1:111122223333:application-inference-profile\/abc123def456": "<foundation model id>" \}/);
  const mapped = { providers: { bedrock: { type: 'bedrock', applicationProfiles: { [APP_PROFILE]: 'anthropic.claude-haiku-4-5-20251001-v1:0' } } }, models: { app: { provider: 'bedrock', model: APP_PROFILE } } };
  const [statement] = bedrockStatements(buildStack({ relayConfig: mapped }).template);
  expect([statement.Resource].flat().map((r: unknown) => resolveIntrinsics(r)).sort()).toEqual([APP_PROFILE, 'arn:aws:bedrock:*::foundation-model/anthropic.claude-haiku-4-5-20251001-v1:0'].sort());
});

test('a pattern route to Bedrock must name its model, so the grant stays exact', () => {
  expect(() => buildStack({ relayConfig: { providers: { bedrock: { type: 'bedrock' } }, models: { 'claude-*': { provider: 'bedrock' } } } })).toThrow(/must name its Bedrock model/);
});

describe('cdk-nag with Bedrock routes', () => {
  const { stack } = buildStack({ relayConfig: BEDROCK_CONFIG });
  test.each(NAG_PACKS)('%s finds nothing unacknowledged', (name, pack) => {
    expect(unacknowledged(pack(), name, stack)).toEqual([]);
  });
});

test('with Bedrock routes an alert fires when Bedrock model invocation logging (prompts and answers in the account) is configured or removed; without them no such rule', () => {
  const ruleOf = (template: ReturnType<typeof buildStack>['template']) =>
    resourcesOf(template, 'AWS::Events::Rule').filter(([id]) => id.startsWith('RelayAlertsBedrockLoggingChanged'));
  expect(ruleOf(buildStack().template)).toEqual([]);
  const rules = ruleOf(buildStack({ relayConfig: BEDROCK_CONFIG }).template);
  expect(rules).toHaveLength(1);
  const pattern = rules[0][1].Properties.EventPattern;
  const event = (eventName: string) => ({
    source: 'aws.bedrock',
    'detail-type': 'AWS API Call via CloudTrail',
    detail: { eventSource: 'bedrock.amazonaws.com', eventName, userIdentity: { type: 'AssumedRole', arn: 'arn:aws:sts::111122223333:assumed-role/Admin/alice' } },
  });
  expect(matchesPattern(pattern, event('PutModelInvocationLoggingConfiguration'))).toBe(true);
  expect(matchesPattern(pattern, event('DeleteModelInvocationLoggingConfiguration'))).toBe(true);
  expect(matchesPattern(pattern, event('GetModelInvocationLoggingConfiguration'))).toBe(false);
  expect(rules[0][1].Properties.Targets).toHaveLength(1);
});
