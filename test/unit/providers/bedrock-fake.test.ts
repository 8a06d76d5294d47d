/**
 * The Bedrock stand-in is faithful: the official @aws-sdk/client-bedrock-runtime, pointed at it,
 * gets its answers, streams and exceptions as it would from Bedrock, and its signatures pass the
 * stand-in's own SigV4 check (while wrong credentials, region or service do not).
 */
import {
  BedrockRuntimeClient,
  ConverseCommand,
  ConverseStreamCommand,
  CountTokensCommand,
  InvokeModelCommand,
  InvokeModelWithResponseStreamCommand,
  ThrottlingException,
} from '@aws-sdk/client-bedrock-runtime';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { BEDROCK_TEST_CREDENTIALS, BEDROCK_TEST_REGION, BEDROCK_USAGE, startBedrockFake, type BedrockFake } from '../../helpers/bedrock-fake';

let fake: BedrockFake;
beforeAll(async () => (fake = await startBedrockFake()));
afterAll(() => fake.close());
afterEach(() => fake.reset());

const client = (overrides: Partial<{ region: string; secretAccessKey: string }> = {}) =>
  new BedrockRuntimeClient({
    region: overrides.region ?? BEDROCK_TEST_REGION,
    endpoint: fake.url,
    credentials: { ...BEDROCK_TEST_CREDENTIALS, ...(overrides.secretAccessKey ? { secretAccessKey: overrides.secretAccessKey } : {}) },
    maxAttempts: 1,
    // The client speaks HTTP/2 to Bedrock by default; the stand-in is HTTP/1.1 (the framing is the same).
    requestHandler: new NodeHttpHandler(),
  });

const PROFILE = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';
const decoder = new TextDecoder();

test('InvokeModel: the SDK signs, the stand-in verifies, and the answer is an Anthropic message', async () => {
  const out = await client().send(
    new InvokeModelCommand({
      modelId: PROFILE,
      contentType: 'application/json',
      body: JSON.stringify({ anthropic_version: 'bedrock-2023-05-31', max_tokens: 10, messages: [{ role: 'user', content: 'fake-invoke' }] }),
    }),
  );
  const message = JSON.parse(decoder.decode(out.body));
  expect(message.content).toEqual([{ type: 'text', text: 'fake-invoke' }]);
  expect(message.usage).toMatchObject({ input_tokens: BEDROCK_USAGE.inputTokens, output_tokens: BEDROCK_USAGE.outputTokens });
  expect(fake.refused).toEqual([]);
  expect(fake.received).toHaveLength(1);
  expect(fake.received[0]).toMatchObject({ modelId: PROFILE, action: 'invoke' });
});

test('InvokeModelWithResponseStream: the SDK decodes the event stream into the Anthropic events, metrics on the last', async () => {
  const out = await client().send(
    new InvokeModelWithResponseStreamCommand({ modelId: PROFILE, contentType: 'application/json', body: JSON.stringify({ anthropic_version: 'bedrock-2023-05-31', max_tokens: 10, messages: [{ role: 'user', content: 'fake-stream' }] }) }),
  );
  const events: any[] = [];
  for await (const part of out.body!) if (part.chunk?.bytes) events.push(JSON.parse(decoder.decode(part.chunk.bytes)));
  expect(events.length).toBeGreaterThanOrEqual(6);
  expect(events[0].type).toBe('message_start');
  expect(events.filter((e) => e.type === 'content_block_delta').map((e) => e.delta.text).join('')).toBe('fake-stream');
  expect(events.at(-1)).toMatchObject({ type: 'message_stop', 'amazon-bedrock-invocationMetrics': { inputTokenCount: BEDROCK_USAGE.inputTokens, outputTokenCount: BEDROCK_USAGE.outputTokens } });
});

test('a mid-stream exception reaches the SDK as the modeled exception', async () => {
  fake.script({ midStream: 'modelStreamErrorException', message: 'broke' });
  const out = await client().send(new InvokeModelWithResponseStreamCommand({ modelId: PROFILE, body: JSON.stringify({ messages: [{ role: 'user', content: 'x' }] }) }));
  const seen: string[] = [];
  await expect(
    (async () => {
      for await (const part of out.body!) if (part.chunk) seen.push('chunk');
    })(),
  ).rejects.toMatchObject({ name: 'ModelStreamErrorException' });
  expect(seen.length).toBeGreaterThan(0);
});

test('Converse and ConverseStream: text, tool use, stop reason and usage with cache tokens, as the SDK models them', async () => {
  const converse = await client().send(
    new ConverseCommand({
      modelId: PROFILE,
      messages: [{ role: 'user', content: [{ text: 'please use tool' }] }],
      toolConfig: { tools: [{ toolSpec: { name: 'weather', inputSchema: { json: { type: 'object' } } } }] },
    }),
  );
  expect(converse.stopReason).toBe('tool_use');
  expect(converse.output?.message?.content?.[0].toolUse).toMatchObject({ name: 'weather', input: { city: 'Paris' } });
  expect(converse.usage).toMatchObject({ inputTokens: BEDROCK_USAGE.inputTokens, cacheReadInputTokens: BEDROCK_USAGE.cacheReadInputTokens });

  const stream = await client().send(new ConverseStreamCommand({ modelId: PROFILE, messages: [{ role: 'user', content: [{ text: 'fake-converse' }] }] }));
  const kinds: string[] = [];
  let text = '';
  for await (const event of stream.stream!) {
    kinds.push(Object.keys(event)[0]);
    if (event.contentBlockDelta?.delta?.text) text += event.contentBlockDelta.delta.text;
  }
  expect(text).toBe('fake-converse');
  expect(kinds[0]).toBe('messageStart');
  expect(kinds.slice(-2)).toEqual(['messageStop', 'metadata']);
});

test('CountTokens answers inputTokens', async () => {
  const out = await client().send(
    new CountTokensCommand({ modelId: 'anthropic.claude-sonnet-4-5-20250929-v1:0', input: { invokeModel: { body: new TextEncoder().encode(JSON.stringify({ messages: [{ role: 'user', content: 'count me' }] })) } } }),
  );
  expect(out.inputTokens).toBeGreaterThan(0);
});

test('exceptions before the answer are the SDK\'s modeled exceptions', async () => {
  fake.script({ exception: 'ThrottlingException', status: 429, message: 'Too many requests' });
  const error = await client().send(new ConverseCommand({ modelId: PROFILE, messages: [{ role: 'user', content: [{ text: 'x' }] }] })).catch((e) => e);
  expect(error).toBeInstanceOf(ThrottlingException);
  expect(error.message).toBe('Too many requests');
});

test('a wrong secret, region or service fails the stand-in\'s signature check', async () => {
  await expect(client({ secretAccessKey: 'wrong' }).send(new ConverseCommand({ modelId: PROFILE, messages: [{ role: 'user', content: [{ text: 'x' }] }] }))).rejects.toThrow(/signature/);
  await expect(client({ region: 'eu-west-1' }).send(new ConverseCommand({ modelId: PROFILE, messages: [{ role: 'user', content: [{ text: 'x' }] }] }))).rejects.toThrow(/signature/);
  expect(fake.refused).toEqual(['signature mismatch', 'signed for region eu-west-1']);
  expect(fake.received).toHaveLength(0);
});
