#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Offload tokens through /dev/odx-control (requests 5-8), the token
# layer: the zero token zeroes (asserted on data and slab counts);
# tokens are issued, change-vulnerable ones revoked by overlapping
# writes, expire, and die with their volume; every broken token fails
# with its own errno and writes nothing; a released token (request 9)
# gives back its pins at once and fails with EIDRM, and a release is
# refused (ENOENT) through any volume but its own; operation ids. The copy engine
# itself (remapping, copy on write, point in time) is offload.sh's.

. "$(dirname "$0")/lib.sh"

ktap_print_header
odx_require_root

V=${ODX_TEST_PREFIX}-tok
V2=${ODX_TEST_PREFIX}-tok2
DEV=/dev/mapper/$V
DEV2=/dev/mapper/$V2
MIB=$((1024 * 1024))
W=/tmp/odx-tokens
rm -rf $W
mkdir -p $W

odx_token_tool $W || ktap_exit_fail_msg "cannot build odx_token"

ktap_set_plan 50

odx_cleanup
odx_load || ktap_exit_fail_msg "cannot load dm-odx"

# 256 MiB virtual over 256 MiB of data, 64 KiB slabs; 16 MiB of a pattern
odx_mkvol $V 256 256 128 || ktap_exit_fail_msg "cannot create the volume"
head -c $((16 * MIB)) /dev/urandom > $W/want
dd if=$W/want of=$DEV bs=1M oflag=direct status=none ||
	ktap_exit_fail_msg "cannot write the pattern"

# same: the first 16 MiB read back as $W/want (what the test expects)
same() {
	cmp -s $W/want <(dd if=$DEV bs=1M count=16 iflag=direct status=none)
}

# want_copy SRC DST LENGTH: the model copies (4 KiB units)
want_copy() {
	dd if=$W/want of=$W/want.tmp bs=4096 skip=$(($1 / 4096)) \
		count=$(($3 / 4096)) status=none &&
	dd if=$W/want.tmp of=$W/want bs=4096 seek=$(($2 / 4096)) \
		conv=notrunc status=none
}

# want_zero OFFSET LENGTH: the model gets zeros there
want_zero() {
	dd if=/dev/zero of=$W/want bs=4096 seek=$(($1 / 4096)) \
		count=$(($2 / 4096)) conv=notrunc status=none
}

# patch FILE OFFSET HEXBYTES: overwrite bytes of a token file
patch() {
	printf "$(sed 's/../\\x&/g' <<<"$3")" |
		dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# flip FILE OFFSET: invert one byte of a token file
flip() {
	local b
	b=$(od -An -tu1 -j "$2" -N1 "$1")
	patch "$1" "$2" "$(printf %02x $((b ^ 0xff)))"
}

tokens() {
	odx_field $V 9
}

# --- the zero token ---------------------------------------------------------
tok zero $W/zero
used=$(odx_used_slabs $V)
tok write $DEV $W/zero 0 $((4 * MIB)) 0
want_zero 0 $((4 * MIB))
odx_result "zero token: 4 MiB written" expect "ok written $((4 * MIB)) result 0"
odx_result "zero token: the range reads zeros, the rest intact" same
odx_result "zero token: whole slabs released ($used -> $(odx_used_slabs $V))" \
	test "$(odx_used_slabs $V)" = $((used - 64))

tok write $DEV $W/zero $((4 * MIB + 4096)) 8192 12345
odx_result "unaligned TransferOffset: EINVAL" \
	expect "EINVAL written 0 result 0"
tok write $DEV $W/zero $((4 * MIB + 4096)) 8192 12288
want_zero $((4 * MIB + 4096)) 8192
odx_result "zero token, unaligned part of a slab (TransferOffset ignored)" \
	expect "ok written 8192 result 0"
odx_result "zero token, unaligned: those blocks zero, the rest intact" same

tok write $DEV $W/zero $((6 * MIB)) $MIB 0 immediate
want_zero $((6 * MIB)) $MIB
odx_result "zero token, immediate: in progress, with an operation id" \
	expect "ok written 0 result 2 id [0-9]+"
zid=${OUT##* }
tok_wait $DEV $zid
odx_result "its status: done, 1 MiB in bytes, no sense data" \
	expect "ok status 0x01 count $MIB units 0 error 0 sense 00/00/00"
tok status $DEV $zid stale
odx_result "its status into a reused struct: no stale error or sense" \
	expect "ok status 0x01 count $MIB units 0 error 0 sense 00/00/00"
odx_result "zero token, immediate: the range reads zeros" same

# --- issuing ----------------------------------------------------------------
tok read $DEV $W/pit pit 0 $((8 * MIB)):$MIB
odx_result "point-in-time token: 1 MiB, default lifetime 60 s" \
	expect "ok bytes $MIB lifetime 60"
tok read $DEV $W/pit0 0 0 $((8 * MIB)):$MIB
odx_result "type 0 is point in time (its slabs pinned: status 32)" \
	test "$OUT" = "ok bytes $MIB lifetime 60" -a "$(odx_field $V 10)" = 32
tok read $DEV $W/bad 0x00800002 0 $((8 * MIB)):$MIB
odx_result "persistent token type: EPROTONOSUPPORT" expect EPROTONOSUPPORT
tok read $DEV $W/bad cv 0 $((8 * MIB)):0
odx_result "an empty range: EINVAL" expect EINVAL
tok read $DEV $W/bad cv 0 $((256 * MIB)):4096
odx_result "a range past the end: ERANGE" expect ERANGE

# the checks below use it for minutes on a slow guest: not the default
# 60 s of inactivity (the point-in-time token above checks the default)
tok read $DEV $W/cv cv 300 $((8 * MIB)):$MIB $((12 * MIB)):$((512 * 1024))
odx_result "change-vulnerable token: 1.5 MiB, the lifetime asked (300 s)" \
	expect "ok bytes $((MIB + 512 * 1024)) lifetime 300"
tok read $DEV $W/cv-long cv 100000 $((12 * MIB)):$MIB
odx_result "a lifetime past the maximum is cut to 600 s" \
	expect "ok bytes $MIB lifetime 600"
odx_result "status: 4 live tokens" test "$(tokens)" = 4

# --- using ------------------------------------------------------------------
tok write $DEV $W/cv 0 $MIB 0
want_copy $((8 * MIB)) 0 $MIB
odx_result "a valid token: 1 MiB of its data written" \
	expect "ok written $MIB result 0"
odx_result "and it reads back" same
tok write $DEV $W/cv 0 $MIB $((MIB + 512 * 1024))
odx_result "TransferOffset past the token's data: ERANGE" \
	expect "ERANGE written 0 result 0"

# broken tokens: each its own errno, "token invalid", nothing written
cp $W/cv $W/t && flip $W/t 60
tok write $DEV $W/t 0 $MIB 0
odx_result "tampered secret: EKEYREJECTED" expect "EKEYREJECTED written 0 result 1"
cp $W/cv $W/t && patch $W/t 6 01f7
tok write $DEV $W/t 0 $MIB 0
odx_result "length field 0x1F7: EMSGSIZE" expect "EMSGSIZE written 0 result 1"
head -c 6 $W/cv > $W/t
tok write $DEV $W/t 0 $MIB 0
odx_result "truncated: EMSGSIZE" expect "EMSGSIZE written 0 result 1"
cp $W/cv $W/t && patch $W/t 0 00800002
tok write $DEV $W/t 0 $MIB 0
odx_result "unknown type: EPROTONOSUPPORT" \
	expect "EPROTONOSUPPORT written 0 result 1"
cp $W/cv $W/t && flip $W/t 8
tok write $DEV $W/t 0 $MIB 0
odx_result "foreign volume: EXDEV" expect "EXDEV written 0 result 1"
cp $W/cv $W/t && flip $W/t 39
tok write $DEV $W/t 0 $MIB 0
odx_result "an id never issued: ENOKEY" expect "ENOKEY written 0 result 1"
odx_result "broken tokens wrote nothing" same

# a write into its ranges revokes a change-vulnerable token; one next to
# them does not
dd if=$W/want of=$DEV bs=4096 count=1 skip=$((13 * 256)) seek=$((13 * 256)) \
	oflag=direct conv=notrunc status=none
tok write $DEV $W/cv 0 $MIB 0
odx_result "a write next to its ranges leaves it valid" \
	expect "ok written $MIB result 0"
dd if=$W/want of=$DEV bs=4096 count=1 skip=$((8 * 256 + 128)) \
	seek=$((8 * 256 + 128)) oflag=direct conv=notrunc status=none
tok write $DEV $W/cv 0 $MIB 0
odx_result "a write into its ranges revokes it: EKEYREVOKED" \
	expect "EKEYREVOKED written 0 result 1"

tok read $DEV $W/short cv 1 $((8 * MIB)):$MIB
sleep 2
tok write $DEV $W/short 0 $MIB 0
odx_result "lifetime 1 s, 2 s idle: EKEYEXPIRED" \
	expect "EKEYEXPIRED written 0 result 1"

# --- release ------------------------------------------------------------------
# a caller done with a token gives it back: its pins go at once
tok read $DEV $W/rel pit 0 $((8 * MIB)):$MIB
n=$(tokens)
p=$(odx_field $V 10)
cp $W/rel $W/t && flip $W/t 39
tok release $DEV $W/t
odx_result "release of an id never issued: ENOENT" expect ENOENT
tok release $DEV $W/rel 1
s=$OUT
tok release $DEV $W/rel 0 1
odx_result "release with a flag or the reserved field set: EINVAL" \
	test "$s $OUT" = "EINVAL EINVAL"
cp $W/rel $W/t && flip $W/t 60
tok release $DEV $W/t
odx_result "release with a tampered secret: EKEYREJECTED" expect EKEYREJECTED
tok release $DEV $W/zero
odx_result "release of the zero token: EPROTONOSUPPORT" expect EPROTONOSUPPORT
odx_result "refused releases change nothing ($n live, $p pinned)" \
	test "$(tokens) $(odx_field $V 10)" = "$n $p"
tok release $DEV $W/rel
odx_result "release: one live token fewer, its 16 pinned slabs gone at once ($p -> $(odx_field $V 10))" \
	test "$OUT $(tokens) $(odx_field $V 10)" = "ok $((n - 1)) $((p - 16))"
tok write $DEV $W/rel $((2 * MIB)) $MIB 0
odx_result "a released token: EIDRM (token deleted), token invalid, nothing written" \
	all expect "EIDRM written 0 result 1" -- same
tok release $DEV $W/rel
odx_result "released again: EIDRM" expect EIDRM

# a reload starts a new instance: the old tokens are revoked
dmsetup table $V | dmsetup reload $V && dmsetup resume $V
tok write $DEV $W/cv-long 0 $MIB 0
odx_result "after a reload: EKEYREVOKED, no live token" \
	test "$(tokens)" = 0 -a "$OUT" = "EKEYREVOKED written 0 result 1"

# another volume's tokens: valid here while it lives (a copy between
# volumes), revoked once it is gone, revoked too when it comes back (a
# new activation). Its metadata and data are slices of the data disk
# past the first volume's.
odx_linear $V2-meta $DATA 512 16 && odx_linear $V2-data $DATA 528 64 &&
	dd if=/dev/zero of=/dev/mapper/$V2-meta bs=1M count=1 oflag=direct \
		status=none &&
	echo "0 $((64 * 2048)) odx /dev/mapper/$V2-meta /dev/mapper/$V2-data 128" |
		dmsetup create $V2 ||
	ktap_exit_fail_msg "cannot create the second volume"
tok read $DEV2 $W/other cv 0 0:$MIB
# a release answers only through the token's own volume
tok release $DEV $W/other
s=$OUT
tok read $DEV $W/mine pit 0 $((8 * MIB)):$MIB
tok release $DEV2 $W/mine
odx_result "release through another volume: ENOENT, both ways" \
	test "$s $OUT" = "ENOENT ENOENT"
tok release $DEV $W/mine
odx_result "and that token is still live for its own volume: released" \
	expect ok
tok write $DEV $W/other 0 $MIB 0
want_zero 0 $MIB
odx_result "another live volume's token is valid here (its zeros copied)" \
	expect "ok written $MIB result 0"
odx_result "and they read back" same
# an operation answers only through its own volume; ids say nothing of
# others' (the zero token rewrites zeros where the model has them)
tok write $DEV $W/zero $((6 * MIB)) $MIB 0 immediate
id1=${OUT##* }
tok write $DEV $W/zero $((6 * MIB)) $MIB 0 immediate
id2=${OUT##* }
tok_wait $DEV $id1
tok_wait $DEV $id2
tok status $DEV2 $id1
s=$OUT
tok abort $DEV2 $id1
s="$s $OUT"
tok status $DEV $id1
s="$s ${OUT%% *}"
tok abort $DEV $id1
odx_result "another volume's operation: status and abort through this one ENOENT (its own: ok, EALREADY)" \
	test "$s $OUT" = "ENOENT ENOENT ok EALREADY"
odx_result "operation ids are not sequential ($zid, $id1, $id2)" \
	test "$id1" != $((zid + 1)) -a "$id2" != $((id1 + 1))
dmsetup remove --retry $V2 && odx_check_meta /dev/mapper/$V2-meta
tok write $DEV $W/other 0 $MIB 0
odx_result "its volume removed: EKEYREVOKED" \
	expect "EKEYREVOKED written 0 result 1"
echo "0 $((64 * 2048)) odx /dev/mapper/$V2-meta /dev/mapper/$V2-data 128" |
	dmsetup create $V2 || ktap_exit_fail_msg "cannot create it again"
tok write $DEV $W/other 0 $MIB 0
odx_result "its volume activated again: EKEYREVOKED" \
	expect "EKEYREVOKED written 0 result 1"
dmsetup remove --retry $V2 && odx_check_meta /dev/mapper/$V2-meta
dmsetup remove --retry $V2-meta $V2-data

tok status $DEV 4000000000
s=$OUT
tok abort $DEV $zid
odx_result "status of an unknown id: ENOENT; abort of an ended one: EALREADY" \
	test "$s $OUT" = "ENOENT EALREADY"

odx_rmvol $V
odx_check_result
rm -rf $W
ktap_finished
