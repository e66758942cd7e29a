# SPDX-License-Identifier: GPL-2.0-only
#
# dm-odx top-level Makefile.
#
#   make               build dm-odx.ko (against KDIR) and userspace/odxctl
#   make deps          install every Debian package the build and tests need
#   make check         build everything and run all tests in VMs
#   make demo          a narrated, checked tour of dm-odx in a VM
#                      (KERNEL=debug: on the test kernel, copy_file_range too)
#   make shell         an interactive guest with dm-odx loaded
#                      (KERNEL=stock|debug, DISKS="256M 4G 4G")
#   make lint          checkpatch and sparse over the module
#   make bench         fio: dm-odx against dm-linear and dm-thin (in a VM)
#   make dkms-test     dkms add/build/install, then modprobe in a VM
#   make install       install the module (and odxctl, man page)
#
# KDIR defaults to the running kernel's build tree if there is one, else
# the pinned Debian headers (kernel.env).

include kernel.env

# Kbuild cannot build in a directory with spaces or colons, nor can the
# VM runner pass one to qemu: say so at once.
ifneq ($(words $(subst :, ,$(CURDIR))),1)
$(error the checkout path '$(CURDIR)' has a space or colon: Kbuild and qemu cannot take it; clone to a path without them)
endif

KERNEL ?= stock
DISKS ?= 256M 4G 4G

RUNNING_KDIR := /lib/modules/$(shell uname -r)/build
KDIR ?= $(if $(wildcard $(RUNNING_KDIR)/Makefile),$(RUNNING_KDIR),/usr/src/linux-headers-$(KERNEL_ABI))
STOCK_KDIR := /usr/src/linux-headers-$(KERNEL_ABI)

CC ?= cc
USER_CFLAGS := -O2 -g -Wall -Wextra -Werror=implicit-function-declaration \
	-Wformat=2 -D_GNU_SOURCE -Iinclude/uapi -Iinclude
PREFIX ?= /usr/local
DESTDIR ?=

ODXCTL_SRCS := $(wildcard userspace/*.c)
ODXCTL_HDRS := $(wildcard userspace/*.h include/*.h include/uapi/linux/*.h)

# Module sources, for the shadow trees the test builds use.
MODULE_SRCS := Kbuild $(wildcard drivers/*.[ch] include/*.h include/uapi/linux/*.h tests/kunit/*.[ch])

.PHONY: all module odxctl modules-test deps check demo shell dkms-test bench \
	lint install clean help

all: module odxctl

help:
	@sed -n '3,19p' Makefile

module:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

odxctl: userspace/odxctl

userspace/odxctl: $(ODXCTL_SRCS) $(ODXCTL_HDRS)
	$(CC) $(USER_CFLAGS) -o $@ $(ODXCTL_SRCS)

# The module for each kernel the tests boot, each built in a shadow tree
# of links under build/ so that objects of different kernels never mix.
#   build/stock/dm-odx.ko   the pinned Debian kernel
#   build/debug/dm-odx.ko   the test kernel (KSRC=its built tree)
build/stock/dm-odx.ko: $(MODULE_SRCS)
	tests/shadow-build.sh $(STOCK_KDIR) build/stock

build/debug/dm-odx.ko: $(MODULE_SRCS) $(KSRC)/vmlinux
	@test -n "$(KSRC)" || { echo "KSRC= the built test kernel tree"; exit 1; }
	tests/shadow-build.sh $(KSRC) build/debug

modules-test: build/stock/dm-odx.ko $(if $(KSRC),build/debug/dm-odx.ko)

deps:
	tests/deps.sh

check: all
	tests/run-all.sh

demo: all
	KERNEL=$(KERNEL) tests/demo.sh

shell: all
	KERNEL=$(KERNEL) DISKS="$(DISKS)" tests/shell.sh

dkms-test:
	tests/dkms-test.sh

bench: all
	tests/bench/bench.sh

lint:
	tests/lint.sh

install: all
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules_install
	install -D -m 0755 userspace/odxctl $(DESTDIR)$(PREFIX)/sbin/odxctl
	install -D -m 0644 userspace/odxctl.8 $(DESTDIR)$(PREFIX)/share/man/man8/odxctl.8
	install -D -m 0644 include/uapi/linux/dm-odx.h $(DESTDIR)$(PREFIX)/include/linux/dm-odx.h

clean:
	-$(MAKE) -C $(KDIR) M=$(CURDIR) clean
	rm -rf build userspace/odxctl
