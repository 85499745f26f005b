#!/bin/sh
# The sample project's tests, in TAP. night counts the `ok` and `not ok` lines.
. "$(dirname "$0")/greet.sh"

n=0
failed=0
check() {
  n=$((n + 1))
  if [ "$2" = "$3" ]; then
    echo "ok $n - $1"
  else
    echo "not ok $n - $1"
    echo "#   expected: '$3'"
    echo "#   got:      '$2'"
    failed=$((failed + 1))
  fi
}

echo "TAP version 13"
check "greets by name" "$(greet Ada)" "Hello, Ada!"
check "greets the world without a name" "$(greet)" "Hello, world!"
check "trims spaces around the name" "$(greet '  Bob ')" "Hello, Bob!"
echo "1..$n"
[ "$failed" -eq 0 ]
