const DURATION_UNITS_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** `0`, or a whole number with a unit (`45s`, `90m`, `36h`, `7d`), in milliseconds; undefined for anything else. */
export function parseDuration(text: string): number | undefined {
  if (text === "0") return 0;
  const match = /^(\d+)([smhd])$/.exec(text);
  if (!match) return undefined;
  const value = Number(match[1]) * DURATION_UNITS_MS[match[2] as keyof typeof DURATION_UNITS_MS];
  return Number.isSafeInteger(value) ? value : undefined;
}

/** `ms` in the largest unit that divides it exactly, as `parseDuration` reads it back. */
export function formatDuration(ms: number): string {
  if (ms === 0) return "0";
  for (const [unit, size] of Object.entries(DURATION_UNITS_MS).reverse()) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
