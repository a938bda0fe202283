/** Limits shared by the create and update inputs (and named in their descriptions). */
export const AGENT_LIMITS = {
  nameMax: 100,
  descriptionMax: 2_000,
  modelMax: 200,
  systemPromptMax: 32_000,
  temperatureMax: 2,
} as const;

/** Ollama model names: `name[:tag]`, optionally with a namespace or registry host. */
export const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._\-/:]*$/;
