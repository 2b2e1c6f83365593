import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Pool, PoolClient, QueryResultRow } from 'pg';
import { DataSource } from 'typeorm';
import { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
import { withAvailability } from '../common/db-errors';
import { DomainErrorCode } from '../common/domain.exception';
import { inTransaction } from './transaction';

/**
 * Raw SQL on dialogdb through the pool of TypeORM's DataSource: TypeORM owns the
 * connection's lifecycle and migrations, while queries skip entity hydration.
 */
@Injectable()
export class DialogDb {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  private get pool(): Pool {
    return (this.dataSource.driver as PostgresDriver).master as Pool;
  }

  async query<R extends QueryResultRow>(text: string, values: unknown[] = []): Promise<R[]> {
    return withAvailability(DomainErrorCode.DialogDbUnavailable, 'dialogdb', async () => {
      return (await this.pool.query<R>(text, values)).rows;
    });
  }

  async transaction<T>(fn: (client: PoolClient) => Promise<T>): Promise<T> {
    return withAvailability(DomainErrorCode.DialogDbUnavailable, 'dialogdb', () => inTransaction(this.pool, fn));
  }
}
