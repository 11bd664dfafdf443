// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'scripts/**', 'eslint.config.js', '.dependency-cruiser.cjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { project: './tsconfig.test.json', tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      'no-restricted-imports': ['error', { patterns: [] }],
    },
  },
  {
    // Layering (issue 9): these folders do no I/O of their own; they take ports (src/contract) and the
    // composition root (src/daemon.ts, src/daemon/, src/cli/) hands them adapters. Type imports count too.
    // Import cycles between folders are checked by dependency-cruiser (.dependency-cruiser.cjs).
    files: ['src/{pipeline,contract,train,model,learn,http,replay,eval,csv,explain}/**/*.ts'],
    ignores: [
      'src/replay/learn.ts', // until the model loader lands (issue 9)
    ],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/adapters/**', 'mqtt', 'mqtt/*', 'better-sqlite3', 'better-sqlite3/*', 'onnxruntime-node', 'onnxruntime-node/*', 'aedes', 'aedes/*'],
              message: 'this folder does no I/O: take a port from src/contract instead, and let the composition root pass the adapter in',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/unbound-method': 'off',
    },
  },
);
