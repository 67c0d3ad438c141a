import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Length,
  Matches,
  Max,
  Min,
  ValidateNested,
} from 'class-validator';

export class OrderItemDto {
  @IsString()
  @Length(1, 64)
  sku: string;

  @IsString()
  @Length(1, 128)
  name: string;

  @IsInt()
  @Min(1)
  @Max(10_000)
  quantity: number;

  /** Integer fen. Strings and fractions are refused: money is never parsed from a float. */
  @IsInt()
  @Min(0)
  @Max(2_147_483_647)
  unitPriceFen: number;
}

export class CreateOrderDto {
  @IsString()
  @Matches(/^[A-Za-z0-9_.:@-]{1,64}$/, { message: 'buyerId must be 1-64 letters, digits or _.:@-' })
  buyerId: string;

  @IsOptional()
  @IsIn(['CNY'], { message: 'currency must be CNY' })
  currency?: 'CNY';

  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(100)
  @ValidateNested({ each: true })
  @Type(() => OrderItemDto)
  items: OrderItemDto[];
}
