import tseslint from 'typescript-eslint';

/**
 * Dependencies point inward: runtime → jobs → connectors / mediawiki → core. A layer may import
 * only the layers inside it; the composition (concrete clients, config, CLI) lives in runtime.
 */
const LAYERS = [
  { files: ['src/core/**/*.ts'], outer: ['runtime', 'jobs', 'connectors', 'mediawiki'] },
  { files: ['src/connectors/**/*.ts'], outer: ['runtime', 'jobs', 'mediawiki'] },
  { files: ['src/mediawiki/**/*.ts'], outer: ['runtime', 'jobs', 'connectors'] },
  { files: ['src/jobs/**/*.ts'], outer: ['runtime'] },
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.cache/**'] },
  ...tseslint.configs.recommended,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // node:test's describe/it/test return promises that the runner itself awaits.
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite'] }] },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  ...LAYERS.map(({ files, outer }) => ({
    files,
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: outer.map((layer) => `**/${layer}/**`),
              message: `dependencies point inward (runtime → jobs → connectors / mediawiki → core): ${files[0]} may not import ${outer.join(', ')}`,
            },
          ],
        },
      ],
    },
  })),
);
