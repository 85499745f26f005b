#!/bin/sh
# Called by night with NIGHT_EVENT, NIGHT_OUTCOME, NIGHT_RUN_ID and NIGHT_REPORT set.
echo "night: $NIGHT_EVENT $NIGHT_OUTCOME ($NIGHT_REPORT)" >> "$HOME/night.log"
