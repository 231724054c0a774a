// Sizes carry their unit in the type: a sector count can never be passed
// where a byte count is expected.

declare const sectorsBrand: unique symbol;
declare const bytesBrand: unique symbol;
export type Sectors = number & { readonly [sectorsBrand]: true };
export type Bytes = number & { readonly [bytesBrand]: true };

/** GPT and ChromeOS images use 512-byte logical sectors. */
export const SECTOR_SIZE = 512 as Bytes;

export const sectors = (n: number) => n as Sectors;
export const bytes = (n: number) => n as Bytes;

export function toBytes(s: Sectors): Bytes {
  return (s * SECTOR_SIZE) as Bytes;
}

/** Whole sectors needed to hold n bytes. */
export function toSectorsCeil(b: Bytes): Sectors {
  return Math.ceil(b / SECTOR_SIZE) as Sectors;
}

export const MiB = 1024 * 1024;

export function alignUp<T extends number>(n: T, to: number): T {
  return (Math.ceil(n / to) * to) as T;
}

/** Parses a human size ("512M", "2G", "100MiB", "4096") into bytes. */
export function parseSize(text: string): Bytes | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?\s*$/i.exec(text);
  if (!m) return null;
  const power = { "": 0, K: 1, M: 2, G: 3, T: 4 }[(m[2] ?? "").toUpperCase() as "" | "K" | "M" | "G" | "T"];
  return Math.round(Number(m[1]) * 1024 ** power) as Bytes;
}

export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}
