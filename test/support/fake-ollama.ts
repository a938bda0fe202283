export * from '../../src/testing/fake-ollama.js';
