#!/bin/sh
# A service that owns its log folder and attacks tendd through it.
# First run (no $MARK yet): prints "first run", does $ATTACK, creates $MARK
# and exits 1, so that tendd restarts it and opens its log again:
#   symlink  $LOG becomes a symbolic link to $TARGET
#   fifo     $LOG becomes a FIFO
#   folder   the folder $SWAP is moved away and becomes a link to the folder
#            of $TARGET
#   none     nothing (for the attacks done while running, see ATTACK_LATER)
# Every run records "PID TIME" in $RECORD; later runs print "tick N" every
# 10 ms forever. ATTACK_LATER=symlink: the second run replaces $LOG by a link
# to $TARGET after $AFTER ticks, creates $MARK.swapped, and keeps printing.
echo "$$ $(date +%s%N)" >> "$RECORD"
if [ ! -e "$MARK" ]; then
  echo "first run"
  case "$ATTACK" in
    symlink) rm -f "$LOG"; ln -s "$TARGET" "$LOG" ;;
    fifo) rm -f "$LOG"; mkfifo "$LOG" ;;
    folder) mv "$SWAP" "$SWAP.moved"; ln -s "$(dirname "$TARGET")" "$SWAP" ;;
  esac
  : > "$MARK"
  exit 1
fi
i=0
while :; do
  i=$((i + 1))
  echo "tick $i${PAD:+ $PAD}"
  if [ "$ATTACK_LATER" = symlink ] && [ "$i" -eq "${AFTER:-0}" ]; then
    rm -f "$LOG"; ln -s "$TARGET" "$LOG"; : > "$MARK.swapped"
  fi
  sleep 0.01
done
