// Streaming XXH64 (seed 0), the hash a zstd frame's Content_Checksum holds the low 4 bytes of.
// Needed because fzstd, the last-resort in-process zstd decoder, does not check it. 64-bit
// arithmetic is done on 32-bit halves with 16-bit-limb multiplies: BigInt is ~10× slower.

// Primes as [high, low] 32-bit halves.
const P1H = 0x9e3779b1, P1L = 0x85ebca87;
const P2H = 0xc2b2ae3d, P2L = 0x27d4eb4f;
const P3H = 0x165667b1, P3L = 0x9e3779f9;
const P4H = 0x85ebca77, P4L = 0xc2b2ae63;
const P5H = 0x27d4eb2f, P5L = 0x165667c5;

// Results of the helpers below (avoids allocating a pair per operation in the hot loop).
let rH = 0;
let rL = 0;

/** (aH:aL * bH:bL) mod 2^64 into rH:rL: the full 64-bit aL*bL from 16-bit limbs (every partial
 *  sum stays below 2^32, so `>>>` is exact) plus the cross terms' low halves from Math.imul. */
function mul(aH: number, aL: number, bH: number, bL: number): void {
  const a0 = aL & 0xffff, a1 = aL >>> 16, b0 = bL & 0xffff, b1 = bL >>> 16;
  const m1 = a1 * b0 + ((a0 * b0) >>> 16);
  const m2 = a0 * b1 + (m1 & 0xffff);
  rH = (a1 * b1 + (m1 >>> 16) + (m2 >>> 16) + Math.imul(aH, bL) + Math.imul(aL, bH)) >>> 0;
  rL = Math.imul(aL, bL) >>> 0;
}

function add(aH: number, aL: number, bH: number, bL: number): void {
  const lo = aL + bL;
  rL = lo >>> 0;
  rH = (aH + bH + (lo > 0xffffffff ? 1 : 0)) >>> 0;
}

/** Rotate left by 0 < r < 32. */
function rotl(h: number, l: number, r: number): void {
  rH = ((h << r) | (l >>> (32 - r))) >>> 0;
  rL = ((l << r) | (h >>> (32 - r))) >>> 0;
}

/** acc = rotl(acc + input * P2, 31) * P1 */
function round(accH: number, accL: number, inH: number, inL: number): void {
  mul(inH, inL, P2H, P2L);
  add(accH, accL, rH, rL);
  rotl(rH, rL, 31);
  mul(rH, rL, P1H, P1L);
}

/** acc = (acc ^ round(0, val)) * P1 + P4 */
function merge(accH: number, accL: number, valH: number, valL: number): void {
  round(0, 0, valH, valL);
  mul((accH ^ rH) >>> 0, (accL ^ rL) >>> 0, P1H, P1L);
  add(rH, rL, P4H, P4L);
}

const P1L0 = P1L & 0xffff, P1L1 = P1L >>> 16, P2L0 = P2L & 0xffff, P2L1 = P2L >>> 16;

const u32 = (b: Uint8Array, p: number): number => (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0;

/** The lanes' rounds over data[p .. end + 8), 8 bytes at a time, inlined (calls and shared
 *  result slots cost half the speed here). */
function stripes(lanes: Uint32Array, data: Uint8Array, p: number, end: number): void {
  let v1h = lanes[0]!, v1l = lanes[1]!, v2h = lanes[2]!, v2l = lanes[3]!;
  let v3h = lanes[4]!, v3l = lanes[5]!, v4h = lanes[6]!, v4l = lanes[7]!;
  for (; p <= end; p += 8) {
    const iL = u32(data, p), iH = u32(data, p + 4);
    // t = v1 + input * P2
    let a0 = iL & 0xffff, a1 = iL >>> 16;
    let m1 = a1 * P2L0 + ((a0 * P2L0) >>> 16);
    let m2 = a0 * P2L1 + (m1 & 0xffff);
    let tH = a1 * P2L1 + (m1 >>> 16) + (m2 >>> 16) + Math.imul(iH, P2L) + Math.imul(iL, P2H);
    let tL = (Math.imul(iL, P2L) >>> 0) + v1l;
    tH = (tH + v1h + (tL > 0xffffffff ? 1 : 0)) >>> 0;
    tL >>>= 0;
    // rotl 31
    const sH = ((tH << 31) | (tL >>> 1)) >>> 0, sL = ((tL << 31) | (tH >>> 1)) >>> 0;
    // * P1
    a0 = sL & 0xffff;
    a1 = sL >>> 16;
    m1 = a1 * P1L0 + ((a0 * P1L0) >>> 16);
    m2 = a0 * P1L1 + (m1 & 0xffff);
    const nH = (a1 * P1L1 + (m1 >>> 16) + (m2 >>> 16) + Math.imul(sH, P1L) + Math.imul(sL, P1H)) >>> 0;
    const nL = Math.imul(sL, P1L) >>> 0;
    // Rotate the lanes so the next 8 bytes go to the next lane.
    v1h = v2h; v1l = v2l; v2h = v3h; v2l = v3l; v3h = v4h; v3l = v4l; v4h = nH; v4l = nL;
  }
  lanes[0] = v1h; lanes[1] = v1l; lanes[2] = v2h; lanes[3] = v2l;
  lanes[4] = v3h; lanes[5] = v3l; lanes[6] = v4h; lanes[7] = v4l;
}

export class Xxh64 {
  // Lanes v1..v4 as high, low halves; for seed 0 they start at P1+P2, P2, 0, -P1. A typed array,
  // not eight fields: fields holding both small and large numbers change shape and deoptimise.
  private readonly lanes = Uint32Array.of(0x60ea27ee, 0xadc0b5d6, P2H, P2L, 0, 0, 0x61c8864e, 0x7a143579);
  private readonly mem = new Uint8Array(32);
  private memSize = 0;
  private total = 0;

  update(data: Uint8Array): this {
    const len = data.length;
    this.total += len;
    let p = 0;
    if (this.memSize + len < 32) {
      this.mem.set(data, this.memSize);
      this.memSize += len;
      return this;
    }
    if (this.memSize > 0) {
      p = 32 - this.memSize;
      this.mem.set(data.subarray(0, p), this.memSize);
      stripes(this.lanes, this.mem, 0, 24);
      this.memSize = 0;
    }
    // Whole stripes only: the lanes end up back in place after each 32 bytes.
    const end = p + Math.floor((len - p) / 32) * 32 - 8;
    if (p <= end) stripes(this.lanes, data, p, end);
    p = end + 8;
    if (p < len) {
      this.mem.set(data.subarray(p), 0);
      this.memSize = len - p;
    }
    return this;
  }

  /** The hash as [high, low] 32-bit halves. Does not change the state. */
  digest(): [number, number] {
    const v = this.lanes;
    const v1h = v[0]!, v1l = v[1]!, v2h = v[2]!, v2l = v[3]!, v3h = v[4]!, v3l = v[5]!, v4h = v[6]!, v4l = v[7]!;
    let h: number, l: number;
    if (this.total >= 32) {
      rotl(v1h, v1l, 1);
      let th = rH, tl = rL;
      rotl(v2h, v2l, 7);
      add(th, tl, rH, rL);
      th = rH; tl = rL;
      rotl(v3h, v3l, 12);
      add(th, tl, rH, rL);
      th = rH; tl = rL;
      rotl(v4h, v4l, 18);
      add(th, tl, rH, rL);
      merge(rH, rL, v1h, v1l);
      merge(rH, rL, v2h, v2l);
      merge(rH, rL, v3h, v3l);
      merge(rH, rL, v4h, v4l);
      h = rH; l = rL;
    } else {
      h = P5H; l = P5L;
    }
    // + total length (as 64 bits)
    add(h, l, Math.floor(this.total / 0x100000000) >>> 0, this.total >>> 0);
    h = rH; l = rL;
    const m = this.mem;
    let p = 0;
    for (; p + 8 <= this.memSize; p += 8) {
      round(0, 0, u32(m, p + 4), u32(m, p));
      rotl((h ^ rH) >>> 0, (l ^ rL) >>> 0, 27);
      mul(rH, rL, P1H, P1L);
      add(rH, rL, P4H, P4L);
      h = rH; l = rL;
    }
    if (p + 4 <= this.memSize) {
      mul(0, u32(m, p), P1H, P1L);
      rotl((h ^ rH) >>> 0, (l ^ rL) >>> 0, 23);
      mul(rH, rL, P2H, P2L);
      add(rH, rL, P3H, P3L);
      h = rH; l = rL;
      p += 4;
    }
    for (; p < this.memSize; p++) {
      mul(0, m[p]!, P5H, P5L);
      rotl((h ^ rH) >>> 0, (l ^ rL) >>> 0, 11);
      mul(rH, rL, P1H, P1L);
      h = rH; l = rL;
    }
    // Avalanche: h ^= h >> 33; h *= P2; h ^= h >> 29; h *= P3; h ^= h >> 32.
    l = (l ^ (h >>> 1)) >>> 0;
    mul(h, l, P2H, P2L);
    h = rH; l = rL;
    l = (l ^ ((l >>> 29) | (h << 3))) >>> 0;
    h = (h ^ (h >>> 29)) >>> 0;
    mul(h, l, P3H, P3L);
    h = rH; l = rL;
    l = (l ^ h) >>> 0;
    return [h, l];
  }

  hex(): string {
    const [h, l] = this.digest();
    return h.toString(16).padStart(8, '0') + l.toString(16).padStart(8, '0');
  }
}

// Give every path of update() type feedback before a big input gets its loop compiled on the
// stack; otherwise that code bails out at the untried paths after the loop.
new Xxh64().update(new Uint8Array(100)).update(Buffer.alloc(100)).update(new Uint8Array(3)).digest();
