// FAT timestamps: local time, dates from 1980 to 2107, times in 2-second steps (creation time
// adds hundredths). Dates outside the range are clamped rather than wrapped.

export interface FatStamp {
  date: number;
  time: number;
  /** Creation time's extra 10 ms units (0..199). */
  tenths: number;
}

export function fatStamp(when: Date): FatStamp {
  const year = when.getFullYear();
  if (year < 1980) return { date: (0 << 9) | (1 << 5) | 1, time: 0, tenths: 0 };
  if (year > 2107) return { date: (127 << 9) | (12 << 5) | 31, time: (23 << 11) | (59 << 5) | 29, tenths: 199 };
  const seconds = when.getSeconds();
  return {
    date: ((year - 1980) << 9) | ((when.getMonth() + 1) << 5) | when.getDate(),
    time: (when.getHours() << 11) | (when.getMinutes() << 5) | (seconds >> 1),
    tenths: (seconds & 1) * 100 + Math.floor(when.getMilliseconds() / 10),
  };
}

/** The Date a FAT date and time stand for, or undefined when the date is 0 (never set) or invalid. */
export function fromFatStamp(date: number, time: number): Date | undefined {
  const month = (date >> 5) & 0x0f;
  const day = date & 0x1f;
  if (date === 0 || month < 1 || month > 12 || day < 1) return undefined;
  return new Date(1980 + (date >> 9), month - 1, day, time >> 11, (time >> 5) & 0x3f, (time & 0x1f) * 2);
}
