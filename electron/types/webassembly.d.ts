// @types/node 20 does not declare the WebAssembly global that Node has always had; this is the
// little of it the engine uses (aligned shared memory for O_DIRECT buffers).
declare namespace WebAssembly {
  interface MemoryDescriptor {
    initial: number;
    maximum?: number;
    shared?: boolean;
  }
  class Memory {
    constructor(descriptor: MemoryDescriptor);
    readonly buffer: ArrayBuffer | SharedArrayBuffer;
    grow(delta: number): number;
  }
}
