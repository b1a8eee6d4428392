import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';
import { builtinModules } from 'node:module';

// Workflow code is replayed by Temporal and must stay deterministic: no I/O, no Node built-ins, no
// database or provider SDKs. Those belong in activities/.
const forbiddenInWorkflows = [
  ...builtinModules,
  ...builtinModules.map((m) => `node:${m}`),
  '@prisma/client',
  '@prisma/adapter-pg',
  'pg',
  'openai',
  '@anthropic-ai/sdk',
  '@google/genai',
  'undici',
  'ollama',
  '@huggingface/hub',
  'pino',
  'fastify',
  '@temporalio/client',
  '@temporalio/worker',
  '@temporalio/activity',
];

export default tseslint.config(
  { ignores: ['node_modules/**', '.mms/**', '.tools/**', 'coverage/**', 'src/generated/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
  {
    // Tests break configurations and payloads on purpose; typing every malformed shape adds nothing.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: forbiddenInWorkflows.map((name) => ({
            name,
            message: 'workflows/ must be deterministic: move side effects into activities/.',
          })),
          patterns: [
            { group: ['**/src/db/**', '**/activities/**'], allowTypeImports: true, message: 'import activity types only.' },
          ],
        },
      ],
      'no-restricted-globals': ['error', 'process', 'setTimeout', 'setInterval'],
      'no-console': 'error',
    },
  },
);
