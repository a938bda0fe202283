// `npm run fake-ollama`: a fake Ollama on port 11434 (or FAKE_OLLAMA_PORT) that streams deterministic
// replies at 20 ms a token, for trying Parley locally without a GPU. FAKE_OLLAMA_TOKEN_DELAY_MS,
// FAKE_OLLAMA_LOAD_DELAY_MS and FAKE_OLLAMA_MODELS (comma-separated) change its defaults.
import { startFakeOllama } from '../src/testing/fake-ollama.js';

function numberFrom(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) {
    console.error(`${name} must be a non-negative integer, got "${raw}"`);
    process.exit(1);
  }
  return value;
}

const models = process.env.FAKE_OLLAMA_MODELS?.split(',')
  .map((name) => name.trim())
  .filter(Boolean);
const fake = await startFakeOllama({
  port: numberFrom('FAKE_OLLAMA_PORT', 11434),
  tokenDelayMs: numberFrom('FAKE_OLLAMA_TOKEN_DELAY_MS', 20),
  loadDelayMs: numberFrom('FAKE_OLLAMA_LOAD_DELAY_MS', 0),
  ...(models && models.length > 0 ? { models } : {}),
});

console.log(`Fake Ollama listening on ${fake.url}`);
console.log(`Models: ${fake.behaviour.models.join(', ')}`);
console.log(`Point Parley at it:  OLLAMA_HOST=${fake.url} npm start`);
console.log(
  `Try it:              curl ${fake.url}/api/chat -d '{"model":"${fake.behaviour.models[0]}","messages":[{"role":"user","content":"hi"}]}'`,
);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void fake.close().then(() => process.exit(0));
  });
}
