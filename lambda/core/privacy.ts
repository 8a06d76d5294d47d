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

export function privacyManifest(options: PrivacyManifestOptions = {}) {
  return {
    service: 'mixroute',
    stored: [
      {
        what: 'usage record, one per authenticated request',
        where: 'usage table',
        fields: USAGE_FIELDS,
        retentionDays: USAGE_RETENTION_DAYS,
        deletion: `DynamoDB TTL on expiresAt (reads also exclude expired records); point-in-time recovery keeps at most ${USAGE_RETENTION_DAYS} days`,
      },
      {
        what: 'relay log line, one per request plus failures',
        where: 'function log group',
        fields: LOG_FIELDS,
        retentionDays: LOG_RETENTION_DAYS,
        deletion: 'log group retention',
      },
      {
        what: 'API access log line, one per request',
        where: 'API Gateway access log group',
        fields: Object.keys(ACCESS_LOG_FIELDS),
        retentionDays: LOG_RETENTION_DAYS,
        deletion: 'log group retention',
      },
      {
        what: 'client key',
        where: 'keys table',
        fields: ['keyId', 'name', 'status', 'createdAt', 'expiresAt', 'models', 'limits', 'prefix (first 4 characters of the secret)', 'rotatedAt', 'SHA-256 of each secret'],
        retentionDays: null,
        deletion: 'kept until the operator deletes it; revoked keys stay for the audit trail',
      },
      {
        what: 'provider credential',
        where: 'secrets table',
        fields: ['provider', 'ciphertext', 'fingerprint', 'updatedAt'],
        retentionDays: null,
        deletion: 'replaced by set-key, deleted by `mixroute providers remove`',
      },
      {
        what: 'limit counter',
        where: 'counters table',
        fields: ['counter (key id and period)', 'count', 'expiresAt'],
        retentionDays: 32,
        deletion: 'DynamoDB TTL one hour after the period ends',
      },
      ...(options.trailRetentionDays !== undefined
        ? [
            {
              what: 'audit trail of AWS API calls (admin actions, table and key access by principals)',
              where: 'CloudTrail bucket (Object Lock) and log group',
              fields: ['CloudTrail event records'],
              retentionDays: options.trailRetentionDays,
              deletion: `object lock then lifecycle expiry; the log group keeps ${LOG_RETENTION_DAYS} days`,
            },
          ]
        : []),
    ],
    neverStored: NEVER_STORED,
  };
}
