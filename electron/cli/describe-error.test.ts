// describeError: one paragraph of what happened, the target's state and what to do, with the
// sentences kept apart however the message ends.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeError } from '../../shared/errors';
import { describeForCli } from './report';

test('a message ending in the system’s words gets its full stop before the next sentence', () => {
  const said = describeError({ code: 'READ_IO_ERROR', message: 'Reading /dev/sdb failed at byte 4096: EIO: i/o error, read', details: { driveIncomplete: true } });
  assert.equal(
    said,
    'Reading /dev/sdb failed at byte 4096: EIO: i/o error, read. The drive’s contents are now incomplete and it will not boot. The drive could not be read back. Try another port or card reader; the card may be failing.',
  );
  assert.match(describeError({ code: 'INTERNAL', message: 'boom' }), /^boom\. This is a bug/);
});

test('a message that ends a sentence, or in a command on a line of its own, is left as it is', () => {
  assert.match(describeError({ code: 'SOURCE_CORRUPT', message: 'x.img is damaged.' }), /^x\.img is damaged\. The image/);
  const command = 'Writing /dev/sdb needs administrator rights. Run the same command as root:\n  sudo blockwise flash x.img --to /dev/sdb --yes';
  assert.ok(describeError({ code: 'PERMISSION_DENIED', message: command }).startsWith(`${command} `), 'no full stop after the command');
});

test('an image file its disk could not read (EIO) ends with what its message says to do, not "check that the image file exists"', () => {
  const message = 'Could not read /media/usb/os.img at byte 2999808 (EIO: i/o error, read): the disk, card or share that holds it failed to read there';
  const said = describeForCli({ code: 'SOURCE_UNREADABLE', message, details: { path: '/media/usb/os.img', offset: 2999808, syscode: 'EIO', driveIncomplete: true } });
  assert.equal(said, `${message}. The drive’s contents are now incomplete and it will not boot.`);
  // Another reason to be unreadable keeps the table's advice.
  assert.match(describeForCli({ code: 'SOURCE_UNREADABLE', message: 'Cannot open image /x.img: permission denied.', details: { syscode: 'EACCES' } }), /Check that the image file exists/);
});
