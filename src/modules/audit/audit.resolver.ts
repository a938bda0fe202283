import { IsOptional, IsUUID, MaxLength } from 'class-validator';
import { Args, ArgsType, Ctx, Field, Query, Resolver } from 'type-graphql';
import { connectionType, toConnection } from '../../common/connection.js';
import { PageArgs } from '../../common/pagination.js';
import type { GraphQLContext } from '../../graphql/context.js';
import { AuditEvent, AuditOutcome } from './audit-event.entity.js';

export const AuditEventConnection = connectionType(AuditEvent, 'AuditEvent');
export type AuditEventConnection = InstanceType<typeof AuditEventConnection>;

@ArgsType()
class AuditEventsArgs extends PageArgs {
  @Field(() => String, { nullable: true, description: 'Only events by this user id.' })
  @IsOptional()
  @IsUUID()
  actorId?: string;

  @Field(() => String, { nullable: true, description: 'Only this action, e.g. `Mutation.createAgent`.' })
  @IsOptional()
  @MaxLength(200)
  action?: string;

  @Field(() => AuditOutcome, { nullable: true, description: 'Only events with this outcome.' })
  @IsOptional()
  outcome?: AuditOutcome;

  @Field(() => Date, { nullable: true, description: 'Only events at or after this instant.' })
  @IsOptional()
  since?: Date;

  @Field(() => Date, { nullable: true, description: 'Only events before this instant.' })
  @IsOptional()
  until?: Date;

  @Field(() => String, {
    nullable: true,
    description: 'Only events of this request (its `x-correlation-id`).',
  })
  @IsOptional()
  @MaxLength(128)
  correlationId?: string;
}

@Resolver()
export class AuditResolver {
  @Query(() => AuditEventConnection, { description: 'The audit trail, newest first. ADMIN only.' })
  async auditEvents(
    @Args(() => AuditEventsArgs) { first, after, ...filter }: AuditEventsArgs,
    @Ctx() { em, services }: GraphQLContext,
  ): Promise<AuditEventConnection> {
    const page = await services.audit.list(em, { first, after }, filter);
    return toConnection(
      AuditEventConnection,
      page,
      (event) => services.audit.cursorOf(event),
      () => services.audit.count(em, filter),
    );
  }
}
