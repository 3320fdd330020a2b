// parquetjs-lite ships no type declarations; this covers the part tailwatch uses.
declare module 'parquetjs-lite' {
  export type FieldType = 'UTF8' | 'INT32' | 'INT64' | 'DOUBLE' | 'BOOLEAN' | 'DATE';
  export interface FieldDefinition { type: FieldType; optional?: boolean; compression?: 'UNCOMPRESSED' | 'GZIP' | 'SNAPPY' }
  export class ParquetSchema {
    constructor(fields: Record<string, FieldDefinition>);
  }
  export class ParquetWriter {
    static openStream(schema: ParquetSchema, stream: NodeJS.WritableStream, opts?: { useDataPageV2?: boolean; rowGroupSize?: number }): Promise<ParquetWriter>;
    appendRow(row: Record<string, unknown>): Promise<void>;
    close(): Promise<void>;
    setRowGroupSize(n: number): void;
  }
}
