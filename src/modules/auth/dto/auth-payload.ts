import { Field, ObjectType } from 'type-graphql';
import { User } from '../../users/user.entity.js';

@ObjectType({
  description: 'A signed-in session: a short-lived access token and a single-use refresh token.',
})
export class AuthPayload {
  @Field(() => String, {
    description: 'Send as `Authorization: Bearer <accessToken>` (or in graphql-ws `connectionParams`).',
  })
  accessToken!: string;

  @Field(() => Date, { description: 'When the access token stops working; refresh before then.' })
  accessTokenExpiresAt!: Date;

  @Field(() => String, {
    description: 'Single use: pass to `refreshToken` to get a new pair. Keep it secret.',
  })
  refreshToken!: string;

  @Field(() => Date, { description: 'When the refresh token expires.' })
  refreshTokenExpiresAt!: Date;

  @Field(() => User, { description: 'The signed-in user.' })
  user!: User;
}
