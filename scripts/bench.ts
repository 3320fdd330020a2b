export async function bench(_argv: string[]): Promise<number> { process.stderr.write("bench: not yet implemented\n"); return 1; }
