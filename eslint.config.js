import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/*
 * Layering, kept by no-restricted-imports (the import strings are matched as written, relative paths included):
 *  - what runs on the key (services/, apps/) and the shared packages (common/, rootio/) never import builder/;
 *  - inside builder/, only cli.ts and commands/ import commands/ (commands use the library, never the reverse);
 *  - apps/ import nothing of services/ but the API contract, services/analysis/api.ts.
 * tests/unit/layering.test.ts proves each rule fails on a wrong import.
 */
const NOT_BUILDER = {
  regex: '(^|/)builder(/|$)',
  message: 'services/, apps/, common/ and rootio/ must not import builder/ (move what both need to common/)',
};
const NOT_COMMANDS = {
  regex: '(^|/)commands(/|$)',
  message: 'builder/ below commands/ must not import commands/ (move the shared code into the library)',
};
const ONLY_THE_CONTRACT = {
  regex: '(^|/)services/(?!analysis/api\\.ts$)',
  message: 'apps/ import only the service contract services/analysis/api.ts',
};
const restrict = (...patterns) => ({ '@typescript-eslint/no-restricted-imports': ['error', { patterns }] });

export default tseslint.config(
  { ignores: ['node_modules/', 'out/', 'dist/', '**/dist/', 'test-artifacts/', '.cache/', '**/*.generated.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { console: 'readonly', process: 'readonly', URL: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
    },
  },
  {
    files: ['**/*.mjs', '**/*.js'],
    languageOptions: {
      globals: { console: 'readonly', process: 'readonly', window: 'readonly', document: 'readonly' },
    },
  },
  { files: ['services/**', 'common/**', 'rootio/**'], rules: restrict(NOT_BUILDER) },
  { files: ['builder/**'], ignores: ['builder/cli.ts', 'builder/commands/**'], rules: restrict(NOT_COMMANDS) },
  { files: ['apps/**'], rules: restrict(NOT_BUILDER, ONLY_THE_CONTRACT) },
);
