import { Global, Module } from '@nestjs/common';
import { ConfigModule as NestConfigModule } from '@nestjs/config';
import { AppConfig } from './app-config';
import { validateEnvironment } from './environment';

@Global()
@Module({
  imports: [
    NestConfigModule.forRoot({
      // A .env next to package.json is optional; real environment variables win over it.
      envFilePath: '.env',
      validate: (raw) => ({ ...validateEnvironment(raw) }),
    }),
  ],
  providers: [AppConfig],
  exports: [AppConfig],
})
export class ConfigModule {}
