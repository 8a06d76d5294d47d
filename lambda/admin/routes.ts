/**
 * The providers and model routes an admin command works with: from the local config or the
 * stack's RelayRoutes output. Each provider carries what its type declares (how it authenticates,
 * which endpoints it serves), so admin commands need no knowledge of provider types.
 */
import type { RelayConfig } from '../core/config';
import type { ForwardedEndpoint } from '../core/endpoints';
import type { CredentialMode } from '../core/provider';

export interface RouteProvider {
  readonly name: string;
  readonly type: string;
  readonly baseUrl: string;
  readonly credential: CredentialMode;
  readonly endpoints: readonly ForwardedEndpoint[];
}

export interface RelayRoutes {
  readonly providers: readonly RouteProvider[];
  /** Model name → provider name. */
  readonly models: Readonly<Record<string, string>>;
}

export function routesFromConfig(config: RelayConfig): RelayRoutes {
  return {
    providers: [...config.providers.values()].map(({ name, type, baseUrl, adapter }) => ({
      name,
      type,
      baseUrl,
      credential: adapter.credential,
      endpoints: Object.keys(adapter.endpoints) as ForwardedEndpoint[],
    })),
    // A model's first candidate's provider (the one `providers test` exercises).
    models: Object.fromEntries([...config.models.values()].map((route) => [route.name, route.provider])),
  };
}
