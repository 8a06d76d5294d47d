/** Recorded-shape SSE and JSON answers of the two provider APIs, used by the mock upstream and replays. */

export function openAiChatJson(text: string, usage = { prompt_tokens: 11, completion_tokens: 7 }) {
  return {
    id: 'chatcmpl-fixture',
    object: 'chat.completion',
    created: 1_700_000_000,
    model: 'gpt-4o-mini-2024-07-18',
    choices: [{ index: 0, message: { role: 'assistant', content: text, refusal: null }, logprobs: null, finish_reason: 'stop' }],
    usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens },
  };
}

/** OpenAI chat stream; with includeUsage, every chunk carries "usage":null and a final usage chunk precedes [DONE]. */
export function openAiChatSse(pieces: string[], includeUsage: boolean, usage = { prompt_tokens: 11, completion_tokens: 7 }): string {
  const base = { id: 'chatcmpl-fixture', object: 'chat.completion.chunk', created: 1_700_000_000, model: 'gpt-4o-mini-2024-07-18', system_fingerprint: 'fp_fixture' };
  const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) =>
    `data: ${JSON.stringify({ ...base, choices, ...(includeUsage ? { usage: null } : {}), ...extra })}\n\n`;
  let out = chunk([{ index: 0, delta: { role: 'assistant', content: '', refusal: null }, logprobs: null, finish_reason: null }]);
  for (const piece of pieces) out += chunk([{ index: 0, delta: { content: piece }, logprobs: null, finish_reason: null }]);
  out += chunk([{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }]);
  if (includeUsage) {
    out += `data: ${JSON.stringify({ ...base, choices: [], usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens } })}\n\n`;
  }
  return out + 'data: [DONE]\n\n';
}

export function openAiEmbeddingJson(promptTokens = 5, base64 = false) {
  const vector = [0.1, -0.2, 0.3];
  const embedding = base64 ? Buffer.from(new Float32Array(vector).buffer).toString('base64') : vector;
  return {
    object: 'list',
    data: [{ object: 'embedding', index: 0, embedding }],
    model: 'text-embedding-3-small',
    usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
  };
}

export function anthropicMessageJson(text: string, usage: Record<string, number> = { input_tokens: 13, output_tokens: 9 }) {
  return {
    id: 'msg_fixture',
    type: 'message',
    role: 'assistant',
    model: 'claude-sonnet-5-5',
    content: [{ type: 'text', text }],
    stop_reason: 'end_turn',
    stop_sequence: null,
    usage,
  };
}

export function anthropicMessageSse(pieces: string[], usage: { input_tokens: number; output_tokens: number } & Record<string, number> = { input_tokens: 13, output_tokens: 9 }): string {
  const event = (name: string, data: unknown) => `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
  let out = event('message_start', {
    type: 'message_start',
    message: { id: 'msg_fixture', type: 'message', role: 'assistant', model: 'claude-sonnet-5-5', content: [], stop_reason: null, stop_sequence: null, usage: { ...usage, output_tokens: 1 } },
  });
  out += event('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } });
  out += event('ping', { type: 'ping' });
  for (const piece of pieces) out += event('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: piece } });
  out += event('content_block_stop', { type: 'content_block_stop', index: 0 });
  out += event('message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: usage.output_tokens } });
  out += event('message_stop', { type: 'message_stop' });
  return out;
}

/** Responses API usage with its cached and reasoning parts. */
export const RESPONSES_USAGE = { input_tokens: 2000, input_tokens_details: { cached_tokens: 1500 }, output_tokens: 40, output_tokens_details: { reasoning_tokens: 32 }, total_tokens: 2040 };

function responseObject(status: string, output: unknown[], usage?: unknown) {
  return { id: 'resp_fixture', object: 'response', created_at: 1_700_000_000, status, model: 'gpt-5-codex', output, ...(usage ? { usage } : {}) };
}

function responsesOutput(text: string, toolCall?: { name: string; arguments: string }): unknown[] {
  if (toolCall) return [{ id: 'fc_fixture', type: 'function_call', status: 'completed', call_id: 'call_fixture', name: toolCall.name, arguments: toolCall.arguments }];
  return [{ id: 'msg_fixture', type: 'message', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text, annotations: [] }] }];
}

/** A Responses API answer as JSON: a message, or a function call. */
export function responsesJson(text: string, toolCall?: { name: string; arguments: string }, usage: unknown = RESPONSES_USAGE) {
  return responseObject('completed', responsesOutput(text, toolCall), usage);
}

/** A Responses API stream: typed events ending in `terminal` (response.completed by default) with usage. */
export function responsesSse(
  pieces: string[],
  options: { toolCall?: { name: string; arguments: string }; terminal?: 'response.completed' | 'response.incomplete' | 'response.failed' | null; usage?: unknown } = {},
): string {
  let n = 0;
  const event = (type: string, data: Record<string, unknown>) => `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: n++, ...data })}\n\n`;
  const text = pieces.join('');
  let out = event('response.created', { response: responseObject('in_progress', []) });
  out += event('response.in_progress', { response: responseObject('in_progress', []) });
  if (options.toolCall) {
    const item = responsesOutput('', options.toolCall)[0] as Record<string, unknown>;
    out += event('response.output_item.added', { output_index: 0, item: { ...item, status: 'in_progress', arguments: '' } });
    for (const piece of pieces) out += event('response.function_call_arguments.delta', { item_id: 'fc_fixture', output_index: 0, delta: piece });
    out += event('response.function_call_arguments.done', { item_id: 'fc_fixture', output_index: 0, arguments: options.toolCall.arguments });
    out += event('response.output_item.done', { output_index: 0, item });
  } else {
    out += event('response.output_item.added', { output_index: 0, item: { id: 'msg_fixture', type: 'message', status: 'in_progress', role: 'assistant', content: [] } });
    out += event('response.content_part.added', { item_id: 'msg_fixture', output_index: 0, content_index: 0, part: { type: 'output_text', text: '', annotations: [] } });
    for (const piece of pieces) out += event('response.output_text.delta', { item_id: 'msg_fixture', output_index: 0, content_index: 0, delta: piece });
    out += event('response.output_text.done', { item_id: 'msg_fixture', output_index: 0, content_index: 0, text });
    out += event('response.content_part.done', { item_id: 'msg_fixture', output_index: 0, content_index: 0, part: { type: 'output_text', text, annotations: [] } });
    out += event('response.output_item.done', { output_index: 0, item: responsesOutput(text)[0] });
  }
  const terminal = options.terminal === undefined ? 'response.completed' : options.terminal;
  if (terminal) {
    const status = terminal === 'response.completed' ? 'completed' : terminal === 'response.incomplete' ? 'incomplete' : 'failed';
    out += event(terminal, { response: responseObject(status, responsesOutput(text, options.toolCall), options.usage ?? RESPONSES_USAGE) });
  }
  return out;
}

/** Anthropic usage with prompt-cache reads and writes. */
export const ANTHROPIC_CACHE_USAGE = { input_tokens: 13, cache_creation_input_tokens: 300, cache_read_input_tokens: 900, output_tokens: 9 };
