/**
 * What the relay keeps, which fields, and for how long: one source for the privacy manifest
 * (GET /v1/privacy), the usage schema, the log allowlist, the access-log format and the stack's
 * retention settings, so the manifest cannot drift from what is really stored.
 */
import { LOG_FIELDS } from './log';
import { USAGE_FIELDS, USAGE_RETENTION_DAYS } from './usage';

/** Every log group of the relay (function, API access and execution logs, trail delivery). */
export const LOG_RETENTION_DAYS = 7;
/** Default lock-and-keep period of audit-trail files (admin actions; no request content). */
export const DEFAULT_TRAIL_RETENTION_DAYS = 365;
/** Days each daily backup of the keys and secrets tables is kept. */
export const BACKUP_RETENTION_DAYS = 35;
/** DynamoDB deletes expired items within a few days (typically 48 hours); reads exclude them at once. */
export const TTL_DELETION_LAG_DAYS = 2;

/** API Gateway access-log fields: when, what, how it went. No client IP, no user agent, no path a caller chose. */
export const ACCESS_LOG_FIELDS: Readonly<Record<string, string>> = {
  requestId: '$context.requestId',
  requestTime: '$context.requestTimeEpoch',
  httpMethod: '$context.httpMethod',
  resourcePath: '$context.resourcePath',
  protocol: '$context.protocol',
  status: '$context.status',
  responseLength: '$context.responseLength',
  responseLatency: '$context.responseLatency',
  integrationLatency: '$context.integration.latency',
  integrationStatus: '$context.integration.status',
  errorType: '$context.error.responseType',
  wafStatus: '$context.waf.status',
};

export const NEVER_STORED = [
  'request bodies: prompts, system prompts, tool definitions and arguments, images, files',
  'response bodies: model output, including streamed chunks and upstream error messages',
  'request headers (Authorization and x-api-key included) and client IP addresses and user agents',
  'client API keys: only their SHA-256 hash is stored, and the key id',
  'provider API keys in plain text: only KMS (or local AES-256-GCM) ciphertext and a 12-hex-digit fingerprint',
] as const;

export interface PrivacyManifestOptions {
  /** The deployed trail's retention, when there is one (absent in local mode). */
  readonly trailRetentionDays?: number;
}

/**
 * The manifest: every place the relay (and, deployed, its stack) keeps anything, what it holds, and
 * for how long. `requestMetadata` marks the places that hold anything about individual requests
 * (when, which key, which model, how many tokens): each keeps it at most 7 days.
 */
export function privacyManifest(options: PrivacyManifestOptions = {}) {
  const deployed = options.trailRetentionDays !== undefined;
  return {
    service: 'mixroute',
    stored: [
      {
        what: 'usage record, one per authenticated request',
        where: 'usage table',
        requestMetadata: true,
        fields: USAGE_FIELDS,
        retentionDays: USAGE_RETENTION_DAYS,
        deletion: `DynamoDB TTL on expiresAt; reads exclude expired records at once, and DynamoDB deletes them within about ${TTL_DELETION_LAG_DAYS} days; no backup or point-in-time recovery, so no copy outlives that`,
      },
      {
        what: 'relay log line, one per request plus failures',
        where: 'function log group',
        requestMetadata: true,
        fields: LOG_FIELDS,
        retentionDays: LOG_RETENTION_DAYS,
        deletion: 'log group retention',
      },
      {
        what: 'API access log line, one per request',
        where: 'API Gateway access log group',
        requestMetadata: true,
        fields: Object.keys(ACCESS_LOG_FIELDS),
        retentionDays: LOG_RETENTION_DAYS,
        deletion: 'log group retention',
      },
      ...(deployed
        ? [
            {
              what: 'API execution log line, for failed requests only (ERROR level, never data trace)',
              where: 'API Gateway execution log group',
              requestMetadata: true,
              fields: ['API Gateway request id', 'error type'],
              retentionDays: LOG_RETENTION_DAYS,
              deletion: 'log group retention',
            },
          ]
        : []),
      {
        what: 'client key',
        where: 'keys table',
        requestMetadata: false,
        fields: ['keyId', 'name', 'status', 'createdAt', 'expiresAt', 'models', 'limits', 'prefix (first 4 characters of the secret)', 'rotatedAt', 'SHA-256 of each secret'],
        retentionDays: null,
        deletion: 'kept until the operator deletes it; revoked keys stay for the audit trail',
      },
      {
        what: 'provider credential',
        where: 'secrets table',
        requestMetadata: false,
        fields: ['provider', 'ciphertext', 'fingerprint', 'updatedAt'],
        retentionDays: null,
        deletion: 'replaced by set-key, deleted by `mixroute providers remove`',
      },
      {
        what: 'limit counter (a count per key and minute, day or month; not one per request)',
        where: 'counters table',
        requestMetadata: false,
        fields: ['counter (key id and period)', 'count', 'expiresAt'],
        retentionDays: 32,
        deletion: 'DynamoDB TTL one hour after the period ends',
      },
      ...(deployed
        ? [
            {
              what: 'audit trail of AWS API calls: every management event, and reads and changes of the relay tables by principals other than the relay function (its key lookups and usage writes are not recorded)',
              where: 'CloudTrail bucket (Object Lock) and trail log group',
              requestMetadata: false,
              fields: ['CloudTrail event records'],
              retentionDays: options.trailRetentionDays as number,
              deletion: `object lock then lifecycle expiry; the log group keeps ${LOG_RETENTION_DAYS} days`,
            },
            {
              what: 'daily backup of the keys and secrets tables (never the usage table)',
              where: 'AWS Backup vault',
              requestMetadata: false,
              fields: ['the keys and secrets tables as above'],
              retentionDays: BACKUP_RETENTION_DAYS,
              deletion: 'backup plan lifecycle',
            },
          ]
        : []),
    ],
    neverStored: NEVER_STORED,
  };
}
