import { Ctx, Query, Resolver } from 'type-graphql';
import type { GraphQLContext } from '../../graphql/context.js';
import { OllamaModel } from './ollama-model.type.js';

@Resolver()
export class LlmResolver {
  @Query(() => [OllamaModel], {
    description: 'Models available on the Ollama server. SERVICE_UNAVAILABLE while it is down. VIEWER+.',
  })
  async models(@Ctx() { services }: GraphQLContext): Promise<OllamaModel[]> {
    const models = await services.ollama.listModels();
    return models.map((model) => ({
      name: model.name,
      size: model.size,
      family: model.details?.family ?? null,
      parameterSize: model.details?.parameter_size ?? null,
      quantization: model.details?.quantization_level ?? null,
      modifiedAt: model.modified_at ? new Date(model.modified_at) : null,
    }));
  }
}
