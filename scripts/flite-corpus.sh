#!/usr/bin/env bash
# Builds a small speech-recognition test corpus of call-centre sentences
# spoken by Debian's flite voices, in three conditions:
#   wb16   16 kHz mono WAV (flite's own output)
#   nb8    8 kHz 16-bit mono WAV (telephone band)
#   gsm8   raw GSM 06.10, as Asterisk records calls
# Usage: flite-corpus.sh OUTDIR   (then: callscope bench asr OUTDIR/manifest.tsv)
# Writes OUTDIR/manifest.tsv: file<TAB>condition<TAB>seconds<TAB>reference text
set -euo pipefail
out=${1:?usage: flite-corpus.sh OUTDIR}
for tool in flite sox; do
  command -v "$tool" >/dev/null || { echo "install first: apt-get install flite sox" >&2; exit 1; }
done
mkdir -p "$out"
: > "$out/manifest.tsv"
voices=(slt rms kal)
i=0
while IFS= read -r text; do
  [ -n "$text" ] || continue
  voice=${voices[$((i % 3))]}
  id=$(printf 'fl%02d-%s' "$i" "$voice")
  flite -voice "$voice" -t "$text" -o "$out/$id-wb16.wav"
  sox "$out/$id-wb16.wav" -r 8000 -c 1 -b 16 "$out/$id-nb8.wav"
  sox "$out/$id-wb16.wav" -r 8000 -c 1 -t gsm "$out/$id-gsm8.gsm"
  secs=$(soxi -D "$out/$id-wb16.wav")
  for c in wb16 nb8; do printf '%s\t%s\t%.2f\t%s\n' "$id-$c.wav" "$c" "$secs" "$text" >> "$out/manifest.tsv"; done
  printf '%s\t%s\t%.2f\t%s\n' "$id-gsm8.gsm" gsm8 "$secs" "$text" >> "$out/manifest.tsv"
  i=$((i + 1))
done <<'TEXT'
Thank you for calling the help line. How can I help you today?
Hello, I am calling about my bank account. My card was stolen yesterday.
I am sorry to hear that. Can you tell me your account number please?
Yes, it is seven four two one nine.
Please send a new card to my home address as soon as possible.
Your new card will arrive within five working days.
My child has not come home from school and I am very worried.
Can you give me the name of the school and the time he left?
TEXT
echo "$(cut -f2 "$out/manifest.tsv" | sort | uniq -c | tr '\n' ' ') files written to $out/manifest.tsv"
