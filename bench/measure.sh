# Sourced by the scale benchmarks (bench/*_cpu.sh): measure LABEL COMMAND... runs COMMAND with its output in
# $work/LABEL.log and prints its wall time and peak RSS (GNU time); on failure it shows the log's tail and exits.
measure() {
  local label="$1"; shift
  /usr/bin/time -f "%e %M" -o "$work/time.txt" "$@" > "$work/$label.log" 2>&1 || { tail -20 "$work/$label.log"; exit 1; }
  read -r seconds kib < "$work/time.txt"
  printf '%-12s %8.1f s  peak RSS %6.2f GiB\n' "$label" "$seconds" "$(echo "$kib / 1048576" | bc -l)"
}
