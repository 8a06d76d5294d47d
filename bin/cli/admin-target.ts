/**
 * CLI-only: where admin commands act: the running dev server's embedded store and local cipher, or a deployed
 * stack, whose table names and key ARN come from its CloudFormation outputs and which is reached
 * with the caller's own AWS credentials (so every action is an IAM-authorised, CloudTrail-recorded
 * call). Both give the same stores, through the same DynamoDB adapter.
 */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { RelayRoutes, RouteProvider } from '../../lambda/admin/routes';
import { routesFromConfig } from '../../lambda/admin/routes';
import type { SecretCipher } from '../../lambda/core/ports';
import { connectToDevServer, loadLocalConfig } from '../../lambda/hosts/local/dev-server';
import { PROVIDERS } from '../../lambda/providers/registry';
import { createDynamoStores, type DynamoStores } from '../../lambda/stores/dynamodb';
import { KmsCipher } from '../../lambda/stores/kms-cipher';

export interface AdminTarget {
  readonly kind: 'local' | 'aws';
  /** For messages: "the dev server on .mixroute" or "stack Mixroute (eu-west-1)". */
  readonly description: string;
  readonly stores: DynamoStores;
  readonly cipher: SecretCipher;
  readonly routes: RelayRoutes;
  /** The relay's base URL, ending in "/". */
  readonly relayUrl: string;
  close(): void;
}

/** An error whose message is one line saying what to do. */
export class AdminTargetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AdminTargetError';
  }
}

/** The dev server on a data dir, with the config it runs with unless another is named. */
export function openLocalTarget(dataDir: string, configPath?: string): AdminTarget {
  const local = connectToDevServer(dataDir);
  const { config } = loadLocalConfig(configPath ?? local.state.configPath ?? 'mixroute.config.json');
  return {
    kind: 'local',
    description: `the dev server on ${dataDir}`,
    stores: local.stores,
    cipher: local.cipher,
    routes: routesFromConfig(config),
    relayUrl: `${local.state.relayUrl}/`,
    close: () => local.client.destroy(),
  };
}

/** Each call to CloudFormation, DynamoDB or KMS from the CLI must answer within this (MIXROUTE_AWS_TIMEOUT_MS overrides). */
const DEFAULT_AWS_TIMEOUT_MS = 30_000;

function awsTimeoutMs(): number {
  const value = Number(process.env.MIXROUTE_AWS_TIMEOUT_MS);
  return Number.isFinite(value) && value > 0 ? value : DEFAULT_AWS_TIMEOUT_MS;
}

/** A deadline on every call: a hung endpoint fails the command with a clear line instead of hanging it. */
function awsRequestHandler(): NodeHttpHandler {
  return new NodeHttpHandler({ connectionTimeout: Math.min(5_000, awsTimeoutMs()), requestTimeout: awsTimeoutMs(), throwOnRequestTimeout: true });
}

const REQUIRED_OUTPUTS = ['EndpointUrl', 'KeysTableName', 'SecretsTableName', 'UsageTableName', 'CountersTableName', 'KeyArn', 'RelayRoutes'] as const;

/** Turns AWS SDK failures into one-line errors that say what to do. */
export function explainAwsError(error: unknown, what: string): Error {
  const name = (error as { name?: string })?.name ?? '';
  const message = (error as Error)?.message ?? '';
  if (name === 'CredentialsProviderError' || /Could not load credentials|credential/i.test(message) && !/AccessDenied/.test(name)) {
    return new AdminTargetError(`no AWS credentials found: run \`aws configure\` or \`aws sso login\`, or set AWS_PROFILE`);
  }
  if (/AccessDenied|UnauthorizedOperation|NotAuthorized/i.test(name) || /not authorized to perform/i.test(message)) {
    return new AdminTargetError(`access denied while ${what}: attach the stack's OperatorPolicyArn (or AuditorPolicyArn for reading) to your role`);
  }
  if (name === 'TimeoutError' || /timed out|timeout/i.test(message) && !name.endsWith('Exception')) {
    return new AdminTargetError(`AWS did not answer in time while ${what} (${awsTimeoutMs() / 1000} s per call): check your network, then try again`);
  }
  if (name === 'ResourceNotFoundException') return new AdminTargetError(`a relay table was not found while ${what}: is the stack fully deployed?`);
  return error instanceof Error ? error : new Error(String(error));
}

/** Stacks deployed by earlier versions list providers without what their type declares: fill it in from the registry. */
function withTypeFacts(routes: RelayRoutes): RelayRoutes {
  return {
    ...routes,
    providers: routes.providers.map((provider) => {
      const adapter = PROVIDERS.get(provider.type);
      return {
        ...provider,
        credential: provider.credential ?? adapter?.credential ?? 'stored-secret',
        endpoints: provider.endpoints ?? (adapter ? (Object.keys(adapter.endpoints) as RouteProvider['endpoints']) : []),
      };
    }),
  };
}

export async function openStackTarget(stackName: string, region?: string): Promise<AdminTarget> {
  const cloudFormation = new CloudFormationClient({ ...(region ? { region } : {}), requestHandler: awsRequestHandler(), maxAttempts: 3 });
  let outputs: Record<string, string>;
  let resolvedRegion: string;
  try {
    resolvedRegion = region ?? (await cloudFormation.config.region());
    const result = await cloudFormation.send(new DescribeStacksCommand({ StackName: stackName }));
    const stack = result.Stacks?.[0];
    if (!stack) throw new AdminTargetError(`stack "${stackName}" not found in ${resolvedRegion}: check --stack and --region`);
    outputs = Object.fromEntries((stack.Outputs ?? []).map((o) => [o.OutputKey ?? '', o.OutputValue ?? '']));
  } catch (error) {
    if (error instanceof AdminTargetError) throw error;
    if ((error as Error)?.name === 'ValidationError' && /does not exist/.test((error as Error).message)) {
      throw new AdminTargetError(`stack "${stackName}" not found in ${region ?? 'the default region'}: check --stack and --region (or AWS_REGION)`);
    }
    if (/Region is missing/i.test((error as Error)?.message ?? '')) throw new AdminTargetError('no AWS region set: pass --region or set AWS_REGION');
    throw explainAwsError(error, `reading the outputs of stack "${stackName}"`);
  } finally {
    cloudFormation.destroy();
  }
  const missing = REQUIRED_OUTPUTS.filter((name) => !outputs[name]);
  if (missing.length > 0) {
    throw new AdminTargetError(`stack "${stackName}" has no ${missing.join(', ')} output(s): is it a Mixroute stack, deployed with this version?`);
  }
  let routes: RelayRoutes;
  try {
    routes = withTypeFacts(JSON.parse(outputs.RelayRoutes) as RelayRoutes);
  } catch {
    throw new AdminTargetError(`stack "${stackName}" has an unreadable RelayRoutes output; deploy it again`);
  }
  const dynamo = new DynamoDBClient({ region: resolvedRegion, requestHandler: awsRequestHandler(), maxAttempts: 3 });
  const kms = new KMSClient({ region: resolvedRegion, requestHandler: awsRequestHandler(), maxAttempts: 3 });
  return {
    kind: 'aws',
    description: `stack ${stackName} (${resolvedRegion})`,
    stores: createDynamoStores(dynamo, {
      keys: outputs.KeysTableName,
      secrets: outputs.SecretsTableName,
      usage: outputs.UsageTableName,
      counters: outputs.CountersTableName,
    }),
    cipher: new KmsCipher(kms, outputs.KeyArn),
    routes,
    relayUrl: outputs.EndpointUrl.endsWith('/') ? outputs.EndpointUrl : `${outputs.EndpointUrl}/`,
    close: () => {
      dynamo.destroy();
      kms.destroy();
    },
  };
}
