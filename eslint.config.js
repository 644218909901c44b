// ESLint 9 flat config, run by `npm run lint` (part of `npm test`, so of CI).
// TypeScript: typescript-eslint's recommended rules, plus two type-aware rules that catch
// promises nobody waits for (they need type information, from tsconfig.test.json's project).
// Plain JavaScript (bench/*.mjs, bin/*.js): ESLint's recommended rules with Node's globals.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: ['dist/', 'target/', 'node_modules/', 'coverage/', 'test-artifacts/', 'bench/out/', 'crates/'],
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    extends: [js.configs.recommended],
    languageOptions: {
      ecmaVersion: 2023,
      sourceType: 'module',
      globals: { ...globals.node },
    },
  },
  {
    files: ['**/*.ts'],
    extends: [js.configs.recommended, ...tseslint.configs.recommended],
    languageOptions: {
      parserOptions: {
        project: ['./tsconfig.test.json'],
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
    },
  },
);
