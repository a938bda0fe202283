import { registerEnumType } from 'type-graphql';

export enum CompressionInputKind {
  TEXT = 'TEXT',
  BASE64 = 'BASE64',
  CORPUS = 'CORPUS',
}
registerEnumType(CompressionInputKind, {
  name: 'CompressionInputKind',
  description: 'Where a run’s data came from: inline text, inline base64, or a generated corpus.',
});

export enum CorpusKind {
  TEXT = 'TEXT',
  JSON = 'JSON',
  LOGS = 'LOGS',
  RANDOM = 'RANDOM',
}
registerEnumType(CorpusKind, {
  name: 'CorpusKind',
  description:
    'Built-in deterministic data: English-like TEXT, JSON records, LOGS lines, or incompressible RANDOM bytes.',
});
