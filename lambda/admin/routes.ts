/** The providers and model routes an admin command works with: from the local config or the stack. */
import type { ProviderType, RelayConfig } from '../core/config';

export interface RelayRoutes {
  readonly providers: readonly { name: string; type: ProviderType; baseUrl: string }[];
  /** Model name → provider name. */
  readonly models: Readonly<Record<string, string>>;
}

export function routesFromConfig(config: RelayConfig): RelayRoutes {
  return {
    providers: [...config.providers.values()].map(({ name, type, baseUrl }) => ({ name, type, baseUrl })),
    // A model's first candidate's provider (the one `providers test` exercises).
    models: Object.fromEntries([...config.models.values()].map((route) => [route.name, route.provider])),
  };
}
