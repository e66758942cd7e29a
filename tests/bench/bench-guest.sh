#!/bin/bash
# The guest half of make bench. Prints one table.
set -uo pipefail
META=/dev/vda
DATA=/dev/vdb
SLAB=128			# 64 KiB, dm-thin's block size too
SIZE_MIB=1024			# the region every job works on
RUNTIME=${ODX_BENCH_RUNTIME:-15}
export DM_DISABLE_UDEV=1
insmod "$ODX_KO"

sectors=$((SIZE_MIB * 2048))

wipe() {
	dd if=/dev/zero of=$META bs=1M count=4 oflag=direct status=none
	blkdiscard $DATA 2>/dev/null || true
}

setup() {
	wipe
	case $1 in
	linear)
		echo "0 $sectors linear $DATA 0" | dmsetup create b ;;
	thin)
		echo "0 $(blockdev --getsz $DATA) thin-pool $META $DATA $SLAB 0" |
			dmsetup create b-pool
		dmsetup message b-pool 0 "create_thin 0"
		echo "0 $sectors thin /dev/mapper/b-pool 0" | dmsetup create b ;;
	odx)
		echo "0 $sectors odx $META $DATA $SLAB" | dmsetup create b ;;
	odx-sz)
		echo "0 $sectors odx $META $DATA $SLAB 1 skip_zeroing" | dmsetup create b ;;
	esac
}

teardown() {
	dmsetup remove b 2>/dev/null
	dmsetup remove b-pool 2>/dev/null
	true
}

# fio_iops JOB-ARGS...: prints IOPS (or MiB/s for bw jobs) of one run
fio_run() {
	fio --name=b --filename=/dev/mapper/b --direct=1 --ioengine=libaio \
		--output-format=json "$@" > /tmp/fio.json 2>/dev/null || return 1
	python3 -c '
import json, sys
j = json.load(open("/tmp/fio.json"))["jobs"][0]
rw = "write" if j["write"]["io_bytes"] else "read"
print(sys.argv[1] == "bw" and round(j[rw]["bw"] / 1024, 1) or round(j[rw]["iops"]))
' "$BENCH_UNIT"
}

provision() {
	dd if=/dev/zero of=/dev/mapper/b bs=1M count=$SIZE_MIB oflag=direct status=none
}

declare -A R
TARGETS="linear thin odx odx-sz"
ratio() { python3 -c "import sys; a, b = map(float, sys.argv[1:]); print(f'{a / b:.2f}' if b else '-')" "$1" "$2"; }

# setup4g TARGET: /dev/mapper/b, 4 GiB of TARGET (linear, thin, odx) over
# the data disk, its first GiB filled with 16 copies of /tmp/src (64 MiB)
GIB=$((1024 * 1024 * 1024))
setup4g() {
	local i
	wipe
	case $1 in
	linear) echo "0 $((4 * GIB / 512)) linear $DATA 0" | dmsetup create b ;;
	thin)
		echo "0 $(blockdev --getsz $DATA) thin-pool $META $DATA $SLAB 0" |
			dmsetup create b-pool
		dmsetup message b-pool 0 "create_thin 0"
		echo "0 $((4 * GIB / 512)) thin /dev/mapper/b-pool 0" | dmsetup create b ;;
	odx) echo "0 $((4 * GIB / 512)) odx $META $DATA $SLAB" | dmsetup create b ;;
	esac
	for i in $(seq 0 15); do
		dd if=/tmp/src of=/dev/mapper/b bs=1M seek=$((i * 64)) oflag=direct status=none
	done
}
secs() { printf '%.3f' "$(echo "$(date +%s.%N) - $1" | bc)"; }

only=${ODX_BENCH_ONLY:-}
if [ -z "$only" ] || [ "$only" = io ]; then

run_case() {
	local name=$1 unit=$2 prep=$3 t
	shift 3
	for t in $TARGETS; do
		setup $t
		[ "$prep" = provisioned ] && provision
		BENCH_UNIT=$unit R[$name,$t]=$(fio_run "$@" || echo 0)
		teardown
	done
}

run_case "4k randread, provisioned" iops provisioned \
	--rw=randread --bs=4k --iodepth=32 --runtime=$RUNTIME --time_based
run_case "4k randwrite, provisioned" iops provisioned \
	--rw=randwrite --bs=4k --iodepth=32 --runtime=$RUNTIME --time_based
# one 4k write at the start of every 64k: every write allocates a slab
run_case "4k write, each a new slab" iops fresh \
	--rw=write --bs=4k --zonemode=strided --zonesize=4k --zonerange=64k \
	--iodepth=32 --size=${SIZE_MIB}m --io_size=$((SIZE_MIB / 16))m
run_case "1M seq write, unprovisioned" bw fresh \
	--rw=write --bs=1M --iodepth=8 --size=${SIZE_MIB}m

name="whole-volume blkdiscard"
for t in $TARGETS; do
	setup $t
	provision
	start=$(date +%s.%N)
	blkdiscard /dev/mapper/b
	sync
	R[$name,$t]=$(printf '%.3f' "$(echo "$(date +%s.%N) - $start" | bc)")
	teardown
done

ratio_cell() {
	# odx result, ratio to linear, ratio to thin (for times: inverted)
	if [ "$3" = time ]; then
		printf '%8s %6s %6s' "$1" "$(ratio "${R[$2,linear]}" "$1")" "$(ratio "${R[$2,thin]}" "$1")"
	else
		printf '%8s %6s %6s' "$1" "$(ratio "$1" "${R[$2,linear]}")" "$(ratio "$1" "${R[$2,thin]}")"
	fi
}

printf '\n%-28s %8s %8s | %8s %6s %6s | %8s %6s %6s\n' benchmark linear thin \
	odx /lin /thin odx-sz /lin /thin
for name in "4k randread, provisioned" "4k randwrite, provisioned" \
	    "4k write, each a new slab" "1M seq write, unprovisioned" \
	    "whole-volume blkdiscard"; do
	kind=rate
	[ "$name" = "whole-volume blkdiscard" ] && kind=time
	printf '%-28s %8s %8s | %s | %s\n' "$name" "${R[$name,linear]}" \
		"${R[$name,thin]}" "$(ratio_cell "${R[$name,odx]}" "$name" $kind)" \
		"$(ratio_cell "${R[$name,odx-sz]}" "$name" $kind)"
	# for the report and chart (tests/bench/report.sh): the ratios of
	# dm-odx (and with skip_zeroing) to dm-linear and dm-thin
	read -r _ l1 t1 < <(ratio_cell "${R[$name,odx]}" "$name" $kind)
	read -r _ l2 t2 < <(ratio_cell "${R[$name,odx-sz]}" "$name" $kind)
	printf 'io\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "${R[$name,linear]}" \
		"${R[$name,thin]}" "${R[$name,odx]}" "${R[$name,odx-sz]}" \
		"$l1" "$t1" "$l2" "$t2" >> "$ODX_OUT/bench.tsv"
done
echo "(IOPS; MiB/s for the sequential write; seconds for blkdiscard. Ratios > 1:"
echo " dm-odx is faster. odx-sz: dm-odx with skip_zeroing. TCG guest, $RUNTIME s runs.)"
fi


# --- copy_file_range: 1 GiB on the test kernel (REQ_OP_COPY) --------------------
# Only on a kernel with the block-layer copy operation (the project's test
# kernel; make bench runs this table in a VM of its own). Each target gets
# 1 GiB of a pattern, then copy_file_range() copies it to the next GiB;
# the time includes writing back what the copy left in the page cache
# (sync of the device): dm-linear and dm-thin offload nothing, so the
# kernel copies through the page cache; dm-odx with copy_max_bytes 0 is
# the same read/write fallback on the same volume; then dm-odx's offload,
# slab-aligned (all remapped), equally misaligned by 4 KiB (remapped but
# for the two partial ends) and unaligned (read and written by the block
# layer, no page cache).
if [ "$only" = cfr ]; then
	# cfr_time SRC_OFF DST_OFF LEN: seconds of copy_file_range + sync
	cfr_time() {
		local start
		sync; echo 3 > /proc/sys/vm/drop_caches
		start=$(date +%s.%N)
		$ODX_CFR /dev/mapper/b "$1" /dev/mapper/b "$2" "$3" > /tmp/cfr.out ||
			echo "warning: odx_cfr: $(cat /tmp/cfr.out)" >&2
		sync /dev/mapper/b
		secs "$start"
	}
	declare -A F
	dd if=/dev/urandom of=/tmp/src bs=1M count=64 status=none
	for t in linear thin odx; do
		setup4g $t
		q=/sys/block/dm-$(dmsetup info -c --noheadings -o minor b | tr -d ' ')/queue/copy_max_bytes
		echo "# $t: copy_max_bytes $(cat "$q")"
		if [ $t = odx ]; then
			echo 0 > "$q"
			F[fallback,$t]=$(cfr_time 0 $GIB $GIB)
			echo $GIB > "$q"
			F[aligned,odx]=$(cfr_time 0 $((2 * GIB)) $GIB)
			F[misaligned,odx]=$(cfr_time 4096 $((3 * GIB + 4096)) $((GIB - 4096)))
			cmp -s -n $((GIB - 4096)) \
				<(dd if=/dev/mapper/b bs=1M iflag=direct,skip_bytes skip=4096 status=none) \
				<(dd if=/dev/mapper/b bs=1M iflag=direct,skip_bytes skip=$((3 * GIB + 4096)) status=none) ||
				echo "warning: the misaligned copy does not read back equal"
			dmsetup remove b
			setup4g odx
			F[unaligned,odx]=$(cfr_time 4096 $((GIB + 8192)) $((GIB - 4096)))
			# (a sample: reading GiBs costs minutes on this kernel)
			cmp -s <(dd if=/dev/mapper/b bs=1M iflag=direct,skip_bytes,count_bytes \
					skip=$((960 * 1048576 + 4096)) count=$((64 * 1048576)) status=none) \
				<(dd if=/dev/mapper/b bs=1M iflag=direct,skip_bytes,count_bytes \
					skip=$((GIB + 960 * 1048576 + 8192)) count=$((64 * 1048576)) status=none) ||
				echo "warning: the unaligned copy does not read back equal"
		else
			F[fallback,$t]=$(cfr_time 0 $GIB $GIB)
			cmp -s <(dd if=/dev/mapper/b bs=1M skip=960 count=64 iflag=direct status=none) \
				<(dd if=/dev/mapper/b bs=1M skip=1984 count=64 iflag=direct status=none) ||
				echo "warning: the copy on $t does not read back equal"
		fi
		teardown
	done
	printf '\n%-40s %8s | %8s %8s %8s\n' "copy_file_range 1 GiB, same device" \
		seconds "/fb odx" "/fb lin" "/fb thin"
	for k in fallback,linear fallback,thin fallback,odx aligned,odx \
		 misaligned,odx unaligned,odx; do
		case $k in
		fallback,odx) label="odx, copy_max_bytes 0 (read/write)" ;;
		fallback,*) label="${k#fallback,}: no offload (read/write)" ;;
		aligned,*) label="odx, slab-aligned (REQ_OP_COPY remap)" ;;
		misaligned,*) label="odx, both +4 KiB (remap + 2 ends)" ;;
		unaligned,*) label="odx, unaligned (block-layer copy)" ;;
		esac
		printf '%-40s %8s | %8s %8s %8s\n' "$label" "${F[$k]}" \
			"$(ratio "${F[fallback,odx]}" "${F[$k]}")" \
			"$(ratio "${F[fallback,linear]}" "${F[$k]}")" \
			"$(ratio "${F[fallback,thin]}" "${F[$k]}")"
		printf 'cfr\t%s\t%s\t%s\t%s\t%s\n' "$label" "${F[$k]}" \
			"$(ratio "${F[fallback,odx]}" "${F[$k]}")" \
			"$(ratio "${F[fallback,linear]}" "${F[$k]}")" \
			"$(ratio "${F[fallback,thin]}" "${F[$k]}")" >> "$ODX_OUT/bench.tsv"
	done
	echo "(Ratios > 1: faster than that read/write fallback. Test kernel"
	echo " (KASAN, lockdep) under TCG; seconds include the sync after the copy."
	echo " The misaligned and unaligned copies are 1 GiB - 4 KiB.)"
	exit 0
fi

[ -z "$only" ] || [ "$only" = copy ] || exit 0

# --- copies: 1 GiB by offload (odxctl copy) against dd in the same run ----
# The volume is 4 GiB over the 4 GiB data disk: the source is the first
# GiB, each copy goes to a GiB of its own. dd copies with direct I/O.
declare -A C
for t in linear thin odx; do
	dd if=/dev/urandom of=/tmp/src bs=1M count=64 status=none
	setup4g $t
	start=$(date +%s.%N)
	dd if=/dev/mapper/b of=/dev/mapper/b bs=1M count=1024 seek=3072 \
		iflag=direct oflag=direct status=none
	C[dd,$t]=$(secs $start)
	if [ $t = odx ]; then
		start=$(date +%s.%N)
		$ODXCTL copy --quiet /dev/mapper/b 0 $GIB $GIB
		C[aligned,odx]=$(secs $start)
		start=$(date +%s.%N)
		$ODXCTL copy --quiet /dev/mapper/b 4096 $((2 * GIB + 8192)) $((GIB - 4096))
		C[unaligned,odx]=$(secs $start)
		cmp -s -n $((GIB - 4096)) \
			<(dd if=/dev/mapper/b bs=1M iflag=direct,skip_bytes skip=4096 status=none) \
			<(dd if=/dev/mapper/b bs=1M iflag=direct,skip_bytes skip=$((2 * GIB + 8192)) status=none) ||
			echo "warning: the unaligned copy does not read back equal"
	fi
	teardown
done
printf '\n%-34s %8s | %8s %8s %8s\n' "copy 1 GiB on the same volume" seconds \
	"/dd odx" "/dd lin" "/dd thin"
for k in "dd,linear" "dd,thin" "dd,odx" "aligned,odx" "unaligned,odx"; do
	case $k in
	dd,*) label="dd (direct I/O) on ${k#dd,}" ;;
	aligned,*) label="odxctl copy, slab-aligned (remap)" ;;
	unaligned,*) label="odxctl copy, unaligned (kcopyd)" ;;
	esac
	printf '%-34s %8s | %8s %8s %8s\n' "$label" "${C[$k]}" \
		"$(ratio "${C[dd,odx]}" "${C[$k]}")" \
		"$(ratio "${C[dd,linear]}" "${C[$k]}")" \
		"$(ratio "${C[dd,thin]}" "${C[$k]}")"
	printf 'copy\t%s\t%s\t%s\t%s\t%s\n' "$label" "${C[$k]}" \
		"$(ratio "${C[dd,odx]}" "${C[$k]}")" \
		"$(ratio "${C[dd,linear]}" "${C[$k]}")" \
		"$(ratio "${C[dd,thin]}" "${C[$k]}")" >> "$ODX_OUT/bench.tsv"
done
echo "(Ratios > 1: faster than that dd. The unaligned copy is 1 GiB - 4 KiB.)"
