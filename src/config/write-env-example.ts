import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import { renderEnvExample } from './env-example';

/** `npm run config:docs`: rewrites `.env.example` (in the current directory) from the Environment schema. */
writeFileSync('.env.example', renderEnvExample());
console.log('Wrote .env.example from src/config/environment.ts');
