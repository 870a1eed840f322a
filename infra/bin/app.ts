// Warden's CDK app: `make synth` (offline) and `make deploy` run it. Stacks, in dependency order:
// state → notifications → functions → wiring, API, monitoring; the pipeline deploys them all.
import { App, Tags, Validations } from 'aws-cdk-lib';
import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import { AwsSolutionsChecks } from 'cdk-nag';
import { buildWarden } from '../lib/warden';
import { applyScanSkips, cfnGuardDisabledRules } from '../lib/scan-skips';

const app = new App();
// `-c warden:bundle=false` (make synth, the tests): templates without building the Rust functions;
// the function code is then a placeholder, so such an assembly is for checking, not deploying.
if (String(app.node.tryGetContext('warden:bundle') ?? 'true') === 'false') {
  app.node.setContext('aws:cdk:bundling-stacks', []);
}
buildWarden(app);
applyScanSkips(app);
Tags.of(app).add('project', 'warden');
Validations.of(app).addPlugins(
  new AwsSolutionsChecks(app),
  new CfnGuardValidator({ disabledRules: cfnGuardDisabledRules() }),
);
app.synth();
