import { MaxLength, MinLength } from 'class-validator';
import { ArgsType, Field } from 'type-graphql';

@ArgsType()
export class LoginArgs {
  @Field(() => String, { description: 'The account email.' })
  @MinLength(3)
  @MaxLength(254)
  email!: string;

  @Field(() => String, { description: 'The account password.' })
  @MinLength(1)
  @MaxLength(256)
  password!: string;
}

@ArgsType()
export class RefreshTokenArgs {
  @Field(() => String, { description: 'The refresh token from `login` or the last `refreshToken`.' })
  @MinLength(1)
  @MaxLength(512)
  token!: string;
}
