// Virtual machine disk files (qcow2, VHD, VHDX, VMDK, VDI, Parallels, Apple .dmg) are what people
// pick by mistake when a project offers both: their bytes are a container of the disk, not the
// disk, so written raw they leave a drive that boots nothing — and its readback still passes.
// Recognised by their headers (and, for fixed VHDs and .dmg, by the footer at the end of the file)
// and refused with the command that turns them into a raw image.

export interface VmDisk {
  /** What a person calls it, after "is a". */
  name: string;
  /** The sentence after the refusal: what to do instead. */
  advice(fileName: string): string;
}

const ascii = (head: Uint8Array, at: number, text: string) => text.split('').every((c, i) => head[at + i] === c.charCodeAt(0));

const rawName = (fileName: string) => `${fileName.replace(/\.[^.]+$/, '') || 'disk'}.img`;

function convertAdvice(fileName: string): string {
  return `Convert it to a raw image first, e.g. qemu-img convert -O raw "${fileName}" "${rawName(fileName)}", and write that.`;
}

const vmDisk = (name: string): VmDisk => ({ name, advice: convertAdvice });

/** A VMware descriptor is text (padded with NULs): the disk itself is in the extent file it names. */
function vmdkDescriptor(head: Uint8Array): VmDisk {
  const text = Buffer.from(head.subarray(0, Math.min(head.length, 4096))).toString('latin1');
  const extent = /^\s*(?:RW|RDONLY)\s+\d+\s+(\w+)\s+"([^"]+)"/m.exec(text);
  if (extent && extent[1] === 'FLAT') {
    const flat = extent[2]!;
    return { name: 'VMware disk descriptor (VMDK)', advice: () => `It only describes the disk; the raw image is the file it names, ${flat}: write that file instead.` };
  }
  return vmDisk('VMware disk descriptor (VMDK)');
}

/** A virtual machine disk recognised by its first bytes, or undefined. */
export function vmDiskFromHead(head: Uint8Array): VmDisk | undefined {
  if (ascii(head, 0, 'QFI\xfb')) return vmDisk('QEMU disk (qcow2)');
  if (ascii(head, 0, 'QED\0')) return vmDisk('QEMU disk (QED)');
  if (ascii(head, 0, 'vhdxfile')) return vmDisk('Hyper-V disk (VHDX)');
  // A dynamic or differencing VHD starts with a copy of its footer.
  if (ascii(head, 0, 'conectix')) return vmDisk('Virtual PC / Hyper-V disk (VHD)');
  if (ascii(head, 0, 'KDMV') || ascii(head, 0, 'COWD')) return vmDisk('VMware disk (VMDK)');
  if (ascii(head, 0, '# Disk DescriptorFile')) return vmdkDescriptor(head);
  // VirtualBox: a text banner, then the signature 0xbeda107f at byte 64.
  if (head.length >= 68 && Buffer.from(head.subarray(64, 68)).readUInt32LE(0) === 0xbeda107f) return vmDisk('VirtualBox disk (VDI)');
  if (ascii(head, 0, 'WithoutFreeSpace') || ascii(head, 0, 'WithouFreSpacExt')) return vmDisk('Parallels disk (HDD)');
  return undefined;
}

/**
 * A disk container recognised by the last 512 bytes of a file whose start looks raw: a fixed VHD
 * (the raw disk, then a footer) or an Apple disk image (UDIF, "koly" trailer).
 */
export function vmDiskFromTrailer(trailer: Uint8Array): VmDisk | undefined {
  if (trailer.length < 512) return undefined;
  if (ascii(trailer, 0, 'conectix')) {
    return {
      name: 'fixed-size Virtual PC / Hyper-V disk (VHD)',
      advice: (fileName) =>
        `It is a raw disk followed by a 512-byte footer: convert it first, e.g. qemu-img convert -O raw "${fileName}" "${rawName(fileName)}", and write that.`,
    };
  }
  if (ascii(trailer, 0, 'koly')) return vmDisk('Apple disk image (.dmg)');
  return undefined;
}
