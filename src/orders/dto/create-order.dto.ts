import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsIn,
  IsInt,
  IsOptional,
  Matches,
  Max,
  Min,
  ValidateNested,
} from 'class-validator';
import { IsText } from '../../common/validation/text-field';

export class OrderItemDto {
  @ApiProperty({ minLength: 1, maxLength: 64, example: 'TEA-001' })
  @IsText(1, 64)
  sku: string;

  @ApiProperty({ minLength: 1, maxLength: 128, example: 'Longjing tea 250g' })
  @IsText(1, 128)
  name: string;

  @ApiProperty({ type: 'integer', minimum: 1, maximum: 10_000, example: 2 })
  @IsInt()
  @Min(1)
  @Max(10_000)
  quantity: number;

  /** Integer fen. Strings and fractions are refused: money is never parsed from a float. */
  @ApiProperty({
    type: 'integer',
    minimum: 0,
    maximum: 2_147_483_647,
    description: 'Integer fen (1250 = 12.50 CNY); strings and fractions are refused.',
    example: 1250,
  })
  @IsInt()
  @Min(0)
  @Max(2_147_483_647)
  unitPriceFen: number;
}

export class CreateOrderDto {
  @ApiProperty({ pattern: '^[A-Za-z0-9_.:@-]{1,64}$', description: "The shop's buyer id.", example: 'u-1001' })
  @IsText(1, 64)
  @Matches(/^[A-Za-z0-9_.:@-]{1,64}$/, { message: 'buyerId must be 1-64 letters, digits or _.:@-' })
  buyerId: string;

  @ApiPropertyOptional({ enum: ['CNY'], default: 'CNY' })
  @IsOptional()
  @IsIn(['CNY'], { message: 'currency must be CNY' })
  currency?: 'CNY';

  @ApiProperty({
    type: [OrderItemDto],
    minItems: 1,
    maxItems: 100,
    description: 'The server computes the total, which must be between 1 and `ORDER_MAX_AMOUNT_FEN`.',
  })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(100)
  @ValidateNested({ each: true })
  @Type(() => OrderItemDto)
  items: OrderItemDto[];
}
