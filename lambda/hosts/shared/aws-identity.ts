/**
 * The runtime's own AWS identity for `runtime-role` provider types (Bedrock): SigV4 with the AWS
 * SDK's standard credential chain (in Lambda the function role's credentials from its environment,
 * locally the developer's environment, profile, SSO or instance role). No secret is stored anywhere.
 *
 * The region is the runtime's (AWS_REGION, AWS_DEFAULT_REGION, or locally the profile's `region`),
 * and endpoints can be overridden the SDK's standard way (AWS_ENDPOINT_URL_<SERVICE_ID>, e.g.
 * AWS_ENDPOINT_URL_BEDROCK_RUNTIME for tests or VPC endpoints).
 */
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { Sha256 } from '@smithy/core/checksum';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentityProvider } from '@smithy/types';
import type { RuntimeIdentity, SignableRequest } from '../../core/ports';

/** The SDK's endpoint variable for a service id: `bedrock-runtime` → AWS_ENDPOINT_URL_BEDROCK_RUNTIME. */
export function endpointVariable(serviceId: string): string {
  return `AWS_ENDPOINT_URL_${serviceId.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

export interface AwsIdentityOptions {
  readonly env?: NodeJS.ProcessEnv;
  /** Default: the SDK's standard chain. */
  readonly credentials?: AwsCredentialIdentityProvider;
  /** Resolves the region when the environment names none (locally: the profile's). */
  readonly profileRegion?: () => Promise<string | undefined>;
}

export function createAwsIdentity(options: AwsIdentityOptions = {}): RuntimeIdentity {
  const env = options.env ?? process.env;
  // Keys in the given environment are used as they are; otherwise the SDK's standard chain, which
  // memoizes the credentials and refreshes them before they expire.
  const fromGivenEnv: AwsCredentialIdentityProvider | undefined =
    env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
      ? async () => ({ accessKeyId: env.AWS_ACCESS_KEY_ID as string, secretAccessKey: env.AWS_SECRET_ACCESS_KEY as string, ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}) })
      : undefined;
  const credentials = options.credentials ?? fromGivenEnv ?? defaultProvider();
  const signers = new Map<string, SignatureV4>();
  let region: Promise<string | undefined> | undefined;
  return {
    region() {
      const named = env.AWS_REGION || env.AWS_DEFAULT_REGION;
      if (named) return Promise.resolve(named);
      region ??= (options.profileRegion?.() ?? Promise.resolve(undefined)).catch(() => undefined);
      return region;
    },
    endpoint(serviceId) {
      const value = env[endpointVariable(serviceId)] || env.AWS_ENDPOINT_URL;
      return value ? value.replace(/\/+$/, '') : undefined;
    },
    async sign(request: SignableRequest, scope) {
      const key = `${scope.service}/${scope.region}`;
      let signer = signers.get(key);
      if (!signer) {
        signer = new SignatureV4({ service: scope.service, region: scope.region, credentials, sha256: Sha256 });
        signers.set(key, signer);
      }
      const url = new URL(request.url);
      const query: Record<string, string> = {};
      for (const [name, value] of url.searchParams) query[name] = value;
      const signed = await signer.sign({
        method: request.method,
        protocol: url.protocol,
        hostname: url.hostname,
        port: url.port ? Number(url.port) : undefined,
        path: url.pathname,
        query,
        headers: { ...request.headers, host: url.host },
        body: request.body,
      });
      return signed.headers as Record<string, string>;
    },
  };
}
