import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AppConfig } from '../config/app-config';
import { ensureDatabase } from './ensure-database';
import { dataSourceOptions } from './typeorm-options';

@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [AppConfig],
      useFactory: async (config: AppConfig) => {
        if (config.database.migrateOnStart) await ensureDatabase(config.database);
        // Every module's own entities (TypeOrmModule.forFeature), none listed here.
        return { ...dataSourceOptions(config.database), autoLoadEntities: true, retryAttempts: 5, retryDelay: 1000 };
      },
    }),
  ],
})
export class DatabaseModule {}
