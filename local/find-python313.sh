#!/usr/bin/env bash
# Prints the path of a working Python 3.13, from PATH or pyenv; prints nothing if there is none.
for cand in "$(command -v python3.13 2>/dev/null)"; do
  if [ -n "$cand" ] && "$cand" -c 'import sys; assert sys.version_info[:2] == (3, 13)' 2>/dev/null; then
    "$cand" -c 'import sys; print(sys.executable)'; exit 0
  fi
done
if command -v pyenv >/dev/null 2>&1; then
  for v in $(pyenv versions --bare 2>/dev/null | grep -E '^3\.13(\.|$)' | sort -V -r); do
    p="$(pyenv prefix "$v" 2>/dev/null)/bin/python3.13"
    [ -x "$p" ] && { echo "$p"; exit 0; }
  done
fi
exit 0
