#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Table lines: valid ones create devices whose table reads back as given;
# every kind of bad one is refused, leaves no device and nothing written,
# and the kernel log says why.

. "$(dirname "$0")/lib.sh"

ktap_print_header
odx_require_root

NAME=${ODX_TEST_PREFIX}-table
LEN=2097152	# 1 GiB virtual

# good "<description>" "<features as given>" ["<features as read back>"]
good() {
	local desc=$1 feat=$2 line table ok=1 maj min

	line="0 $LEN odx $META $DATA 128${feat:+ $feat}"
	odx_wipe
	case "$feat" in
	*read_only*)
		# read_only never formats: format first
		echo "0 $LEN odx $META $DATA 128" | dmsetup create $NAME &&
			odx_rmodx $NAME ;;
	esac
	if ! echo "$line" | dmsetup create $NAME; then
		ktap_test_fail "valid: $desc: create"
		return
	fi
	# dmsetup prints devices as major:minor
	maj=$(printf %d 0x"$(stat -c %t "$META")"); min=$(printf %d 0x"$(stat -c %T "$META")")
	line=${line/$META/$maj:$min}
	maj=$(printf %d 0x"$(stat -c %t "$DATA")"); min=$(printf %d 0x"$(stat -c %T "$DATA")")
	line=${line/$DATA/$maj:$min}
	[ $# -ge 3 ] && line=${line% $feat}${3:+ $3}
	table=$(dmsetup table $NAME)
	if [ "$table" != "$line" ]; then
		odx_diag "table reads back as '$table', expected '$line'"
		ok=0
	fi
	odx_rmodx $NAME || ok=0
	[ $ok = 1 ] && ktap_test_pass "valid: $desc" || ktap_test_fail "valid: $desc"
}

# bad "<description>" "<table line>" "<text the kernel log must contain>"
bad() {
	local desc=$1 line=$2 want=$3 ok=1 msum dsum log

	msum=$(odx_devsum "$META")
	dsum=$(odx_devsum "$DATA")
	odx_klog_mark
	if echo "$line" | dmsetup create $NAME 2>/dev/null; then
		odx_diag "'$line' was accepted"
		dmsetup remove $NAME
		ok=0
	fi
	if dmsetup info $NAME >/dev/null 2>&1; then
		odx_diag "a device was left behind"
		dmsetup remove $NAME
		ok=0
	fi
	log=$(odx_klog_since)
	if ! grep -qF -- "$want" <<<"$log"; then
		odx_diag "kernel log lacks '$want'; it said:"
		sed 's/^/#   /' <<<"$log"
		ok=0
	fi
	if [ "$(odx_devsum "$META")" != "$msum" ] ||
	   [ "$(odx_devsum "$DATA")" != "$dsum" ]; then
		odx_diag "a device was written"
		ok=0
	fi
	[ $ok = 1 ] && ktap_test_pass "refused: $desc" || ktap_test_fail "refused: $desc"
}

ktap_set_plan 27

odx_cleanup
odx_load || ktap_exit_fail_msg "cannot load dm-odx"
odx_wipe

good "no features" ""
good "zero feature count (read back as none)" "0" ""
good "one feature" "1 skip_zeroing"
good "all features, given order kept" \
	"7 read_only low_water_mark 16 error_if_no_space no_discard_passdown ignore_discard skip_zeroing"

P="0 $LEN odx"
bad "no arguments" "$P" "expected <metadata dev> <data dev> <slab size in sectors>"
bad "one argument" "$P $META" "expected <metadata dev> <data dev> <slab size in sectors>"
bad "no slab size" "$P $META $DATA" "got 2 argument(s)"
bad "slab size not a power of two" "$P $META $DATA 192" "invalid slab size '192'"
bad "slab size too small" "$P $META $DATA 64" "invalid slab size '64'"
bad "slab size too large" "$P $META $DATA 4194304" "invalid slab size '4194304'"
bad "slab size not a number" "$P $META $DATA 64k" "invalid slab size '64k'"
bad "same device twice" "$P $META $META 128" "are the same device"
bad "metadata device does not exist" "$P /dev/odx-no-such-dev $DATA 128" \
	"cannot open metadata device '/dev/odx-no-such-dev'"
bad "data device does not exist" "$P $META /dev/odx-no-such-dev 128" \
	"cannot open data device '/dev/odx-no-such-dev'"
bad "unknown feature" "$P $META $DATA 128 1 make_it_fast" "unknown feature 'make_it_fast'"
bad "feature given twice" "$P $META $DATA 128 2 read_only read_only" \
	"feature 'read_only' given more than once"
bad "feature count larger than the arguments" "$P $META $DATA 128 2 read_only" \
	"feature argument count '2'"
bad "feature count not a number" "$P $META $DATA 128 x read_only" \
	"feature argument count 'x'"
bad "arguments after the features" "$P $META $DATA 128 1 read_only skip_zeroing" \
	"unexpected argument(s) after the features, starting at 'skip_zeroing'"
bad "low_water_mark without a value" "$P $META $DATA 128 1 low_water_mark" \
	"low_water_mark needs a number of slabs"
bad "low_water_mark not a number" "$P $META $DATA 128 2 low_water_mark lots" \
	"invalid low_water_mark 'lots'"

# one metadata device serves one mapped device: a second one is refused
# (two workers and allocators over one map), a reload of the holder
# shares it as before
HOLDER=${NAME}-holder
odx_wipe
echo "0 $LEN odx $META $DATA 128" | dmsetup create $HOLDER ||
	ktap_exit_fail_msg "cannot create $HOLDER"
dd if=/dev/urandom of=/dev/mapper/$HOLDER bs=64k count=16 oflag=direct status=none
sum=$(odx_sum /dev/mapper/$HOLDER 0 1)
odx_klog_mark
ok=1
if echo "0 $LEN odx $META $DATA 128" | dmsetup create $NAME 2>/dev/null; then
	odx_diag "a second mapped device on $META was accepted"
	dmsetup remove $NAME
	ok=0
fi
dmsetup info $NAME >/dev/null 2>&1 && { odx_diag "a device was left behind"; dmsetup remove $NAME; ok=0; }
log=$(odx_klog_since)
if ! grep -qF "metadata device in use by mapped device $HOLDER" <<<"$log"; then
	odx_diag "kernel log lacks the holder's name; it said:"
	sed 's/^/#   /' <<<"$log"
	ok=0
fi
[ "$(odx_sum /dev/mapper/$HOLDER 0 1)" = "$sum" ] || { odx_diag "the holder's data changed"; ok=0; }
[ $ok = 1 ] && ktap_test_pass "refused: a second mapped device on an active volume's metadata" ||
	ktap_test_fail "refused: a second mapped device on an active volume's metadata"
dmsetup suspend $HOLDER &&
	echo "0 $LEN odx $META $DATA 128" | dmsetup reload $HOLDER &&
	dmsetup resume $HOLDER
odx_result "valid: a reload of the holder shares its metadata (data intact, rw)" \
	test "$(odx_sum /dev/mapper/$HOLDER 0 1) $(odx_field $HOLDER 5)" = "$sum rw"
odx_rmodx $HOLDER

# read_only after read-write: once the read_only table is resumed the
# metadata device is not written, by the periodic commit nor on removal
odx_wipe
echo "0 $LEN odx $META $DATA 128" | dmsetup create $NAME ||
	ktap_exit_fail_msg "cannot create $NAME"
dd if=/dev/urandom of=/dev/mapper/$NAME bs=64k count=16 oflag=direct,sync status=none
sum=$(odx_sum /dev/mapper/$NAME 0 1)
dmsetup suspend $NAME &&
	echo "0 $LEN odx $META $DATA 128 1 read_only" | dmsetup reload $NAME &&
	dmsetup resume $NAME
msum=$(odx_devsum "$META" 8)
sleep 3
got="$(odx_field $NAME 5) $(odx_sum /dev/mapper/$NAME 0 1)"
dmsetup remove --retry $NAME
odx_result "read_only after read-write: data reads back, nothing written after the resume, nor by the removal" \
	test "$got $(odx_devsum "$META" 8)" = "ro $sum $msum"
odx_check_meta

# slab sizes at both ends of the range are accepted
for s in 128 2097152; do
	odx_wipe
	if echo "0 $LEN odx $META $DATA $s" | dmsetup create $NAME &&
	   [ "$(dmsetup table $NAME | awk '{print $6}')" = "$s" ]; then
		ktap_test_pass "valid: slab size $s"
	else
		ktap_test_fail "valid: slab size $s"
	fi
	odx_rmodx $NAME 2>/dev/null
done

odx_cleanup
odx_check_result
ktap_finished
