// The three IPC channels between preload and main. The preload keeps its own copy (a sandboxed
// preload cannot require our modules); ipc-router.test.ts checks the two stay equal.

export const IPC_CHANNELS = {
  /** invoke(name, args) → Reply */
  request: 'blockwise:request',
  /** main → renderer: (name, payload) */
  event: 'blockwise:event',
  /** renderer → main: the renderer listens now; flush queued events */
  ready: 'blockwise:ready',
} as const;
