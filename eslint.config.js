import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'coverage/', '.parley/', 'node_modules/', 'src/sdk/generated/', 'migrations/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
      // Only config/config.ts reads the environment.
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'Read configuration through src/config/config.ts.' },
      ],
    },
  },
  {
    files: [
      'src/config/config.ts',
      'src/mikro-orm.config.ts',
      'scripts/**',
      'test/**',
      'bench/**',
      '*.config.ts',
      'codegen.ts',
    ],
    rules: { 'no-restricted-properties': 'off' },
  },
);
