#!/bin/sh
# A scripted stand-in for an AI coding agent, so that the demo runs anywhere in seconds.
# Like a real agent it reads its prompt, edits the code and commits. It fixes only what it
# is told about: the task names one failing test, and night's feedback names the other.
set -eu
sample=runbooks/demo/sample
[ -d "$sample" ] || sample=demo/sample   # when the demo is copied to a repository's root
prompt=$(cat)

commit() {
  git add "$sample/greet.sh"
  git -c user.name="demo agent" -c user.email="agent@night.invalid" commit -q -m "$1"
  echo "agent: committed: $1"
}

echo "agent: attempt ${NIGHT_ATTEMPT:-?}; reading the prompt ($(printf '%s\n' "$prompt" | wc -l) lines)"
sleep 1
if printf '%s' "$prompt" | grep -q "not ok 3 - trims spaces"; then
  echo "agent: night's feedback says the name must be trimmed; fixing that"
  cat > "$sample/greet.sh" <<'SH'
# greet NAME: print a greeting for NAME; with no name, greet the world.
greet() {
  name=$(printf '%s' "${1:-world}" | sed 's/^ *//; s/ *$//')
  echo "Hello, $name!"
}
SH
  commit "greet: trim spaces around the name"
else
  echo "agent: the task says an empty name must greet the world; fixing that"
  cat > "$sample/greet.sh" <<'SH'
# greet NAME: print a greeting for NAME; with no name, greet the world.
greet() {
  echo "Hello, ${1:-world}!"
}
SH
  commit "greet: greet the world when no name is given"
fi
sleep 1
echo "agent: done"
