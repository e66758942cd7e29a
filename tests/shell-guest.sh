#!/bin/bash
# The guest half of make shell (tests/shell.sh): load the module, put
# odxctl on the PATH, print what to try, then an interactive bash.
insmod "$ODX_KO" || echo "shell: insmod $ODX_KO failed"
export PATH=$ODX_TOP/userspace:$PATH
disks=$(cd /sys/block && ls -d vd* 2>/dev/null | tr '\n' ' ')
cat <<BANNER

dm-odx shell on $(uname -r) ($ODX_KERNEL kernel): module loaded, odxctl on
the PATH, scratch disks: ${disks:-none} (gone when the guest powers off).
Try:
  echo "0 \$((8 << 21)) odx /dev/vda /dev/vdb 128" | dmsetup create vol   # 8 GiB, 64 KiB slabs
  dmsetup status vol; odxctl info /dev/mapper/vol
  dd if=/dev/urandom of=/dev/mapper/vol bs=1M count=64 oflag=direct
  odxctl map /dev/mapper/vol; odxctl bitmap --length 128M /dev/mapper/vol
  odxctl copy /dev/mapper/vol 0 1G 64M; dmsetup status vol   # shared slabs
  odxctl trim /dev/mapper/vol 0:64M
  dmsetup remove vol; odxctl check /dev/vda /dev/vdb
  man -l $ODX_TOP/userspace/odxctl.8
'exit' (or Ctrl-D) powers the guest off; Ctrl-A X kills it.

BANNER
cd /root
PS1='odx-guest:\w# ' exec bash --norc -i
