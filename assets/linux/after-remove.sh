#!/bin/bash
# .deb post-remove: undo what after-install.sh added.
rm -f '/usr/bin/${executable}'
rm -f /usr/share/polkit-1/actions/io.blockwise.helper.policy
