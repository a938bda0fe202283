import { Field, Float, ObjectType } from 'type-graphql';

@ObjectType({ description: 'A model the Ollama server has pulled (from `/api/tags`).' })
export class OllamaModel {
  @Field(() => String, { description: 'Name with tag, as agents refer to it, e.g. `llama3.2:3b`.' })
  name!: string;

  @Field(() => Float, { description: 'Size on disk, bytes.' })
  size!: number;

  @Field(() => String, { nullable: true, description: 'Model family, e.g. `llama`.' })
  family!: string | null;

  @Field(() => String, { nullable: true, description: 'Parameter count as Ollama reports it, e.g. `3.2B`.' })
  parameterSize!: string | null;

  @Field(() => String, { nullable: true, description: 'Quantisation, e.g. `Q4_K_M`.' })
  quantization!: string | null;

  @Field(() => Date, { nullable: true, description: 'When it was last pulled or changed.' })
  modifiedAt!: Date | null;
}
