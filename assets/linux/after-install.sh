#!/bin/bash
# .deb post-install (electron-builder fills in ${executable} and ${sanitizedProductName}): the
# command on the PATH, the sandbox mode, and the polkit policy that lets pkexec start the helper.
app='/opt/${sanitizedProductName}'

# Not a link to the app binary itself: blockwise-command opens the app, or runs the CLI when given a
# command (`blockwise flash …`) on the app's own Node.
chmod 0755 "$app/resources/linux/blockwise-command"
ln -sf "$app/resources/linux/blockwise-command" '/usr/bin/${executable}'

# chrome-sandbox needs setuid only where unprivileged user namespaces are unavailable.
if unshare --user true 2>/dev/null; then
  chmod 0755 "$app/chrome-sandbox" || true
else
  chmod 4755 "$app/chrome-sandbox" || true
fi

# pkexec matches the helper by the launcher path the policy names; both ship in resources/linux.
chmod 0755 "$app/resources/linux/blockwise-helper"
install -D -m 0644 "$app/resources/linux/io.blockwise.helper.policy" /usr/share/polkit-1/actions/io.blockwise.helper.policy

if command -v update-desktop-database >/dev/null 2>&1; then
  update-desktop-database /usr/share/applications || true
fi
