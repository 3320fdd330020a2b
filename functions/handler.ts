/** Scheduled pipeline Lambda (placeholder until the walking skeleton lands). */
export async function handler(_event: unknown): Promise<{ status: string }> {
  return { status: 'not implemented' };
}
