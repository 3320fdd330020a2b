/**
 * What happens to each CSV data record once the columns are known: a malformed record or one with
 * the wrong field count is rejected whole, a plain one is parsed from its bytes in place
 * (RowBuilder.processBytes), anything else from its field strings. Shared by the main thread's
 * reader (index.ts) and the parse workers (parse-worker.ts), so both read a record the same way.
 */
import { ByteCsvSplitter, type CsvSplitter } from './csv.js';
import { ROW_REJECTED, type RowBuilder } from './rows.js';

/** The columns of a CSV file, resolved from its header (or the config's indices). */
export interface CsvColumns {
  /** Column of each slot, -1 when unmapped. */
  cols: number[];
  /** Fields a record must have (the header's or the first row's count). */
  expected: number;
  /** Column label per slot for reject messages (header name or index). */
  labels: (string | null)[];
}

export function csvRecordHandler(builder: RowBuilder, columns: CsvColumns, tick?: () => void): (s: CsvSplitter | ByteCsvSplitter) => void {
  const { cols, expected } = columns;
  const colOf = Int32Array.from(cols);
  const slotsMapped = cols.map((c, slot) => (c >= 0 ? slot : -1)).filter((s) => s >= 0);
  const vals = builder.vals;
  for (let s = 0; s < vals.length; s++) vals[s] = undefined;
  return (s) => {
    if (s.error) {
      builder.rejectRecord(s.recLine, null, `malformed CSV: ${s.error}`, s.raw());
    } else if (s.n !== expected) {
      builder.rejectRecord(s.recLine, null, `wrong field count: expected ${expected} fields, found ${s.n}`, s.raw());
    } else if (s instanceof ByteCsvSplitter && s.slowFields === null) {
      if (builder.processBytes(s.buf, s.starts, s.ends, colOf) === ROW_REJECTED) builder.emitReject(s.recLine, s.raw());
    } else {
      for (let k = 0; k < slotsMapped.length; k++) {
        const slot = slotsMapped[k];
        vals[slot] = s.field(cols[slot]);
      }
      if (builder.process() === ROW_REJECTED) builder.emitReject(s.recLine, s.raw());
    }
    if (tick !== undefined && (builder.counts.read & 0x3fff) === 0) tick();
  };
}
