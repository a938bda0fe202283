import type { CodegenConfig } from '@graphql-codegen/cli';

/** Typed documents for the SDK (and the tests) from schema.graphql and src/sdk/operations. */
const config: CodegenConfig = {
  schema: 'schema.graphql',
  documents: ['src/sdk/operations/**/*.graphql'],
  emitLegacyCommonJSImports: false,
  generates: {
    'src/sdk/generated/': {
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: {
        importExtension: '.js',
        useTypeImports: true,
        enumsAsTypes: true,
        scalars: { DateTimeISO: 'string', JSONObject: 'Record<string, unknown>' },
        strictScalars: true,
      },
    },
  },
};

export default config;
