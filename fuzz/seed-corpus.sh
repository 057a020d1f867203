#!/bin/sh
# Seeds the fuzz corpora (fuzz/corpus/<target>/seed-*, git-ignored) from TensorFlow's
# reference files: $HEADRACE_TESTDATA, else ../shared/testdata beside the checkout, else
# /work/shared/testdata. Only the GIF and BMP image seeds (from tests/data/images in the
# checkout) are written, with a note, when none exists.
#
#   tfrecord_reader  each file behind the target's 8 control bytes (see
#                    fuzz_targets/tfrecord_reader.rs), read several ways
#   example_parse    the records inside examples.tfrecord and sequence.tfrecord
#   image_decode     each reference JPEG and PNG, and each GIF and BMP of tests/data/images,
#                    behind a control byte choosing the decoder and its options
#
# Usage: sh fuzz/seed-corpus.sh   (from the repository root, or anywhere)
set -eu

fuzz_dir=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$fuzz_dir")

# image_decode: the control byte's value mod 6 is the decoder (0 decode_image, 1
# decode_jpeg, 2 decode_png, 3 extract_jpeg_shape, 4 decode_gif, 5 decode_bmp), the value
# divided by 6 its options (see fuzz_targets/image_decode.rs).
decodes="$fuzz_dir/corpus/image_decode"
mkdir -p "$decodes"
# GIF: decode_image (first frame; all frames: options 4), decode_gif. BMP: decode_image,
# decode_bmp with channels 0, 3 and 4 (options 0, 1, 2).
for f in "$root"/tests/data/images/gif_*.gif "$root"/tests/data/images/bmp_*.bmp; do
    [ -f "$f" ] || continue
    name=$(basename "$f")
    { printf '\000'; cat "$f"; } > "$decodes/seed-any-$name"
    case "$name" in
        *.gif)
            { printf '\030'; cat "$f"; } > "$decodes/seed-frames-$name"
            { printf '\004'; cat "$f"; } > "$decodes/seed-gif-$name"
            ;;
        *.bmp)
            { printf '\005'; cat "$f"; } > "$decodes/seed-bmp0-$name"
            { printf '\013'; cat "$f"; } > "$decodes/seed-bmp3-$name"
            { printf '\021'; cat "$f"; } > "$decodes/seed-bmp4-$name"
            ;;
    esac
done

testdata=
for d in "${HEADRACE_TESTDATA:-}" "$root/../shared/testdata" /work/shared/testdata; do
    if [ -n "$d" ] && [ -d "$d/tfrecord" ]; then
        testdata="$d/tfrecord"
        break
    fi
done
if [ -z "$testdata" ]; then
    echo "seed-corpus: no reference TFRecord files found; only the GIF and BMP image seeds" \
        "($(ls "$decodes" | grep -c "^seed-") image_decode) were written" >&2
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

# image_decode: each reference JPEG and PNG behind one control byte: 0 (decode_image),
# 13 (decode_jpeg, channels 3), 14 (decode_png, channels 3).
images="$(dirname "$testdata")/images"
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
