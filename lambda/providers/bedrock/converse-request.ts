/**
 * OpenAI Chat Completions → Bedrock Converse. Translated: system/developer and user/assistant
 * messages, text and base64 images, tool definitions, tool calls and tool results, `tool_choice`,
 * `max_tokens`/`max_completion_tokens`, `temperature`, `top_p`, `stop`. A field Converse cannot
 * express is refused with a 400 naming it, so a request is never silently answered differently;
 * fields that do not change the answer (`user`, `store`, `metadata`, …) are accepted and dropped.
 */
import { RelayError } from '../../core/errors';
import type { JsonObject } from '../../core/provider';
import { isObject, ownValue } from '../shared/json';

/** Accepted and dropped: they do not change the answer (identification, storage, caching hints, stream options). */
const NO_EFFECT = new Set(['model', 'stream', 'stream_options', 'user', 'store', 'metadata', 'safety_identifier', 'prompt_cache_key', 'service_tier']);
const TRANSLATED = new Set(['messages', 'max_tokens', 'max_completion_tokens', 'temperature', 'top_p', 'stop', 'tools', 'tool_choice']);
/** Accepted only at the value that means "as Converse does anyway". */
const DEFAULT_ONLY: Readonly<Record<string, (value: unknown) => boolean>> = {
  n: (v) => v === 1,
  logprobs: (v) => v === false,
  frequency_penalty: (v) => v === 0,
  presence_penalty: (v) => v === 0,
  parallel_tool_calls: (v) => v === true,
  modalities: (v) => Array.isArray(v) && v.length === 1 && v[0] === 'text',
  response_format: (v) => isObject(v) && v.type === 'text',
};

const IMAGE_FORMATS: Readonly<Record<string, string>> = { 'image/png': 'png', 'image/jpeg': 'jpeg', 'image/jpg': 'jpeg', 'image/gif': 'gif', 'image/webp': 'webp' };
const DATA_URL = /^data:(image\/[a-z+.-]+);base64,([A-Za-z0-9+/=\s]+)$/;

export function unsupported(name: string, why = 'Bedrock Converse cannot express it'): RelayError {
  // The name may be a caller's own key: quoted back to that caller only, kept short.
  const field = name.length > 80 ? `${name.slice(0, 79)}…` : name;
  return new RelayError(400, 'invalid_request', `The field "${field}" is not supported for this model on Bedrock: ${why}. Remove it, or route the model to a provider that supports it.`, undefined, {
    param: field,
  });
}

function invalid(field: string, expected: string): RelayError {
  return new RelayError(400, 'invalid_request', `"${field}": expected ${expected}.`, undefined, { param: field });
}

type Block = JsonObject;

/** A caller's value quoted back in an error (to the caller only), kept short. */
function shown(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 39)}…` : text;
}

function textOf(content: unknown, where: string): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((part, i) => {
        if (isObject(part) && part.type === 'text' && typeof part.text === 'string') return part.text;
        throw unsupported(`${where}[${i}]`, 'only text parts are allowed here');
      })
      .join('');
  }
  throw invalid(where, 'a string or a list of text parts');
}

function userBlocks(content: unknown, where: string): Block[] {
  if (typeof content === 'string') return [{ text: content }];
  if (!Array.isArray(content)) throw invalid(where, 'a string or a list of content parts');
  return content.map((part, i): Block => {
    const at = `${where}[${i}]`;
    if (!isObject(part)) throw invalid(at, 'a content part');
    if (part.type === 'text' && typeof part.text === 'string') return { text: part.text };
    if (part.type === 'image_url' && isObject(part.image_url) && typeof part.image_url.url === 'string') {
      const data = DATA_URL.exec(part.image_url.url);
      if (!data) throw unsupported(`${at}.image_url.url`, 'images must be sent inline as base64 data: URLs (the relay fetches no URLs)');
      const format = ownValue(IMAGE_FORMATS, data[1]);
      if (!format) throw unsupported(`${at}.image_url.url`, `image type ${data[1]} is not one of png, jpeg, gif, webp`);
      return { image: { format, source: { bytes: data[2].replace(/\s+/g, '') } } };
    }
    throw unsupported(`${at}.type`, `content parts of type ${shown(part.type)} are not supported`);
  });
}

function toolCallBlocks(calls: unknown, where: string): Block[] {
  if (!Array.isArray(calls)) throw invalid(where, 'a list of tool calls');
  return calls.map((call, i): Block => {
    const at = `${where}[${i}]`;
    if (!isObject(call) || call.type !== 'function' || !isObject(call.function) || typeof call.id !== 'string' || typeof call.function.name !== 'string') {
      throw invalid(at, 'a function tool call with id, function.name and function.arguments');
    }
    let input: unknown = {};
    const args = call.function.arguments;
    if (typeof args === 'string' && args.trim() !== '') {
      try {
        input = JSON.parse(args);
      } catch {
        throw invalid(`${at}.function.arguments`, 'a JSON object');
      }
    }
    if (!isObject(input)) throw invalid(`${at}.function.arguments`, 'a JSON object');
    return { toolUse: { toolUseId: call.id, name: call.function.name, input } };
  });
}

interface Turn {
  role: 'user' | 'assistant';
  content: Block[];
}

/** Messages → Converse system blocks and alternating turns (consecutive turns of one role merged). */
function translateMessages(messages: unknown): { system: Block[]; turns: Turn[] } {
  if (!Array.isArray(messages) || messages.length === 0) throw invalid('messages', 'a non-empty list of messages');
  const system: Block[] = [];
  const turns: Turn[] = [];
  const add = (role: Turn['role'], content: Block[]) => {
    if (content.length === 0) return;
    const last = turns[turns.length - 1];
    if (last && last.role === role) last.content.push(...content);
    else turns.push({ role, content: [...content] });
  };
  messages.forEach((message, i) => {
    const at = `messages[${i}]`;
    if (!isObject(message)) throw invalid(at, 'a message object');
    for (const field of Object.keys(message)) {
      if (!['role', 'content', 'tool_calls', 'tool_call_id', 'refusal'].includes(field)) throw unsupported(`${at}.${field}`);
    }
    switch (message.role) {
      case 'system':
      case 'developer':
        system.push({ text: textOf(message.content, `${at}.content`) });
        break;
      case 'user':
        add('user', userBlocks(message.content, `${at}.content`));
        break;
      case 'assistant': {
        const blocks: Block[] = [];
        if (message.content !== undefined && message.content !== null) {
          const text = textOf(message.content, `${at}.content`);
          if (text !== '') blocks.push({ text });
        }
        if (message.tool_calls !== undefined && message.tool_calls !== null) blocks.push(...toolCallBlocks(message.tool_calls, `${at}.tool_calls`));
        if (blocks.length === 0) throw invalid(`${at}.content`, 'text or tool_calls');
        add('assistant', blocks);
        break;
      }
      case 'tool': {
        if (typeof message.tool_call_id !== 'string') throw invalid(`${at}.tool_call_id`, 'the id of the tool call this answers');
        add('user', [{ toolResult: { toolUseId: message.tool_call_id, content: [{ text: textOf(message.content, `${at}.content`) }] } }]);
        break;
      }
      default:
        throw unsupported(`${at}.role`, `the role ${shown(message.role)} is not supported (use system, developer, user, assistant or tool)`);
    }
  });
  if (turns.length === 0) throw invalid('messages', 'at least one user message');
  return { system, turns };
}

function translateTools(tools: unknown, choice: unknown): JsonObject | undefined {
  if (tools === undefined || tools === null) {
    if (choice !== undefined && choice !== null && choice !== 'auto' && choice !== 'none') throw invalid('tool_choice', 'tools to choose from');
    return undefined;
  }
  if (!Array.isArray(tools)) throw invalid('tools', 'a list of tools');
  const specs = tools.map((tool, i) => {
    const at = `tools[${i}]`;
    if (!isObject(tool) || tool.type !== 'function' || !isObject(tool.function) || typeof tool.function.name !== 'string') {
      throw unsupported(`${at}.type`, 'only function tools are supported');
    }
    const fn = tool.function;
    if (fn.strict === true) throw unsupported(`${at}.function.strict`, 'Converse does not enforce strict schemas');
    const parameters = isObject(fn.parameters) ? fn.parameters : { type: 'object', properties: {} };
    return { toolSpec: { name: fn.name, ...(typeof fn.description === 'string' ? { description: fn.description } : {}), inputSchema: { json: parameters } } };
  });
  if (specs.length === 0) return undefined;
  let toolChoice: JsonObject | undefined;
  if (choice === undefined || choice === null || choice === 'auto') toolChoice = undefined;
  else if (choice === 'required') toolChoice = { any: {} };
  else if (choice === 'none') throw unsupported('tool_choice', '"none" cannot be expressed; leave out the tools instead');
  else if (isObject(choice) && choice.type === 'function' && isObject(choice.function) && typeof choice.function.name === 'string') toolChoice = { tool: { name: choice.function.name } };
  else throw invalid('tool_choice', '"auto", "required", "none" or {"type":"function","function":{"name":…}}');
  return { tools: specs, ...(toolChoice ? { toolChoice } : {}) };
}

function inferenceConfig(body: JsonObject): JsonObject {
  const config: JsonObject = {};
  const max = body.max_completion_tokens ?? body.max_tokens;
  if (max !== undefined && max !== null) {
    if (!Number.isInteger(max) || (max as number) < 1) throw invalid(body.max_completion_tokens !== undefined ? 'max_completion_tokens' : 'max_tokens', 'a positive integer');
    config.maxTokens = max;
  }
  for (const [from, to] of [
    ['temperature', 'temperature'],
    ['top_p', 'topP'],
  ] as const) {
    const value = body[from];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'number') throw invalid(from, 'a number');
    config[to] = value;
  }
  if (body.stop !== undefined && body.stop !== null) {
    const stops = typeof body.stop === 'string' ? [body.stop] : body.stop;
    if (!Array.isArray(stops) || !stops.every((s) => typeof s === 'string')) throw invalid('stop', 'a string or a list of strings');
    if (stops.length > 0) config.stopSequences = stops;
  }
  return config;
}

/** The Converse request for a chat completion body; `metadata` is the request's attribution (the key id). */
export function converseRequest(body: JsonObject, requestMetadata: Record<string, string>): JsonObject {
  for (const [field, value] of Object.entries(body)) {
    if (value === undefined || NO_EFFECT.has(field) || TRANSLATED.has(field)) continue;
    const acceptsDefault = ownValue(DEFAULT_ONLY, field);
    if (acceptsDefault && (value === null || acceptsDefault(value))) continue;
    throw unsupported(field);
  }
  const { system, turns } = translateMessages(body.messages);
  const tools = translateTools(body.tools, body.tool_choice);
  const inference = inferenceConfig(body);
  return {
    messages: turns,
    ...(system.length > 0 ? { system } : {}),
    ...(Object.keys(inference).length > 0 ? { inferenceConfig: inference } : {}),
    ...(tools ? { toolConfig: tools } : {}),
    requestMetadata,
  };
}
