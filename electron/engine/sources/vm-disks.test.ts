// Virtual machine disks made by qemu-img from a real partitioned image: each is refused before
// anything is written, naming the format and the command that converts it — as a file, inside a
// zip, and compressed. They used to be written raw, and their readback passed.

import assert from 'node:assert/strict';
import { execSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BlockwiseError } from '../../../shared/errors';
import { createLoopDevice, loopSkipReason, readBacking, type LoopDevice } from '../../test-support/loop-device';
import { runFlash } from '../flash';
import './register';
import { openSource } from './open-source';

const loopSkip = loopSkipReason();
const qemuSkip = spawnSync('qemu-img', ['--version'], { stdio: 'ignore' }).status === 0 ? undefined : 'qemu-img is not installed (apt-get install qemu-utils)';
const MiB = 1024 * 1024;
let dir = '';

const sh = (command: string) => execSync(command, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], shell: '/bin/bash' });
const file = (name: string) => path.join(dir, name);

async function refusal(name: string): Promise<BlockwiseError> {
  try {
    const reader = await openSource({ kind: 'file', path: file(name) });
    await reader.close();
  } catch (error) {
    assert.ok(error instanceof BlockwiseError, `expected a BlockwiseError, got ${String(error)}`);
    assert.equal(error.code, 'SOURCE_UNSUPPORTED', error.message);
    return error;
  }
  assert.fail(`${name} was opened as an image`);
}

describe('virtual machine disks', { skip: qemuSkip }, () => {
  before(() => {
    dir = mkdtempSync('/dev/shm/blockwise-vm-disks-test-');
    // A small MBR disk with a FAT partition holding some data: what a VM disk would contain.
    sh(`truncate -s 8M disk.img && printf 'label: dos\\nstart=2048, type=c\\n' | sfdisk -q disk.img`);
    sh('truncate -s 7M part.img && mkfs.vfat part.img >/dev/null && head -c 1M /dev/urandom > data.bin && mcopy -i part.img data.bin ::/');
    sh('dd if=part.img of=disk.img bs=512 seek=2048 conv=notrunc status=none');
    for (const [format, name] of [
      ['qcow2', 'disk.qcow2'],
      ['vpc', 'dynamic.vhd'],
      ['vhdx', 'disk.vhdx'],
      ['vmdk', 'disk.vmdk'],
      ['vdi', 'disk.vdi'],
    ]) {
      sh(`qemu-img convert -f raw -O ${format} disk.img ${name}`);
    }
    sh('qemu-img convert -f raw -O vpc -o subformat=fixed disk.img fixed.vhd');
    sh('qemu-img convert -f raw -O vmdk -o subformat=monolithicFlat disk.img flat.vmdk');
    sh('qemu-img convert -f raw -O vmdk -o subformat=streamOptimized disk.img stream.vmdk');
    sh('xz -T2 -c disk.qcow2 > disk.qcow2.xz && zip -q -0 vhd.zip dynamic.vhd');
    // Azure and Hyper-V images ship as fixed VHDs, compressed: raw-looking until their last sector.
    sh('xz -T1 -c fixed.vhd > fixed.vhd.xz && zip -q fixed-vhd.zip fixed.vhd');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const made: Array<[string, RegExp]> = [
    ['disk.qcow2', /is a QEMU disk \(qcow2\)/],
    ['dynamic.vhd', /is a Virtual PC \/ Hyper-V disk \(VHD\)/],
    ['fixed.vhd', /is a fixed-size Virtual PC \/ Hyper-V disk \(VHD\).*512-byte footer/],
    ['disk.vhdx', /is a Hyper-V disk \(VHDX\)/],
    ['disk.vmdk', /is a VMware disk \(VMDK\)/],
    ['stream.vmdk', /is a VMware disk \(VMDK\)/],
    ['disk.vdi', /is a VirtualBox disk \(VDI\)/],
  ];
  for (const [name, what] of made) {
    test(`${name} is refused, naming its format and how to convert it`, async () => {
      const error = await refusal(name);
      assert.match(error.message, new RegExp(`^${name.replace('.', '\\.')} ${what.source}`));
      const stem = name.replace(/\.[^.]+$/, '');
      assert.ok(error.message.includes(`qemu-img convert -O raw "${name}" "${stem}.img"`), error.message);
    });
  }

  test('a VMware descriptor names the flat file that holds the disk', async () => {
    const error = await refusal('flat.vmdk');
    assert.match(error.message, /flat\.vmdk is a VMware disk descriptor \(VMDK\).*the file it names, flat-flat\.vmdk: write that file instead/);
  });

  test('compressed, or inside a zip, a VM disk is refused too, with the name it will have', async () => {
    const xz = await refusal('disk.qcow2.xz');
    assert.match(xz.message, /^The decompressed data inside disk\.qcow2\.xz is a QEMU disk \(qcow2\)/);
    assert.ok(xz.message.includes('qemu-img convert -O raw "disk.qcow2" "disk.img"'), xz.message);
    const zip = await refusal('vhd.zip');
    assert.match(zip.message, /^dynamic\.vhd inside vhd\.zip is a Virtual PC \/ Hyper-V disk \(VHD\)/);
    assert.ok(zip.message.includes('qemu-img convert -O raw "dynamic.vhd" "dynamic.img"'), zip.message);
  });

  test('a fixed VHD compressed or in a zip fails at its end (its footer), naming the file to convert', async () => {
    for (const name of ['fixed.vhd.xz', 'fixed-vhd.zip']) {
      const reader = await openSource({ kind: 'file', path: file(name) });
      const buffer = Buffer.alloc(MiB);
      await assert.rejects(
        (async () => {
          while ((await reader.read(buffer)) === buffer.length);
        })(),
        (error: unknown) => {
          assert.ok(error instanceof BlockwiseError, String(error));
          assert.equal(error.code, 'SOURCE_UNSUPPORTED', error.message);
          assert.ok(error.message.startsWith(`The image in ${name} is a fixed-size Virtual PC / Hyper-V disk (VHD)`), error.message);
          assert.ok(error.message.includes('qemu-img convert -O raw "fixed.vhd" "fixed.img"'), error.message);
          return true;
        },
      );
      await reader.close();
    }
  });

  test('an Apple disk image (UDIF "koly" trailer after raw-looking data) is refused', async () => {
    // No tool here makes a .dmg; its trailer is 512 bytes starting "koly" at the end of the file.
    const dmg = Buffer.alloc(2 * MiB, 0);
    dmg.write('koly', dmg.length - 512, 'latin1');
    writeFileSync(file('installer.dmg'), dmg);
    const error = await refusal('installer.dmg');
    assert.match(error.message, /installer\.dmg is an Apple disk image \(\.dmg\)/);
  });

  test('a raw image is still a raw image (its last sector is data, not a footer)', async () => {
    const reader = await openSource({ kind: 'file', path: file('disk.img') });
    assert.deepEqual(reader.info.formats, ['raw']);
    await reader.close();
  });

  describe('flashed to a loop device', { skip: loopSkip }, () => {
    let dev: LoopDevice;
    before(() => {
      process.env.BLOCKWISE_INCLUDE_LOOP = '1';
      dev = createLoopDevice(16 * MiB, { fill: 'garbage' });
    });
    after(() => dev?.dispose());

    for (const name of ['disk.qcow2', 'fixed.vhd']) {
      test(`${name}: nothing is written`, async () => {
        const before = readBacking(dev, 0, 16 * MiB);
        await assert.rejects(
          runFlash({ source: { kind: 'file', path: file(name) }, targets: [{ path: dev.path }], options: { verify: true, full: false } }, { signal: new AbortController().signal, onProgress: () => {} }),
          (error: unknown) => error instanceof BlockwiseError && error.code === 'SOURCE_UNSUPPORTED',
        );
        assert.ok(readBacking(dev, 0, 16 * MiB).equals(before), 'the device is untouched');
        assert.equal(dev.bytesWritten(), 0);
      });
    }
  });
});
