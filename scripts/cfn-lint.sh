#!/usr/bin/env bash
# Lints the SAM template (infra/template.yaml) with cfn-lint, pinned, installed with uv into .venv/cfn-lint on first
# use. Fails on any error or warning; a rule the template must break is ignored in its `Metadata: cfn-lint`, with why.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

CFN_LINT_VERSION="1.43.4"
# Resolve cfn-lint's dependencies as of this date too, so a new release of one of them cannot change the result.
CFN_LINT_EXCLUDE_NEWER="2026-02-03"
CFN_LINT_VENV="$ROOT/.venv/cfn-lint"

install_cfn_lint() {
  if [[ "$("$CFN_LINT_VENV/bin/cfn-lint" --version 2>/dev/null)" == "cfn-lint $CFN_LINT_VERSION" ]]; then return; fi
  log "installing cfn-lint $CFN_LINT_VERSION into .venv/cfn-lint (one time)"
  tool_venv "$CFN_LINT_VENV" "$CFN_LINT_EXCLUDE_NEWER" "cfn-lint==$CFN_LINT_VERSION"
}

install_cfn_lint
log "cfn-lint infra/template.yaml"
"$CFN_LINT_VENV/bin/cfn-lint" -- infra/template.yaml
