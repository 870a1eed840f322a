#!/usr/bin/env python3
"""cfn-lint and checkov on the synthesized templates. Skipped checks come from one file,
infra/scan-skips.json, each with its reason: checks that apply everywhere are passed to the
tools here; per-resource checkov skips are already in the templates' metadata (written by the
CDK app from the same file). Any finding fails the run.

Usage: scan_templates.py CDK_OUT_DIR SCAN_SKIPS_JSON SCANNER_BIN_DIR
"""
import json
import subprocess
import sys
from pathlib import Path


def main() -> int:
    cdk_out, skips_file, bin_dir = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    skips = json.loads(skips_file.read_text())
    templates = sorted(str(p) for p in cdk_out.glob("*.template.json"))
    if not templates:
        print(f"no templates in {cdk_out}: run `make synth` first", file=sys.stderr)
        return 2
    print(f"==> cfn-lint on {len(templates)} templates")
    lint_ignored = [check for check, skip in skips["cfnLint"].items() if not skip.get("resources")]
    for check in lint_ignored:
        print(f"    skipped {check}: {skips['cfnLint'][check]['reason']}")
    lint_cmd = [str(bin_dir / "cfn-lint"), *templates]
    if lint_ignored:
        lint_cmd += ["--ignore-checks", *lint_ignored]
    lint = subprocess.run(lint_cmd)
    print(f"==> checkov on {cdk_out}")
    checkov_global = [check for check, skip in skips["checkov"].items() if not skip.get("resources")]
    checkov_cmd = [str(bin_dir / "checkov"), "--framework", "cloudformation", "--skip-download", "--quiet", "--compact", "-d", str(cdk_out)]
    if checkov_global:
        checkov_cmd += ["--skip-check", ",".join(checkov_global)]
    checkov = subprocess.run(checkov_cmd, capture_output=True, text=True)
    print(checkov.stdout.strip() or "checkov: no findings")
    ok = lint.returncode == 0 and checkov.returncode == 0
    print("==> template scans passed" if ok else "==> template scans FAILED (fix the template, or add a skip with its reason)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
