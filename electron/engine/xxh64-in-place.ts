// XXH64 (seed 0) of bytes that already live in the pool's shared WebAssembly.Memory, hashed where
// they lie. xxhash-wasm first copies its input into a memory of its own, and a copy out of shared
// memory is slow in V8: in readback that copy took 59 ms per GiB on the main thread next to 71 ms
// of hashing. This module imports the pool's memory instead, so a digest is one pass over the
// bytes. The module is assembled here from its instructions (a few hundred bytes, no build step,
// nothing native); xxh64-in-place.test.ts checks it against xxhash-wasm on every tail length.

const P1 = 0x9e3779b185ebca87n;
const P2 = 0xc2b2ae3d27d4eb4fn;
const P3 = 0x165667b19e3779f9n;
const P4 = 0x85ebca77c2b2ae63n;
const P5 = 0x27d4eb2f165667c5n;

// Opcodes used below (WebAssembly 1.0 binary format).
const op = {
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  else: 0x05,
  end: 0x0b,
  br: 0x0c,
  brIf: 0x0d,
  get: 0x20,
  set: 0x21,
  i32Const: 0x41,
  i64Const: 0x42,
  i64Load: 0x29,
  i64Load8U: 0x31,
  i64Load32U: 0x35,
  i32GeU: 0x4f,
  i32GtU: 0x4b,
  i32LeU: 0x4d,
  i32LtU: 0x49,
  i32Add: 0x6a,
  i32Sub: 0x6b,
  i64Add: 0x7c,
  i64Mul: 0x7e,
  i64Xor: 0x85,
  i64ShrU: 0x88,
  i64Rotl: 0x89,
  i64ExtendI32U: 0xad,
} as const;
const VOID = 0x40;

function uleb(value: number): number[] {
  const out: number[] = [];
  do {
    let byte = value & 0x7f;
    value >>>= 7;
    if (value !== 0) byte |= 0x80;
    out.push(byte);
  } while (value !== 0);
  return out;
}

/** Signed LEB128 of a 64-bit value given as an unsigned BigInt. */
function sleb64(value: bigint): number[] {
  let v = BigInt.asIntN(64, value);
  const out: number[] = [];
  for (;;) {
    const byte = Number(v & 0x7fn);
    v >>= 7n;
    const done = (v === 0n && (byte & 0x40) === 0) || (v === -1n && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

const i64 = (value: bigint) => [op.i64Const, ...sleb64(value)];
const i32 = (value: number) => [op.i32Const, ...sleb64(BigInt(value))];
const get = (local: number) => [op.get, local];
const set = (local: number) => [op.set, local];
const load64 = (offset: number) => [op.i64Load, 3, ...uleb(offset)];

// Locals: 0 p (i32), 1 len (i32), 2 end (i32), 3 limit (i32), 4..7 v1..v4 (i64), 8 h (i64).
const [p, len, end, limit, h] = [0, 1, 2, 3, 8];

/** acc = rotl(acc + input * P2, 31) * P1, with `input` an expression leaving an i64. */
const round = (acc: number, input: number[]) => [...get(acc), ...input, ...i64(P2), op.i64Mul, op.i64Add, ...i64(31n), op.i64Rotl, ...i64(P1), op.i64Mul, ...set(acc)];
/** round(0, input) = rotl(input * P2, 31) * P1, left on the stack. */
const round0 = (input: number[]) => [...input, ...i64(P2), op.i64Mul, ...i64(31n), op.i64Rotl, ...i64(P1), op.i64Mul];
/** h = rotl(h ^ value, bits) * m1 (+ a2): the finishing steps' common shape. */
const mixIntoH = (value: number[], bits: bigint, m1: bigint, a2?: bigint) => [
  ...get(h),
  ...value,
  op.i64Xor,
  ...(bits === 0n ? [] : [...i64(bits), op.i64Rotl]),
  ...i64(m1),
  op.i64Mul,
  ...(a2 === undefined ? [] : [...i64(a2), op.i64Add]),
  ...set(h),
];
/** h = (h ^ round(0, v)) * P1 + P4 */
const merge = (v: number) => mixIntoH(round0(get(v)), 0n, P1, P4);
const rotlTerm = (v: number, bits: bigint) => [...get(v), ...i64(bits), op.i64Rotl];
/** p += n */
const advance = (n: number) => [...get(p), ...i32(n), op.i32Add, ...set(p)];
/** h = (h ^ (h >> shift)) * prime, or without the multiply for the last step. */
const avalanche = (shift: bigint, prime?: bigint) => [...get(h), ...get(h), ...i64(shift), op.i64ShrU, op.i64Xor, ...(prime === undefined ? [] : [...i64(prime), op.i64Mul, ...set(h)])];

const body: number[] = [
  // end = p + len
  ...get(p),
  ...get(len),
  op.i32Add,
  ...set(end),
  // if (len >= 32): four lanes over 32-byte stripes
  ...get(len),
  ...i32(32),
  op.i32GeU,
  op.if,
  VOID,
  ...get(end),
  ...i32(32),
  op.i32Sub,
  ...set(limit),
  ...i64(P1 + P2),
  ...set(4),
  ...i64(P2),
  ...set(5),
  ...i64(0n),
  ...set(6),
  ...i64(-P1),
  ...set(7),
  op.loop,
  VOID,
  ...round(4, [...get(p), ...load64(0)]),
  ...round(5, [...get(p), ...load64(8)]),
  ...round(6, [...get(p), ...load64(16)]),
  ...round(7, [...get(p), ...load64(24)]),
  ...advance(32),
  ...get(p),
  ...get(limit),
  op.i32LeU,
  op.brIf,
  0,
  op.end,
  ...rotlTerm(4, 1n),
  ...rotlTerm(5, 7n),
  op.i64Add,
  ...rotlTerm(6, 12n),
  op.i64Add,
  ...rotlTerm(7, 18n),
  op.i64Add,
  ...set(h),
  ...merge(4),
  ...merge(5),
  ...merge(6),
  ...merge(7),
  op.else,
  ...i64(P5),
  ...set(h),
  op.end,
  // h += len
  ...get(h),
  ...get(len),
  op.i64ExtendI32U,
  op.i64Add,
  ...set(h),
  // 8-byte words left
  op.block,
  VOID,
  op.loop,
  VOID,
  ...get(p),
  ...i32(8),
  op.i32Add,
  ...get(end),
  op.i32GtU,
  op.brIf,
  1,
  ...mixIntoH(round0([...get(p), ...load64(0)]), 27n, P1, P4),
  ...advance(8),
  op.br,
  0,
  op.end,
  op.end,
  // one 4-byte word
  ...get(p),
  ...i32(4),
  op.i32Add,
  ...get(end),
  op.i32LeU,
  op.if,
  VOID,
  ...mixIntoH([...get(p), op.i64Load32U, 2, 0, ...i64(P1), op.i64Mul], 23n, P2, P3),
  ...advance(4),
  op.end,
  // single bytes
  op.block,
  VOID,
  op.loop,
  VOID,
  ...get(p),
  ...get(end),
  op.i32GeU,
  op.brIf,
  1,
  ...mixIntoH([...get(p), op.i64Load8U, 0, 0, ...i64(P5), op.i64Mul], 11n, P1),
  ...advance(1),
  op.br,
  0,
  op.end,
  op.end,
  // avalanche
  ...avalanche(33n, P2),
  ...avalanche(29n, P3),
  ...avalanche(32n),
  op.end,
];

function section(id: number, content: number[]): number[] {
  return [id, ...uleb(content.length), ...content];
}
const name = (text: string) => [...uleb(text.length), ...Buffer.from(text, 'latin1')];

function moduleBytes(): Uint8Array {
  const locals = [2, 2, 0x7f, 5, 0x7e]; // 2 locals of i32, 5 of i64
  const code = [...uleb(locals.length + body.length), ...locals, ...body];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    // type 0: (i32, i32) -> i64
    ...section(1, [1, 0x60, 2, 0x7f, 0x7f, 1, 0x7e]),
    // import env.memory: shared memory, at least 0 and at most 65536 pages
    ...section(2, [1, ...name('env'), ...name('memory'), 0x02, 0x03, 0, ...uleb(65536)]),
    ...section(3, [1, 0]),
    ...section(7, [1, ...name('xxh64'), 0x00, 0]),
    ...section(10, [1, ...code]),
  ]);
}

// The compiler and instances, typed here: this project's TypeScript libs declare only Memory.
interface Wasm {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}
const wasm = WebAssembly as unknown as Wasm;

let compiled: object | undefined;
const instances = new WeakMap<ArrayBufferLike, (ptr: number, length: number) => bigint>();

/** Lets `xxh64InPlace` hash bytes of this (shared) memory; false where that cannot be done. */
export function hashInPlaceFrom(memory: WebAssembly.Memory): boolean {
  if (instances.has(memory.buffer)) return true;
  try {
    compiled ??= new wasm.Module(moduleBytes());
    const instance = new wasm.Instance(compiled, { env: { memory } });
    instances.set(memory.buffer, instance.exports.xxh64 as (ptr: number, length: number) => bigint);
    return true;
  } catch {
    return false;
  }
}

/** XXH64 of `data` where it lies, or undefined unless its memory was given to hashInPlaceFrom. */
export function xxh64InPlace(data: Uint8Array): bigint | undefined {
  const hash = instances.get(data.buffer);
  return hash && BigInt.asUintN(64, hash(data.byteOffset, data.length));
}
