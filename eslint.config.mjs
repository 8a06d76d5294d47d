// typescript-eslint with type information: above all no-floating-promises (streams and background
// usage writes must never drop a promise) and no-misused-promises.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', 'cdk.out/**', 'bench/results/**', '**/*.js', '**/*.mjs'] },
  ...tseslint.configs.recommended,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
  {
    // The dependency direction: providers import core, never the reverse; core imports no host,
    // store, admin code, AWS SDK or node:http. Hosts compose everything.
    files: ['lambda/core/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: ['node:http', 'node:https', 'node:net', 'node:fs', 'http', 'https', 'net', 'fs', 'aws-lambda'].map((name) => ({
            name,
            message: 'lambda/core stays pure: node:http, files and the Lambda runtime belong in hosts and stores.',
          })),
          patterns: [
            { group: ['**/providers', '**/providers/**', '**/hosts/**', '**/stores/**', '**/admin/**'], message: 'lambda/core knows only its ports: providers, hosts, stores and admin code plug into it, never the reverse.' },
            { group: ['@aws-sdk/*', '@smithy/*'], message: 'lambda/core stays pure: AWS belongs in hosts and stores.' },
          ],
        },
      ],
    },
  },
  {
    files: ['lambda/providers/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['**/hosts/**', '**/stores/**', '**/admin/**'], message: 'A provider type imports only core and lambda/providers/shared.' }] },
      ],
    },
  },
);
