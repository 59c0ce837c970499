// Lint: typescript-eslint's recommended rules, plus the layering rules of ARCHITECTURE.md.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'release/**', 'node_modules/**', 'test-results/**', 'playwright-report/**'] },
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
    // shared/ is used by both sides: nothing from Node, the DOM or Electron.
    files: ['shared/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['node:*', 'electron', 'react', '../electron/*', '../renderer/*'] }],
    },
  },
  {
    // The engine is plain Node: no Electron, no hosts above it.
    files: ['electron/engine/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['electron', '../main/*', '../web/*', '../cli/*', '../host/*', '../../renderer/*'] }],
    },
  },
  {
    // The renderer is sandboxed: only the contract, never Node or raw IPC.
    files: ['renderer/**/*.ts', 'renderer/**/*.tsx'],
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      'no-restricted-imports': ['error', { patterns: ['node:*', 'electron', '../electron/*', '../../electron/*'] }],
    },
  },
  {
    // The renderer's unit tests run under Node's test runner (bundled by scripts/build-web.mjs).
    files: ['renderer/**/*.test.ts', 'renderer/**/*.test.tsx'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['electron', '../electron/*', '../../electron/*'] }],
    },
  },
  {
    // Raw IPC only inside the typed wrappers.
    files: ['electron/**/*.ts'],
    ignores: ['electron/main/ipc-router.ts', 'electron/preload/**'],
    rules: {
      'no-restricted-syntax': [
        'error',
        { selector: "ImportSpecifier[imported.name='ipcMain']", message: 'Use the typed IPC router (electron/main/ipc-router.ts).' },
        { selector: "ImportSpecifier[imported.name='ipcRenderer']", message: 'Only the preload talks to ipcRenderer.' },
      ],
    },
  },
);
