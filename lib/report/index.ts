/** The leadership report: rendering (HTML, text, charts, CSV) and the MIME message. */
export { renderReport } from './render.js';
export { buildReportEmail, buildFailureNotice, EmailTooLargeError, SES_MAX_MESSAGE_BYTES } from './email.js';
export type { EmailOptions, FailureNoticeOptions } from './email.js';
export { csvCell, escapeHtml, toCsv } from './format.js';
export { NO_LOSS_LINE } from './content.js';
export { ReportFontError, fontFiles } from './charts.js';
export { HTML_NOTE_MARKER, resolveImages, pngDataUrl } from './html.js';
export { parseReportInput, reportInputSchema, ReportInputError } from './types.js';
export type { ReportInput, RenderedReport, ReportImage, ReportAttachment, TooSmallRow, QualityInfo, ModelInfo, CohortPeriod, MixReportNote } from './types.js';
