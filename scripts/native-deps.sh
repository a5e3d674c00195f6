# Sourced by scripts/serve and scripts/test: the system packages the forward path's C
# piece (rtc/_wire.c, built by pip install through setup.py) needs to compile (a C compiler and Python's headers). Without
# them the install still succeeds and the server sends through the pure-Python path.
native_needs() {
  local need=()
  command -v cc >/dev/null 2>&1 || need+=(gcc)
  if ! python3 - <<'PY' 2>/dev/null
import os, sys, sysconfig
sys.exit(0 if os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")) else 1)
PY
  then
    need+=(python3-dev)
  fi
  echo "${need[@]}"
}
