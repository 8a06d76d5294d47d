/** The one registry of provider adapters, by provider type. */
import type { ProviderType } from '../core/config';
import { anthropicProvider } from './anthropic';
import { openAiProvider } from './openai';
import type { ProviderAdapter } from './types';

export const PROVIDERS: Readonly<Record<ProviderType, ProviderAdapter>> = {
  openai: openAiProvider,
  anthropic: anthropicProvider,
};

export function providerAdapter(type: ProviderType): ProviderAdapter {
  return PROVIDERS[type];
}
