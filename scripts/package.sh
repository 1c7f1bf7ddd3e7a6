#!/usr/bin/env bash
# Builds the Lambda packages for arm64 (provided.al2023) with cargo-lambda and zig, both from PyPI (pinned, in
# .venv/cargo-lambda, installed with uv):
#   target/lambda/<binary>/bootstrap       what infra/template.yaml's CodeUri points at (SAM zips the folder);
#   target/lambda-zip/<binary>/bootstrap.zip the same binary zipped, ready to upload as is.
# CA bundles in infra/certs/*.pem (e.g. RDS's global-bundle.pem, for DATABASE_URL's sslrootcert) are copied beside
# each bootstrap (in its folder and its zip), so a function finds them under /var/task/. Then prints
# `zip_bytes_<function>: N` per function. The two poller functions (dispatch and worker) ship the same `poller`
# binary and so the same zip; POLLER_ROLE tells them apart.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

CARGO_LAMBDA_VERSION="1.9.2"
# cargo-zigbuild (inside cargo-lambda) supports zig up to 0.14 well; later releases change its command line.
ZIGLANG_VERSION="0.14.1"
CARGO_LAMBDA_EXCLUDE_NEWER="2026-11-01"
CARGO_LAMBDA_VENV="$ROOT/.venv/cargo-lambda"
TARGET_TRIPLE="aarch64-unknown-linux-gnu"
BINARIES=(api ingestion poller)
MAX_ZIP_BYTES=$((10 * 1024 * 1024))

install_cargo_lambda() {
  if "$CARGO_LAMBDA_VENV/bin/cargo-lambda" lambda --version 2>/dev/null | grep -q " $CARGO_LAMBDA_VERSION" &&
    "$CARGO_LAMBDA_VENV/bin/python" -c "import ziglang" 2>/dev/null; then
    return
  fi
  log "installing cargo-lambda $CARGO_LAMBDA_VERSION and ziglang $ZIGLANG_VERSION into .venv/cargo-lambda (one time)"
  tool_venv "$CARGO_LAMBDA_VENV" "$CARGO_LAMBDA_EXCLUDE_NEWER" \
    "cargo-lambda==$CARGO_LAMBDA_VERSION" "ziglang==$ZIGLANG_VERSION"
}

ensure_rust_target() {
  if rustc --print sysroot >/dev/null && [[ -d "$(rustc --print sysroot)/lib/rustlib/$TARGET_TRIPLE" ]]; then return; fi
  command -v rustup >/dev/null || die "the Rust standard library for $TARGET_TRIPLE is missing and rustup is not installed"
  log "adding the Rust target $TARGET_TRIPLE (one time)"
  rustup target add "$TARGET_TRIPLE"
}

# cargo lambda build FORMAT DIR: the three binaries for arm64 in release, into DIR/<binary>/.
lambda_build() {
  local bins=()
  for bin in "${BINARIES[@]}"; do bins+=(--bin "$bin"); done
  # The venv's bin comes first: cargo-lambda finds zig through `python3 -m ziglang` there.
  PATH="$CARGO_LAMBDA_VENV/bin:$PATH" cargo lambda build --release --arm64 --output-format "$1" --lambda-dir "$2" \
    "${bins[@]}"
}

install_cargo_lambda
ensure_rust_target
log "building ${BINARIES[*]} for $TARGET_TRIPLE (release; the first build takes several minutes)"
lambda_build binary "$ROOT/target/lambda"
lambda_build zip "$ROOT/target/lambda-zip"
shopt -s nullglob
bundles=("$ROOT"/infra/certs/*.pem)
if ((${#bundles[@]} > 0)); then
  for bin in "${BINARIES[@]}"; do
    cp "${bundles[@]}" "$ROOT/target/lambda/$bin/"
    python3 - "$ROOT/target/lambda-zip/$bin/bootstrap.zip" "${bundles[@]}" <<'PY'
import os, sys, zipfile
with zipfile.ZipFile(sys.argv[1], "a", zipfile.ZIP_DEFLATED) as archive:
    present = set(archive.namelist())
    for bundle in sys.argv[2:]:
        if os.path.basename(bundle) not in present:
            archive.write(bundle, arcname=os.path.basename(bundle))
PY
  done
  log "added ${bundles[*]##*/} beside each bootstrap, in its folder and its zip (/var/task/ in Lambda)"
fi

too_big=()
for function in api ingestion poller_dispatch poller_worker; do
  binary="${function%%_*}"
  zip="$ROOT/target/lambda-zip/$binary/bootstrap.zip"
  [[ -f "$zip" && -x "$ROOT/target/lambda/$binary/bootstrap" ]] || die "cargo lambda produced no package for $binary"
  bytes="$(stat -c %s "$zip")"
  echo "zip_bytes_$function: $bytes"
  ((bytes <= MAX_ZIP_BYTES)) || too_big+=("$function")
done
((${#too_big[@]} == 0)) || warn "over the 10 MiB target: ${too_big[*]}"
