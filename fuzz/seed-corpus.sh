#!/bin/sh
# Seeds the fuzz corpora (fuzz/corpus/<target>/seed-*, git-ignored) from TensorFlow's
# reference TFRecord files: $HEADRACE_TESTDATA, else ../shared/testdata beside the
# checkout, else /work/shared/testdata. Nothing is seeded, with a note, when none exists.
#
#   tfrecord_reader  each file behind the target's 8 control bytes (see
#                    fuzz_targets/tfrecord_reader.rs), read several ways
#   example_parse    the records inside examples.tfrecord and sequence.tfrecord
#
# Usage: sh fuzz/seed-corpus.sh   (from the repository root, or anywhere)
set -eu

fuzz_dir=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$fuzz_dir")

testdata=
for d in "${HEADRACE_TESTDATA:-}" "$root/../shared/testdata" /work/shared/testdata; do
    if [ -n "$d" ] && [ -d "$d/tfrecord" ]; then
        testdata="$d/tfrecord"
        break
    fi
done
if [ -z "$testdata" ]; then
    echo "seed-corpus: no reference TFRecord files found; fuzzing from empty corpora" >&2
    exit 0
fi

readers="$fuzz_dir/corpus/tfrecord_reader"
parses="$fuzz_dir/corpus/example_parse"
mkdir -p "$readers" "$parses"

# seed NAME CONTROL FILE: FILE's bytes behind the control bytes CONTROL (octal escapes).
seed() {
    { printf "$2"; cat "$3"; } > "$readers/seed-$1"
}

# Control bytes: mode, chunk size (2, LE), record/header/footer bytes, failure offset (2).
# Mode 0x04 = plain with its size known (the "grown" seeds are told a size 12 bytes short,
# by the top bits of the header byte); 0x40 = plain, reads of 8 bytes at most; 0x0c =
# plain, size known, the source failing at the offset; 0x01 GZIP; 0x02 ZLIB; 0x51 / 0x52 =
# GZIP / ZLIB, reads of 16 bytes at most.
for f in examples sequence corrupt_bad_data_crc_record1 corrupt_bad_length_crc_record1 \
    corrupt_truncated_in_header corrupt_truncated_mid_record3; do
    file="$testdata/$f.tfrecord"
    [ -f "$file" ] || continue
    seed "$f-known" '\004\377\000\017\002\003\000\000' "$file"
    seed "$f-trickle" '\100\037\000\007\000\000\000\000' "$file"
    seed "$f-fail" '\014\000\001\003\001\001\000\001' "$file"
    seed "$f-grown" '\004\000\020\011\142\000\000\000' "$file"
done
# compressed NAME MODE TRICKLE_MODE: read as records, as lines and as fixed-length records
# (the top bits of the fourth control byte).
compressed() {
    file="$testdata/$1"
    [ -f "$file" ] || return 0
    seed "$1" "$2"'\000\020\017\000\000\000\000' "$file"
    seed "$1-trickle" "$3"'\377\017\005\004\004\000\000' "$file"
    seed "$1-lines" "$2"'\000\001\104\000\000\000\000' "$file"
    seed "$1-fixed" "$3"'\100\000\210\003\007\000\000' "$file"
}
compressed examples.tfrecord.gz '\001' '\121'
compressed examples.tfrecord.zlib '\002' '\122'
printf '\000\004\000\004\002\001\000\000a\nbb\r\n\nlast\r' > "$readers/seed-lines"

# split FILE PREFIX: each record of the TFRecord FILE as its own seed for example_parse.
split() {
    size=$(wc -c < "$1")
    offset=0
    i=0
    while [ $((offset + 16)) -le "$size" ]; do
        length=$(od -An -t u8 -j "$offset" -N 8 "$1" | tr -d ' ')
        [ $((offset + 16 + length)) -le "$size" ] || break
        tail -c +$((offset + 13)) "$1" | head -c "$length" > "$parses/seed-$2-$i"
        offset=$((offset + 16 + length))
        i=$((i + 1))
    done
}
[ -f "$testdata/examples.tfrecord" ] && split "$testdata/examples.tfrecord" example
[ -f "$testdata/sequence.tfrecord" ] && split "$testdata/sequence.tfrecord" sequence

# image_decode: each reference image behind one control byte (0: decode_image,
# 1: decode_jpeg, 2: decode_png; see fuzz_targets/image_decode.rs).
images="$(dirname "$testdata")/images"
decodes="$fuzz_dir/corpus/image_decode"
mkdir -p "$decodes"
if [ -d "$images" ]; then
    for f in "$images"/*.jpg "$images"/*.png; do
        [ -f "$f" ] || continue
        name=$(basename "$f")
        { printf '\000'; cat "$f"; } > "$decodes/seed-any-$name"
        case "$name" in
            *.jpg) { printf '\015'; cat "$f"; } > "$decodes/seed-jpeg-$name" ;;
            *.png) { printf '\016'; cat "$f"; } > "$decodes/seed-png-$name" ;;
        esac
    done
fi

echo "seed-corpus: $(ls "$readers" | grep -c '^seed-') tfrecord_reader," \
    "$(ls "$parses" | grep -c '^seed-') example_parse and" \
    "$(ls "$decodes" | grep -c '^seed-') image_decode seeds from $testdata"
