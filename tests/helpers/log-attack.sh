#!/bin/sh
# A service that owns its log folder and attacks tendd through it.
# First run (no $MARK yet): prints "first run", does $ATTACK, creates $MARK
# and exits 1, so that tendd restarts it and opens its log again:
#   symlink  $LOG becomes a symbolic link to $TARGET
#   fifo     $LOG becomes a FIFO
#   folder   the folder $SWAP is moved away and becomes a link to the folder
#            of $TARGET
#   none     nothing (for the attacks done while running, see ATTACK_LATER)
# The attack waits until tendd has written "first run" to $LOG (the file is
# not empty: it is root's, 0640, and this user cannot read it); before that,
# tendd may still be opening the log, and an open between the attack's steps
# (between rm and ln, say) would undo the attack, not test tendd.
# Every run records "PID TIME" in $RECORD; later runs print "tick N" every
# 10 ms forever. ATTACK_LATER=symlink: the second run replaces $LOG by a link
# to $TARGET after $AFTER ticks, creates $MARK.swapped, and keeps printing.
echo "$$ $(date +%s%N)" >> "$RECORD"
if [ ! -e "$MARK" ]; then
  echo "first run"
  n=0
  until [ -s "$LOG" ] || [ "$n" -ge 1200 ]; do
    n=$((n + 1))
    sleep 0.05
  done
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
    # in one rename: a rotation's reopen between an rm and an ln would undo it
    ln -s "$TARGET" "$LOG.swap" && mv -f "$LOG.swap" "$LOG"; : > "$MARK.swapped"
  fi
  sleep 0.01
done
