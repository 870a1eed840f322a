#!/usr/bin/env python3
"""Event wiring: every sample in events/ that arrives through EventBridge must be matched by the
rule meant for it (the one whose target is the function the sample belongs to) and by no other.

The patterns are the ones in the synthesized WardenWiring template, loaded into the local AWS's
EventBridge (moto) with an SQS queue behind each rule; each sample is put on the bus and the
queues say which rules matched. moto's TestEventPattern is broken (always false), but PutEvents
routing applies real pattern semantics (prefix, numeric, exists, anything-but, ...); it cannot
match fields inside arrays of objects, which no Warden pattern uses.

Also checked: variants that must reach nothing (an alarm returning to OK, Warden's own ops
alarms, a failed API call, a compliant evaluation, a low-severity finding); scheduled samples
name a schedule rule that targets their function; Config rule samples name a deployed rule
whose source is the config-rules function.

Usage: check_event_wiring.py CDK_OUT_DIR EVENTS_DIR (needs AWS_ENDPOINT_URL of the local AWS).
"""
import copy
import json
import os
import sys
import uuid
from pathlib import Path

import boto3

PASS, FAIL = "ok  ", "FAIL"


def load(path: Path) -> dict:
    return json.loads(path.read_text())


def function_names(cdk_out: Path) -> dict:
    """Export name or logical id of each function → its FunctionName, from the Functions template."""
    template = load(cdk_out / "WardenFunctions.template.json")
    by_logical = {
        lid: r["Properties"]["FunctionName"]
        for lid, r in template["Resources"].items()
        if r["Type"] == "AWS::Lambda::Function"
    }
    names = dict(by_logical)
    for output in template.get("Outputs", {}).values():
        value, export = output.get("Value"), output.get("Export", {}).get("Name")
        if export and isinstance(value, dict) and "Fn::GetAtt" in value and value["Fn::GetAtt"][0] in by_logical:
            names[export] = by_logical[value["Fn::GetAtt"][0]]
    return names


def target_function(arn, names: dict) -> str:
    if isinstance(arn, dict) and "Fn::ImportValue" in arn:
        return names.get(arn["Fn::ImportValue"], "?")
    if isinstance(arn, dict) and "Fn::GetAtt" in arn:
        return names.get(arn["Fn::GetAtt"][0], "?")
    return "?"


def main() -> int:
    cdk_out, events_dir = Path(sys.argv[1]), Path(sys.argv[2])
    names = function_names(cdk_out)
    wiring = load(cdk_out / "WardenWiring.template.json")["Resources"]
    pattern_rules, schedule_rules = {}, {}
    for rule in (r["Properties"] for r in wiring.values() if r["Type"] == "AWS::Events::Rule"):
        targets = sorted({target_function(t["Arn"], names) for t in rule.get("Targets", [])})
        if len(targets) != 1 or targets[0] == "?":
            print(f"{FAIL} rule {rule['Name']} targets {targets}: expected exactly one Warden function")
            return 1
        if "EventPattern" in rule:
            pattern_rules[rule["Name"]] = (rule["EventPattern"], targets[0])
        else:
            schedule_rules[rule["Name"]] = targets[0]

    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    session = boto3.session.Session(region_name=region)
    events, sqs = session.client("events"), session.client("sqs")
    bus = f"warden-wiring-{uuid.uuid4().hex[:8]}"
    events.create_event_bus(Name=bus)
    queues = {}
    for name, (pattern, _) in pattern_rules.items():
        events.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps(pattern), State="ENABLED")
        url = sqs.create_queue(QueueName=f"{bus}-{name}")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_targets(Rule=name, EventBusName=bus, Targets=[{"Id": "q", "Arn": arn}])
        queues[name] = url

    def matches(event: dict) -> list:
        entry = {
            "Source": event["source"],
            "DetailType": event["detail-type"],
            "Detail": json.dumps(event.get("detail", {})),
            "Resources": event.get("resources", []),
            "EventBusName": bus,
        }
        result = events.put_events(Entries=[entry])
        if result.get("FailedEntryCount"):
            raise RuntimeError(f"PutEvents refused the event: {result['Entries']}")
        hit = []
        for name, url in queues.items():
            messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
            for m in messages:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
            if messages:
                hit.append(name)
        return sorted(hit)

    failures, checked = 0, 0

    def report(ok: bool, text: str):
        nonlocal failures
        failures += 0 if ok else 1
        print(f"{PASS if ok else FAIL} {text}")

    samples = sorted(p for p in events_dir.glob("*/*.json"))
    for path in samples:
        sample = load(path)
        function = f"warden-{path.parent.name}"
        label = path.relative_to(events_dir)
        if not isinstance(sample, dict) or "detail-type" not in sample:
            continue  # not an EventBridge event (API Gateway, function URL, Config invocation, alarm action)
        checked += 1
        hit = matches(sample)
        if sample["detail-type"] == "Scheduled Event":
            rule = sample.get("resources", [""])[0].rsplit("/", 1)[-1]
            target = schedule_rules.get(rule)
            report(
                not hit and target == function,
                f"{label}: schedule rule {rule!r} targets {target}; pattern rules matched {hit or 'none'}",
            )
            continue
        meant = [name for name in hit if pattern_rules[name][1] == function]
        report(
            len(hit) == 1 and len(meant) == 1,
            f"{label}: matched {hit or 'no rule'} (expected exactly one rule targeting {function})",
        )

    # Variants that must reach no rule: what the functions would only ignore, or must never see.
    def variant(rel: str, change) -> dict:
        event = copy.deepcopy(load(events_dir / rel))
        change(event)
        return event

    def set_path(event: dict, dotted: str, value):
        node = event
        *parents, last = dotted.split(".")
        for key in parents:
            node = node[key]
        node[last] = value

    negatives = [
        ("an alarm returning to OK", variant("remediator/cloudwatch-alarm-gpu-utilization-instance.json",
            lambda e: (set_path(e, "detail.state.value", "OK"), set_path(e, "detail.previousState.value", "ALARM")))),
        ("Warden's own function-error alarm", variant("remediator/cloudwatch-alarm-asg-gpu-utilization.json",
            lambda e: set_path(e, "detail.alarmName", "warden-remediator-errors"))),
        ("an unrelated team's alarm", variant("remediator/cloudwatch-alarm-asg-gpu-utilization.json",
            lambda e: set_path(e, "detail.alarmName", "billing-estimated-charges"))),
        ("a failed AuthorizeSecurityGroupIngress", variant("remediator/cloudtrail-authorize-sg-ingress-11434.json",
            lambda e: set_path(e, "detail.errorCode", "Client.UnauthorizedOperation"))),
        ("a CloudTrail call that cannot open ingress", variant("remediator/cloudtrail-authorize-sg-ingress-11434.json",
            lambda e: set_path(e, "detail.eventName", "DescribeSecurityGroups"))),
        ("a compliant evaluation", variant("remediator/config-compliance-change-sg-noncompliant.json",
            lambda e: set_path(e, "detail.newEvaluationResult.complianceType", "COMPLIANT"))),
        ("a non-compliant volume (not a security group)", variant("remediator/config-compliance-change-sg-noncompliant.json",
            lambda e: (set_path(e, "detail.resourceType", "AWS::EC2::Volume"), set_path(e, "detail.configRuleName", "warden-volumes-encrypted")))),
        ("a low-severity GuardDuty finding", variant("remediator/guardduty-trojan-dns-exfiltration-medium.json",
            lambda e: set_path(e, "detail.severity", 2))),
        ("a GuardDuty finding about an S3 bucket", variant("remediator/guardduty-trojan-dns-exfiltration-medium.json",
            lambda e: set_path(e, "detail.resource", {"resourceType": "S3Bucket", "s3BucketDetails": []}))),
        ("someone else's event with Warden's detail-type", variant("remediator/warden-undo-request.json",
            lambda e: set_path(e, "source", "not.warden"))),
    ]
    for text, event in negatives:
        checked += 1
        hit = matches(event)
        report(not hit, f"{text}: matched {hit or 'no rule'} (expected none)")

    # Config rule samples name deployed rules whose source is the config-rules function.
    config_rules = {
        r["Properties"]["ConfigRuleName"]: r["Properties"]["Source"]
        for r in wiring.values()
        if r["Type"] == "AWS::Config::ConfigRule"
    }
    for path in sorted((events_dir / "config-rules").glob("*.json")):
        name = load(path).get("configRuleName")
        source = config_rules.get(name, {})
        identifier = source.get("SourceIdentifier")
        ok = source.get("Owner") == "CUSTOM_LAMBDA" and target_function(identifier, names) == "warden-config-rules"
        report(ok, f"{path.relative_to(events_dir)}: Config rule {name!r} is a CUSTOM_LAMBDA rule of warden-config-rules")
        checked += 1

    print(f"==> event wiring: {checked - failures}/{checked} checks passed ({len(pattern_rules)} pattern rules, {len(schedule_rules)} schedules)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
