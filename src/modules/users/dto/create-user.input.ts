import { IsEmail, MaxLength, MinLength } from 'class-validator';
import { Field, InputType } from 'type-graphql';
import { Role } from '../role.js';

@InputType({ description: 'A new user.' })
export class CreateUserInput {
  @Field(() => String, { description: 'Sign-in email; stored lower-case, must be unique.' })
  @IsEmail({}, { message: 'must be an email address' })
  @MaxLength(254)
  email!: string;

  @Field(() => String, { description: 'At least 12 characters.' })
  @MinLength(12)
  @MaxLength(256)
  password!: string;

  @Field(() => Role, { defaultValue: Role.VIEWER, description: 'Defaults to VIEWER.' })
  role: Role = Role.VIEWER;
}
