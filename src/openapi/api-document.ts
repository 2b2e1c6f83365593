import { FastifyAdapter } from '@nestjs/platform-fastify';
import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { AppModule } from '../app.module';
import { ResolvedConfig } from '../config/app-config';

/** The OpenAPI document of a built application, as `/docs-json` serves it. */
export function createApiDocument(app: INestApplication): OpenAPIObject {
  return SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Sharded chat API')
      .setDescription('Dialogs in dialogdb, messages sharded by dialog id on a CRC-32 ring.')
      .setVersion('1')
      .addBearerAuth()
      .build(),
  );
}

// Never connected to: preview mode below instantiates no provider.
const NO_DATABASE = 'postgres://openapi@127.0.0.1:1/none';
const PREVIEW_CONFIG = { dialogDbUrl: NO_DATABASE, shards: [{ name: 'shard-0', url: NO_DATABASE }], spareShards: [], jwtSecret: 'unused' };

/**
 * The same document without any database, to generate the client from: Nest's preview mode
 * builds the module graph (controllers, routes, decorators) but creates no provider, so
 * nothing connects. The document depends only on the controllers, never on configuration.
 */
export async function buildApiDocument(): Promise<OpenAPIObject> {
  const app = await NestFactory.create(AppModule.forRoot(PREVIEW_CONFIG as unknown as ResolvedConfig), new FastifyAdapter(), {
    preview: true,
    logger: false,
  });
  try {
    return createApiDocument(app);
  } finally {
    await app.close();
  }
}
