// The checks the scanners skip live in ../scan-skips.json, one file, each with its reason and,
// where it is about particular resources, their construct paths. cfn-guard runs inside the synth
// (acknowledged per resource, or disabled when it applies everywhere); checkov reads per-resource
// skips from the template metadata this writes; cfn-lint and global checkov skips are passed by
// scripts/scan-templates.sh.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { CfnResource, Validations, type App } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

export interface Skip {
  readonly reason: string;
  /** Construct paths (prefixes, e.g. `WardenFunctions/Approvals`); absent: every resource. */
  readonly resources?: string[];
}
export type Tool = 'cfnGuard' | 'cfnLint' | 'checkov';
export type ScanSkips = Record<Tool, Record<string, Skip>>;

export const SCAN_SKIPS_FILE = path.join(__dirname, '..', 'scan-skips.json');

export function scanSkips(): ScanSkips {
  const raw = JSON.parse(readFileSync(SCAN_SKIPS_FILE, 'utf8'));
  for (const tool of ['cfnGuard', 'cfnLint', 'checkov'] as const) {
    for (const [check, skip] of Object.entries<Skip>(raw[tool] ?? {})) {
      if (typeof skip?.reason !== 'string' || skip.reason.trim().length < 20) {
        throw new Error(`scan-skips.json: ${tool} ${check} needs a reason`);
      }
    }
  }
  return raw as ScanSkips;
}

/** cfn-guard rules skipped everywhere (the plugin's disabledRules). */
export function cfnGuardDisabledRules(): string[] {
  return Object.entries(scanSkips().cfnGuard)
    .filter(([, skip]) => !skip.resources)
    .map(([rule]) => rule);
}

function covers(skip: Skip, resource: IConstruct): boolean {
  return skip.resources?.some((prefix) => resource.node.path === prefix || resource.node.path.startsWith(`${prefix}/`)) ?? false;
}

/** Per-resource skips: cfn-guard acknowledgements and checkov template metadata. */
export function applyScanSkips(app: App): void {
  const skips = scanSkips();
  const used = new Set<string>();
  for (const construct of app.node.findAll()) {
    if (!(construct instanceof CfnResource)) continue;
    for (const [rule, skip] of Object.entries(skips.cfnGuard)) {
      if (covers(skip, construct)) {
        Validations.of(construct).acknowledge({ id: `cdk-validator-cfnguard::${rule}`, reason: skip.reason });
        used.add(`cfnGuard ${rule}`);
      }
    }
    const checkov = Object.entries(skips.checkov)
      .filter(([, skip]) => covers(skip, construct))
      .map(([id, skip]) => ({ id, comment: skip.reason }));
    if (checkov.length > 0) {
      construct.addMetadata('checkov', { skip: checkov });
      checkov.forEach(({ id }) => used.add(`checkov ${id}`));
    }
  }
  // A skip that names resources no longer there is stale: say so rather than keep it silently.
  for (const tool of ['cfnGuard', 'checkov'] as const) {
    for (const [check, skip] of Object.entries(skips[tool])) {
      if (skip.resources && !used.has(`${tool} ${check}`)) {
        throw new Error(`scan-skips.json: ${tool} ${check} names resources that do not exist: ${skip.resources.join(', ')}`);
      }
    }
  }
}
