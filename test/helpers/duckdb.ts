/** DuckDB (an independent Parquet reader) for tests. */
import { DuckDBInstance } from '@duckdb/node-api';

export async function duck() {
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  return {
    /** Rows as plain JSON-like objects (BIGINT -> number, DATE -> "YYYY-MM-DD"). */
    async query(sql: string): Promise<Record<string, unknown>[]> {
      const reader = await conn.runAndReadAll(sql);
      return reader.getRowObjectsJson() as Record<string, unknown>[];
    },
    async columns(sql: string): Promise<{ name: string; type: string }[]> {
      const reader = await conn.runAndReadAll(`DESCRIBE ${sql}`);
      return (reader.getRowObjectsJson() as { column_name: string; column_type: string }[]).map((r) => ({ name: r.column_name, type: r.column_type }));
    },
    close(): void {
      conn.closeSync();
    },
  };
}
