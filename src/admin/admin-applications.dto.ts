import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsDate, IsIn, IsOptional, Matches, MaxLength } from 'class-validator';
import { IsText } from '../common/validation/text-field';
import { API_SCOPES, type ApiScope } from '../applications/api-key-secret';
import { APPLICATION_STATUSES, type ApplicationStatus } from '../applications/application.entity';

/** An origin as URL.origin writes it: lower-case host, no default port, no path; plain http only on loopback. */
const RETURN_ORIGIN = /^(https:\/\/[a-z0-9.-]+(:[0-9]{1,5})?|http:\/\/(localhost|127\.0\.0\.1)(:[0-9]{1,5})?)$/;

const trim = ({ value }: { value: unknown }): unknown => (typeof value === 'string' ? value.trim() : value);

export class CreateApplicationDto {
  @ApiProperty({ minLength: 1, maxLength: 64, example: 'Tea shop' })
  @Transform(trim)
  @IsText(1, 64)
  name: string;
}

export class CreateApiKeyDto {
  @ApiPropertyOptional({ minLength: 1, maxLength: 64, default: 'default', example: 'checkout 2026-12' })
  @IsOptional()
  @Transform(trim)
  @IsText(1, 64)
  name?: string;

  @ApiPropertyOptional({
    type: [String],
    enum: API_SCOPES,
    description: 'What the key may do; every scope when left out.',
    example: ['orders:write', 'orders:read', 'payments:read'],
  })
  @IsOptional()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(API_SCOPES.length)
  @IsIn(API_SCOPES, { each: true })
  scopes?: ApiScope[];

  @ApiPropertyOptional({
    type: String,
    format: 'date-time',
    description: 'When the key stops working; never when left out. Must be in the future.',
    example: '2027-12-31T00:00:00Z',
  })
  @IsOptional()
  @Type(() => Date)
  @IsDate()
  expiresAt?: Date;
}

export class SetApplicationStatusDto {
  @ApiProperty({ enum: APPLICATION_STATUSES, description: '`DISABLED` refuses every key of the application at once.' })
  @IsIn(APPLICATION_STATUSES)
  status: ApplicationStatus;
}

export class SetReturnOriginsDto {
  @ApiProperty({
    type: [String],
    description:
      "The origins (`https://host[:port]`) of the merchant pages the application's pay requests may name as " +
      '`returnUrl`; replaces the list. `http://` only for loopback hosts (development). An empty list refuses every ' +
      'return URL.',
    example: ['https://shop.example'],
    maxItems: 16,
  })
  @IsArray()
  @ArrayMaxSize(16)
  @Matches(RETURN_ORIGIN, {
    each: true,
    message: 'each return origin must be https://host[:port] (http:// only for localhost or 127.0.0.1), no path',
  })
  @MaxLength(60, { each: true, message: 'each return origin must be at most 60 characters' })
  origins: string[];
}

export class ApiKeyResponse {
  @ApiProperty({ example: 'ak_1b2c3d4e5f6a7b8c' }) keyId: string;
  @ApiProperty({ example: 'default' }) name: string;
  @ApiProperty({ type: [String], example: ['orders:write', 'orders:read'] }) scopes: string[];
  @ApiProperty({ type: String, nullable: true, format: 'date-time' }) expiresAt: string | null;
  @ApiProperty({ type: String, nullable: true, format: 'date-time' }) lastUsedAt: string | null;
  @ApiProperty({ type: String, nullable: true, format: 'date-time' }) revokedAt: string | null;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
}

export class NewApiKeyResponse {
  @ApiProperty({ type: ApiKeyResponse }) key: ApiKeyResponse;

  @ApiProperty({
    description: 'The secret, shown this once (only its hash is kept). Send it as `Authorization: Bearer <secret>`.',
    example: `pcsk_ak_1b2c3d4e5f6a7b8c_${'0'.repeat(64)}`,
  })
  secret: string;
}

export class ApplicationResponse {
  @ApiProperty({ example: 'app_3f9a0c1d2e4b5a6c' }) id: string;
  @ApiProperty({ example: 'Tea shop' }) name: string;
  @ApiProperty({ enum: APPLICATION_STATUSES }) status: ApplicationStatus;
  @ApiProperty({ type: [String], example: ['https://shop.example'] }) returnOrigins: string[];
  @ApiProperty({ format: 'date-time' }) createdAt: string;
  @ApiProperty({ format: 'date-time' }) updatedAt: string;
  @ApiProperty({ type: [ApiKeyResponse] }) keys: ApiKeyResponse[];
}
