/** Reads the function's environment once per container and builds the relay; clients are reused across invocations. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { Agent } from 'node:https';
import { parseRelayConfigText } from '../../core/config';
import type { RelayHandler } from '../../core/http';
import { createLogger } from '../../core/log';
import { PROVIDERS } from '../../providers/registry';
import { createDynamoStores } from '../../stores/dynamodb';
import { KmsCipher } from '../../stores/kms-cipher';
import { createAwsIdentity } from '../shared/aws-identity';
import { composeRelay } from '../shared/compose';
import { createEmfMetrics } from './emf-metrics';

const writeLine = (line: string) => void process.stdout.write(line + '\n');

/**
 * AWS SDK clients with deadlines: the SDK's defaults have no connection or request timeout, so a
 * stalled DynamoDB would hold the invocation (and its socket the event loop, which the runtime waits
 * for) as long as it stalls. One attempt: the relay's own retry policy (usage writes) is the only
 * one, so retries never multiply. `throwOnRequestTimeout` makes the request timeout abort the call
 * instead of only warning.
 */
export function awsClientTimeouts(storeTimeoutMs: number) {
  return {
    maxAttempts: 1,
    requestHandler: new NodeHttpHandler({
      connectionTimeout: Math.min(1_000, storeTimeoutMs),
      requestTimeout: storeTimeoutMs,
      throwOnRequestTimeout: true,
      httpsAgent: new Agent({ keepAlive: true }),
    }),
  };
}

export function relayFromEnvironment(env: NodeJS.ProcessEnv = process.env): RelayHandler {
  const required = (name: string): string => {
    const value = env[name];
    if (!value) throw new Error(`environment variable ${name} is not set`);
    return value;
  };
  const config = parseRelayConfigText(required('MIXROUTE_CONFIG'), 'lambda', 'MIXROUTE_CONFIG', PROVIDERS);
  const timeouts = awsClientTimeouts(config.settings.storeTimeoutMs);
  const dynamo = new DynamoDBClient(timeouts);
  const stores = createDynamoStores(dynamo, {
    keys: required('MIXROUTE_KEYS_TABLE'),
    secrets: required('MIXROUTE_SECRETS_TABLE'),
    usage: required('MIXROUTE_USAGE_TABLE'),
    counters: required('MIXROUTE_COUNTERS_TABLE'),
  });
  return composeRelay({
    config,
    keys: stores.keys,
    usage: stores.usage,
    secrets: stores.secrets,
    counters: stores.counters,
    cipher: new KmsCipher(new KMSClient(timeouts), required('MIXROUTE_KMS_KEY_ID')),
    logger: createLogger(writeLine),
    metrics: createEmfMetrics(env.MIXROUTE_METRICS_NAMESPACE || 'Mixroute', writeLine),
    privacy: env.MIXROUTE_TRAIL_RETENTION_DAYS ? { trailRetentionDays: Number(env.MIXROUTE_TRAIL_RETENTION_DAYS) } : {},
    // Bedrock is called with the function role's own credentials, in the function's region.
    identity: createAwsIdentity({ env }),
  }).handle;
}
