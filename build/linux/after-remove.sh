#!/bin/bash
# .deb post-remove: undo the command link; dpkg has already removed the udev rule file.
if type update-alternatives >/dev/null 2>&1; then
    update-alternatives --remove '${executable}' '/opt/${sanitizedProductName}/${executable}' || true
else
    rm -f '/usr/bin/${executable}'
fi
if hash udevadm 2>/dev/null; then
    udevadm control --reload-rules || true
fi
