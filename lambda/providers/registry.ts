/**
 * The provider types the relay ships, in one registry. A new type is its folder plus one line
 * here. The hosts pass this registry to the core (the core itself knows only the port).
 */
import { createProviderRegistry } from '../core/provider';
import { anthropicProvider } from './anthropic';
import { azureOpenAiProvider } from './azure-openai';
import { bedrockProvider } from './bedrock';
import { openAiProvider } from './openai';

export const PROVIDERS = createProviderRegistry([openAiProvider, anthropicProvider, azureOpenAiProvider, bedrockProvider]);
