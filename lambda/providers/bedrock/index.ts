/**
 * Provider type `bedrock`: AWS Bedrock through the relay's own IAM identity (SigV4; no stored
 * secret). `/v1/messages` (and count_tokens) for Claude natively through InvokeModel; `/v1/chat/completions`
 * for any Bedrock model through Converse, translated both ways. Each call names the client key id
 * (never the key) as Bedrock request metadata, so Bedrock's invocation logs attribute usage per key.
 *
 *   { "type": "bedrock", "region": "us-east-1" }      region: default the runtime's
 *   "anthropicBetas": ["context-1m-2025-08-07", …]    the betas Bedrock is sent (default: those AWS documents)
 *   "applicationProfiles": { "arn:…:application-inference-profile/ID": "anthropic.claude-…" }
 *                                                     the foundation model behind each application profile
 */
import { RelayError } from '../../core/errors';
import type { EndpointAdapter, ForwardInput, ProviderAdapter, UpstreamRequest } from '../../core/provider';
import { RELAY_USER_AGENT } from '../shared/headers';
import { createOpenAiStreamMeter } from '../shared/openai-wire';
import { anthropicServerTools } from '../shared/anthropic-wire';
import { isObject } from '../shared/json';
import { isBetaList } from './betas';
import { bedrockError } from './errors';
import { chatCompletionOf, chatIdentity, converseUsage, createConverseStreamDecoder } from './converse-answer';
import { converseRequest } from './converse-request';
import { countTokensAnswer, countTokensBody, countTokensModel, createInvokeStreamDecoder, createInvokeStreamMeter, invokeBody, invokeUsage, requireAnthropicModel } from './invoke';
import { applicationProfilesOf, applicationProfilesProblem, parseBedrockModelId, type BedrockModelId } from './model-ids';

export { applicationProfilesOf, bedrockModelArns, parseBedrockModelId } from './model-ids';

/** SigV4 signing name and the SDK's service id (for AWS_ENDPOINT_URL_BEDROCK_RUNTIME). */
export const BEDROCK_SIGNING_SERVICE = 'bedrock';
export const BEDROCK_SERVICE_ID = 'bedrock-runtime';
/** The request-metadata key that carries the client key id. */
export const KEY_ID_METADATA = 'mixroute_key_id';

const REGION = /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$/;
const EVENT_STREAM = 'application/vnd.amazon.eventstream';
const decoder = new TextDecoder();

export function bedrockEndpoint(region: string): string {
  return `https://bedrock-runtime.${region}.${region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com'}`;
}

function modelOf(input: ForwardInput): BedrockModelId {
  const model = parseBedrockModelId(input.upstreamModel, applicationProfilesOf(input.provider.options));
  if (!model) {
    throw new RelayError(
      400,
      'model_not_found',
      `The route for this model names no Bedrock model id for provider "${input.provider.name}" (expected e.g. "anthropic.claude-sonnet-4-5-20250929-v1:0", "us.anthropic.…" or an ARN).`,
    );
  }
  return model;
}

/** Where the call goes and how it is signed: the provider's region (or the runtime's) and any endpoint override. */
async function target(input: ForwardInput): Promise<{ base: string; region: string }> {
  const identity = input.identity;
  if (!identity) throw new RelayError(503, 'provider_credential_unavailable', 'The relay has no AWS identity to call Bedrock with.');
  const configured = typeof input.provider.options.region === 'string' ? input.provider.options.region : undefined;
  const region = configured ?? (await identity.region());
  if (!region) {
    throw new RelayError(503, 'provider_credential_unavailable', `Provider "${input.provider.name}" has no region: set "region" in its config or AWS_REGION for the relay.`);
  }
  return { base: identity.endpoint(BEDROCK_SERVICE_ID) ?? bedrockEndpoint(region), region };
}

type Built = Omit<UpstreamRequest, 'url' | 'headers' | 'body' | 'method'>;

async function signed(input: ForwardInput, path: string, body: unknown, accept: string, extraHeaders: Record<string, string>, rest: Built): Promise<UpstreamRequest> {
  const { base, region } = await target(input);
  const url = `${base}${path}`;
  const text = JSON.stringify(body);
  const headers = { 'content-type': 'application/json', accept, 'user-agent': RELAY_USER_AGENT, ...extraHeaders };
  const signedHeaders = await (input.identity as NonNullable<ForwardInput['identity']>).sign({ url, method: 'POST', headers, body: text }, { service: BEDROCK_SIGNING_SERVICE, region });
  return { ...rest, url, method: 'POST', headers: signedHeaders, body: text };
}

const modelPath = (model: BedrockModelId, action: string) => `/model/${encodeURIComponent(model.id)}/${action}`;

const messages: EndpointAdapter = {
  serverTools: anthropicServerTools,
  async buildRequest(input) {
    const model = modelOf(input);
    requireAnthropicModel(model);
    const stream = input.body.stream === true;
    return signed(input, modelPath(model, stream ? 'invoke-with-response-stream' : 'invoke'), invokeBody(input), stream ? EVENT_STREAM : 'application/json',
      { 'x-amzn-bedrock-request-metadata': JSON.stringify({ [KEY_ID_METADATA]: input.keyId }) },
      { stream, streamFraming: 'aws-eventstream', createMeter: createInvokeStreamMeter, createDecoder: createInvokeStreamDecoder, jsonUsage: invokeUsage, readError: bedrockError },
    );
  },
};

const countTokens: EndpointAdapter = {
  serverTools: anthropicServerTools,
  async buildRequest(input) {
    const model = modelOf(input);
    requireAnthropicModel(model);
    const path = `/model/${encodeURIComponent(countTokensModel(model))}/count-tokens`;
    return signed(input, path, countTokensBody(input), 'application/json', {}, {
      stream: false,
      streamFraming: 'aws-eventstream',
      createMeter: createInvokeStreamMeter,
      // Counting is free on Bedrock too: 0 billable tokens, never counted against quotas.
      jsonUsage: () => ({ inputTokens: 0, outputTokens: 0 }),
      translateAnswer: countTokensAnswer,
      readError: bedrockError,
    });
  },
};

const chat: EndpointAdapter = {
  async buildRequest(input) {
    const model = modelOf(input);
    const stream = input.body.stream === true;
    const body = converseRequest(input.body, { [KEY_ID_METADATA]: input.keyId });
    const streamOptions = isObject(input.body.stream_options) ? input.body.stream_options : {};
    const identity = chatIdentity(typeof input.body.model === 'string' ? input.body.model : input.upstreamModel);
    return signed(input, modelPath(model, stream ? 'converse-stream' : 'converse'), body, stream ? EVENT_STREAM : 'application/json', {}, {
      stream,
      streamFraming: 'aws-eventstream',
      createMeter: () => createOpenAiStreamMeter(streamOptions.include_usage !== true),
      createDecoder: () => createConverseStreamDecoder(identity),
      jsonUsage: converseUsage,
      translateAnswer: (bytes) => new TextEncoder().encode(JSON.stringify(chatCompletionOf(JSON.parse(decoder.decode(bytes)), identity))),
      readError: bedrockError,
    });
  },
};

export const bedrockProvider: ProviderAdapter = {
  type: 'bedrock',
  credential: 'runtime-role',
  configFields: ['region', 'anthropicBetas', 'applicationProfiles'],
  example: '{"type":"bedrock","region":"us-east-1"}',
  parseConfig(input) {
    const { region, anthropicBetas, applicationProfiles } = input.raw;
    if (region !== undefined && (typeof region !== 'string' || !REGION.test(region))) {
      input.problems.push(`${input.where}.region: expected an AWS region such as "us-east-1", got ${JSON.stringify(region)}`);
      return undefined;
    }
    if (anthropicBetas !== undefined && !isBetaList(anthropicBetas)) {
      input.problems.push(`${input.where}.anthropicBetas: expected a list of anthropic-beta names such as ["context-1m-2025-08-07"], got ${JSON.stringify(anthropicBetas)}`);
      return undefined;
    }
    const profilesProblem = applicationProfiles === undefined ? undefined : applicationProfilesProblem(applicationProfiles);
    if (profilesProblem) {
      input.problems.push(`${input.where}.applicationProfiles: ${profilesProblem}`);
      return undefined;
    }
    return {
      baseUrl: typeof region === 'string' ? bedrockEndpoint(region) : 'https://bedrock-runtime.{AWS_REGION}.amazonaws.com',
      options: {
        ...(typeof region === 'string' ? { region } : {}),
        ...(anthropicBetas !== undefined ? { anthropicBetas } : {}),
        ...(applicationProfiles !== undefined ? { applicationProfiles: applicationProfiles as Record<string, string> } : {}),
      },
    };
  },
  endpoints: { messages, count_tokens: countTokens, chat },
};
