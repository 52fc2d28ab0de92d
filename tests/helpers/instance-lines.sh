#!/bin/sh
# Prints three lines naming its instance, then waits.
for i in 1 2 3; do echo "instance $TEND_INSTANCE line $i"; done
exec sleep 100000
