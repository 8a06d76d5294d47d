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

export function anthropicMessageJson(text: string, usage = { input_tokens: 13, output_tokens: 9 }) {
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

export function anthropicMessageSse(pieces: string[], usage = { input_tokens: 13, output_tokens: 9 }): string {
  const event = (name: string, data: unknown) => `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
  let out = event('message_start', {
    type: 'message_start',
    message: { id: 'msg_fixture', type: 'message', role: 'assistant', model: 'claude-sonnet-5-5', content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: usage.input_tokens, output_tokens: 1 } },
  });
  out += event('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } });
  out += event('ping', { type: 'ping' });
  for (const piece of pieces) out += event('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: piece } });
  out += event('content_block_stop', { type: 'content_block_stop', index: 0 });
  out += event('message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: usage.output_tokens } });
  out += event('message_stop', { type: 'message_stop' });
  return out;
}
