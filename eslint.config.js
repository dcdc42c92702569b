import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { importBoundaries } from './eslint.import-boundaries.ts';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'coverage/', '.peers/', 'test/peers/**/target/', 'helm/', 'bench/tmp-*/'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['*.js', '*.cjs'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  ...importBoundaries,
  {
    files: ['src/**/*.ts', 'mappings/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: ['http', 'node:http'].map((name) => ({
            name,
            allowTypeImports: true,
            message:
              "An ES import of node:http loads Node's undici and http2 (about 13 MB) through its WebSocket getters: take what is needed from src/platform/node-http.ts.",
          })),
        },
      ],
    },
  },
  { files: ['**/*.js', '**/*.cjs'], ...tseslint.configs.disableTypeChecked },
  { files: ['**/*.cjs'], languageOptions: { globals: { module: 'writable', require: 'readonly' } } },
);
