import { registerEnumType } from 'type-graphql';

export enum CompressionAlgorithm {
  GZIP = 'GZIP',
  DEFLATE = 'DEFLATE',
  BROTLI = 'BROTLI',
  ZSTD = 'ZSTD',
}

registerEnumType(CompressionAlgorithm, {
  name: 'CompressionAlgorithm',
  description: 'A compression algorithm Parley can benchmark.',
});
