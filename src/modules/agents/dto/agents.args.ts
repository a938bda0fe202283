import { IsOptional, IsUUID, MaxLength, ValidateNested } from 'class-validator';
import { ArgsType, Field, InputType, registerEnumType } from 'type-graphql';
import { PageArgs, SortDirection } from '../../../common/pagination.js';
import { CompressionAlgorithm } from '../../compression/compression-algorithm.js';
import { AgentStatus } from '../agent.entity.js';

export enum AgentOrderField {
  CREATED_AT = 'CREATED_AT',
  UPDATED_AT = 'UPDATED_AT',
  NAME = 'NAME',
}
registerEnumType(AgentOrderField, { name: 'AgentOrderField', description: 'What to sort agents by.' });

@InputType({ description: 'Which agents to return; all given conditions must hold.' })
export class AgentFilter {
  @Field(() => AgentStatus, { nullable: true, description: 'Only agents with this status.' })
  @IsOptional()
  status?: AgentStatus;

  @Field(() => String, { nullable: true, description: 'Only agents on this exact model.' })
  @IsOptional()
  @MaxLength(200)
  model?: string;

  @Field(() => String, { nullable: true, description: 'Only agents owned by this user id.' })
  @IsOptional()
  @IsUUID()
  ownerId?: string;

  @Field(() => String, {
    nullable: true,
    description: 'Only agents whose name contains this text (any case).',
  })
  @IsOptional()
  @MaxLength(100)
  nameContains?: string;

  @Field(() => CompressionAlgorithm, {
    nullable: true,
    description: 'Only agents that support this algorithm.',
  })
  @IsOptional()
  supportsAlgorithm?: CompressionAlgorithm;
}

@InputType({ description: 'Sort order for agents; ties are broken by id.' })
export class AgentOrder {
  @Field(() => AgentOrderField, { defaultValue: AgentOrderField.CREATED_AT })
  field: AgentOrderField = AgentOrderField.CREATED_AT;

  @Field(() => SortDirection, { defaultValue: SortDirection.DESC })
  direction: SortDirection = SortDirection.DESC;
}

@ArgsType()
export class AgentsArgs extends PageArgs {
  @Field(() => AgentFilter, { nullable: true, description: 'Narrow the list.' })
  @IsOptional()
  @ValidateNested()
  filter?: AgentFilter;

  @Field(() => AgentOrder, { nullable: true, description: 'Default: newest first.' })
  @IsOptional()
  @ValidateNested()
  orderBy?: AgentOrder;
}
