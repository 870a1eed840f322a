#!/usr/bin/env python3
"""Warden's demo, end to end against the local AWS (moto), and its end-to-end check.

  demo.py           tell the story: an Ollama security group open to the world is found,
                    revoked, recorded, notified, and undone, through `cargo lambda invoke`
  demo.py --check   the same run with assertions, plus every sample in events/remediator/
                    invoked as it is (used by `make test`)

Needs the local AWS up (the Makefile does it) and the environment the Makefile exports.
boto3 here plays the user's own tooling (seeding an account); Warden itself is the Rust code.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import boto3

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ROOT / "events" / "remediator"
VALIDATOR_EVENTS = ROOT / "events" / "request-validator"
FAKE_OLLAMA_PORT = int(os.environ.get("WARDEN_FAKE_OLLAMA_PORT", "11435"))
SUSPENSION_CACHE_SECONDS = 1
STATE = ROOT / ".local"
SAMPLE_GROUP = "sg-0a1b2c3d4e5f60718"
SAMPLE_INSTANCE = "i-0a1b2c3d4e5f67890"
AMI = "ami-12c6146b"  # shipped by the local AWS
ENDPOINT = os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:5000")
REGION = os.environ.get("AWS_REGION", "us-east-1")
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
INVOKE_PORT = int(os.environ.get("WARDEN_INVOKE_PORT", "9100"))
TABLE = "warden"
APPROVALS_URL = f"http://127.0.0.1:{INVOKE_PORT}/lambda-url/approvals/"
APPROVAL_KEY = os.urandom(24).hex()
# The organisation's sign-in, played by a real OpenID Connect provider run locally (tests/oidc):
# approvers sign in there; alice@example.com approves everything, her password is alice-password.
OIDC_PORT = int(os.environ.get("WARDEN_OIDC_PORT", "9200"))
OIDC_ISSUER = f"http://127.0.0.1:{OIDC_PORT}"
OIDC_CLIENT_SECRET = os.urandom(16).hex()
APPROVERS = json.dumps({"*": ["alice@example.com"]}, separators=(",", ":"))
TOPIC = "warden-notifications"
# Operators ask Warden for undos and releases through its own bus, signed with their role's
# credentials; the remediator acts only for sessions of this role.
OPERATOR_ROLE = "arn:aws:iam::123456789012:role/warden-operator"
REQUESTS_BUS = "warden-requests"

BOLD, DIM, RED, GREEN, YELLOW, RESET = ("\033[1m", "\033[2m", "\033[31m", "\033[32m", "\033[33m", "\033[0m") if sys.stdout.isatty() else ("",) * 6


def refusal_of(body: str) -> dict:
    """A refusal in Ollama's error shape (`error` is the message clients show, `code` beside it)."""
    answer = json.loads(body)
    return {**answer, "message": answer["error"]}


class Demo:
    def __init__(self, check: bool):
        self.check = check
        kw = dict(endpoint_url=ENDPOINT, region_name=REGION)
        self.ec2 = boto3.client("ec2", **kw)
        self.ddb = boto3.client("dynamodb", **kw)
        self.sns = boto3.client("sns", **kw)
        self.autoscaling = boto3.client("autoscaling", **kw)
        self.elb = boto3.client("elbv2", **kw)
        self.iam = boto3.client("iam", **kw)
        self.sts = boto3.client("sts", **kw)
        self.sqs = boto3.client("sqs", **kw)
        self.events = boto3.client("events", **kw)
        self.operator_env: dict = {}
        self.relay: threading.Thread | None = None
        self.relaying = threading.Event()
        self.delivered: list[tuple[str, bool, dict | str]] = []
        self.watch: subprocess.Popen | None = None
        self.oidc: subprocess.Popen | None = None
        self.step_no = 0

    # ---------- output ----------
    def step(self, title: str, why: str = ""):
        self.step_no += 1
        print(f"\n{BOLD}{self.step_no}. {title}{RESET}")
        if why:
            print(f"   {DIM}{why}{RESET}")

    def say(self, text: str = ""):
        for line in text.splitlines() or [""]:
            print(f"   {line}")

    def expect(self, condition: bool, what: str):
        if condition:
            if self.check:
                self.say(f"{GREEN}✓{RESET} {what}")
            return
        raise SystemExit(f"{RED}CHECK FAILED:{RESET} {what}")

    # ---------- the local account ----------
    def reset(self):
        urllib.request.urlopen(urllib.request.Request(f"{ENDPOINT}/moto-api/reset", method="POST"))

    def setup_warden_state(self) -> str:
        self.ddb.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        topic = self.sns.create_topic(Name=TOPIC)["TopicArn"]
        self.sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="secops@example.com")
        # Warden's own bus, and its rule for operator requests. In AWS the rule's target is the
        # remediator; here a queue, which the relay below hands to `cargo lambda invoke`.
        self.events.create_event_bus(Name=REQUESTS_BUS)
        queue = self.sqs.create_queue(QueueName="warden-requests-delivery")["QueueUrl"]
        queue_arn = self.sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.events.put_rule(Name="warden-operator-requests", EventBusName=REQUESTS_BUS, EventPattern=json.dumps(
            {"source": ["warden"], "detail-type": ["Warden Undo Request", "Warden Release Request"]}))
        self.events.put_targets(Rule="warden-operator-requests", EventBusName=REQUESTS_BUS,
                                Targets=[{"Id": "remediator", "Arn": queue_arn}])
        self.queue = queue
        return topic

    def operator_session(self, role: str, session: str) -> dict:
        """The environment of someone who assumed `role` (as SSO or `aws sts assume-role` gives it)."""
        c = self.sts.assume_role(RoleArn=role, RoleSessionName=session)["Credentials"]
        return dict(AWS_ACCESS_KEY_ID=c["AccessKeyId"], AWS_SECRET_ACCESS_KEY=c["SecretAccessKey"],
                    AWS_SESSION_TOKEN=c["SessionToken"])

    def relay_requests(self):
        """EventBridge delivering the bus's events to the remediator, played by a queue and `cargo lambda invoke`."""
        n = 0
        while self.relaying.is_set():
            try:
                messages = self.sqs.receive_message(QueueUrl=self.queue, WaitTimeSeconds=1,
                                                    MaxNumberOfMessages=10).get("Messages", [])
            except Exception:  # the local AWS is being reset between parts of the demo
                time.sleep(0.3)
                continue
            for m in messages:
                n += 1
                event = json.loads(m["Body"])
                path = STATE / "events" / f"bus-{n}.json"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(json.dumps(event, indent=2))
                ok, out = self.invoke(path)
                self.delivered.append((event.get("detail-type", "?"), ok, out))
                self.sqs.delete_message(QueueUrl=self.queue, ReceiptHandle=m["ReceiptHandle"])

    def group(self, vpc: str, name: str, description: str) -> str:
        return self.ec2.create_security_group(GroupName=name, Description=description, VpcId=vpc)["GroupId"]

    def allow(self, group: str, proto: str, ports: tuple[int, int] | None, cidr: str, description: str) -> str:
        perm: dict = {"IpProtocol": proto}
        if ports:
            perm["FromPort"], perm["ToPort"] = ports
        key = "Ipv6Ranges" if ":" in cidr else "IpRanges"
        perm[key] = [{("CidrIpv6" if ":" in cidr else "CidrIp"): cidr, "Description": description}]
        out = self.ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[perm])
        return out["SecurityGroupRules"][0]["SecurityGroupRuleId"]

    def rules(self, group: str) -> list[dict]:
        rules = self.ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [group]}])["SecurityGroupRules"]
        return sorted((r for r in rules if not r["IsEgress"]), key=lambda r: (r.get("FromPort", -1), r.get("CidrIpv4", r.get("CidrIpv6", ""))))

    def show_rules(self, group: str, name: str):
        self.say(f"{BOLD}{name}{RESET} {DIM}({group}){RESET}")
        rules = self.rules(group)
        if not rules:
            self.say("   (no ingress rules)")
        for r in rules:
            src = r.get("CidrIpv4") or r.get("CidrIpv6") or "?"
            ports = "all traffic" if r["IpProtocol"] == "-1" else (
                f"{r['IpProtocol']} {r['FromPort']}" if r["FromPort"] == r["ToPort"] else f"{r['IpProtocol']} {r['FromPort']}-{r['ToPort']}")
            world = src in ("0.0.0.0/0", "::/0")
            sensitive = r["IpProtocol"] == "-1" or (r["IpProtocol"] == "tcp" and any(r["FromPort"] <= p <= r["ToPort"] for p in (11434, 22)))
            mark = (f"{RED}EXPOSED{RESET}" if world and sensitive else f"{YELLOW}public {RESET}" if world else f"{DIM}scoped {RESET}")
            self.say(f"   {mark}  {ports:<16} from {src:<16} {DIM}{r['SecurityGroupRuleId']}  \"{r.get('Description', '')}\"{RESET}")

    # ---------- the remediator, through cargo lambda ----------
    def start_remediator(self, topic: str):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", INVOKE_PORT)) == 0:
                raise SystemExit(f"port {INVOKE_PORT} is already in use (another `cargo lambda watch`?): "
                                 "stop it, or pick another port with WARDEN_INVOKE_PORT=…")
        STATE.mkdir(exist_ok=True)
        log = open(STATE / "remediator.log", "w")
        env = dict(os.environ, WARDEN_TABLE_NAME=TABLE, WARDEN_TOPIC_ARN=topic, WARDEN_LOG_FORMAT="text")
        # A fresh signing key per run; the links point at the approvals function's local URL.
        envs = (f"WARDEN_TABLE_NAME={TABLE},WARDEN_TOPIC_ARN={topic},WARDEN_LOG_FORMAT=text,"
                f"WARDEN_APPROVALS_URL={APPROVALS_URL},WARDEN_APPROVAL_KEY={APPROVAL_KEY},"
                f"OLLAMA_URL=http://127.0.0.1:{FAKE_OLLAMA_PORT},WARDEN_SUSPENSION_CACHE_SECONDS={SUSPENSION_CACHE_SECONDS},"
                "WARDEN_IDENTITY_SOURCE=authorizer")
        # The alarms Warden trusts: the ones the samples name (in a deployment, the ones the
        # monitoring stack created); per-instance alarms by a name prefix, as an operator who
        # creates one per node would list them. A list with commas, so in a file.
        trusted = sorted({arn.replace(SAMPLE_INSTANCE, "i-*") for path in EVENTS.glob("*.json")
                          for arn in re.findall(r"arn:aws:cloudwatch:[a-z0-9-]+:\d{12}:alarm:[A-Za-z0-9-]+", path.read_text())})
        env_file = STATE / "remediator.env"
        env_file.write_text(f"WARDEN_TRUSTED_ALARMS={','.join(trusted)}\nWARDEN_OPERATORS={OPERATOR_ROLE}\n"
                            f"WARDEN_OIDC_ISSUER={OIDC_ISSUER}\nWARDEN_OIDC_CLIENT_ID=warden-approvals\n"
                            f"WARDEN_OIDC_CLIENT_SECRET={OIDC_CLIENT_SECRET}\nWARDEN_APPROVERS='{APPROVERS}'\n")
        self.start_sign_in_provider()
        self.watch = subprocess.Popen(
            ["cargo", "lambda", "watch", "--quiet", "--ignore-changes", "-P", str(INVOKE_PORT), "--env-var", envs,
             "--env-file", str(env_file)],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
        )
        deadline = time.time() + 120
        while time.time() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", INVOKE_PORT)) == 0:
                    self.relaying.set()
                    self.relay = threading.Thread(target=self.relay_requests, daemon=True)
                    self.relay.start()
                    return
            if self.watch.poll() is not None:
                raise SystemExit(f"cargo lambda watch exited; see {STATE / 'remediator.log'}")
            time.sleep(0.3)
        raise SystemExit("cargo lambda watch did not start listening within 120 s")

    def start_sign_in_provider(self):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", OIDC_PORT)) == 0:
                raise SystemExit(f"port {OIDC_PORT} is already in use: stop what runs there, or pick another port with WARDEN_OIDC_PORT=…")
        if not (ROOT / "tests" / "oidc" / "node_modules" / "oidc-provider").exists():
            raise SystemExit("the local OpenID Connect provider is not installed: run 'make client-deps'")
        self.oidc = subprocess.Popen(
            ["node", str(ROOT / "tests" / "oidc" / "provider.mjs"), str(OIDC_PORT), APPROVALS_URL, OIDC_CLIENT_SECRET],
            stdout=subprocess.PIPE, stderr=open(STATE / "oidc-provider.log", "w"), text=True)
        line = self.oidc.stdout.readline()
        if not line.startswith("ready "):
            raise SystemExit(f"the OpenID Connect provider did not start; see {STATE / 'oidc-provider.log'}")
        # Keep reading what it prints: a closed pipe would stop it.
        threading.Thread(target=lambda: [None for _ in self.oidc.stdout], daemon=True).start()

    def stop_remediator(self):
        self.relaying.clear()
        if self.relay:
            self.relay.join(timeout=10)
        if self.oidc and self.oidc.poll() is None:
            self.oidc.terminate()
            self.oidc.wait(timeout=10)
        if self.watch and self.watch.poll() is None:
            os.killpg(self.watch.pid, 15)
            self.watch.wait(timeout=10)
        if getattr(self, "ollama", None) and self.ollama.poll() is None:
            self.ollama.terminate()
            self.ollama.wait(timeout=10)

    def invoke(self, event_file: Path, function: str = "remediator") -> tuple[bool, dict | str]:
        out = subprocess.run(
            ["cargo", "lambda", "invoke", function, "-P", str(INVOKE_PORT), "--data-file", str(event_file)],
            cwd=ROOT, capture_output=True, text=True, timeout=300,
        )
        if out.returncode == 0:
            return True, json.loads(out.stdout)
        return False, (out.stderr + out.stdout).strip()

    def sample_for(self, name: str, group: str = SAMPLE_GROUP, instance: str = SAMPLE_INSTANCE, **overrides) -> Path:
        """A sample event pointed at the demo account's group or instance (moto assigns its own ids)."""
        event = json.loads((EVENTS / name).read_text().replace(SAMPLE_GROUP, group).replace(SAMPLE_INSTANCE, instance))
        for path, value in overrides.items():
            node = event
            *parents, leaf = path.split(".")
            for p in parents:
                node = node[p]
            node[leaf] = value
        dest = STATE / "events" / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(json.dumps(event, indent=2))
        return dest

    def report(self, r: dict):
        """Print a remediator response readably."""
        colour = {"completed": GREEN, "undone": GREEN, "no_op": DIM, "dry_run": YELLOW}.get(r["status"], YELLOW)
        self.say(f"{colour}{r['status']}{RESET}{' (duplicate delivery)' if r.get('duplicate') else ''}  "
                 f"{DIM}{r.get('remediation_id') or ''}  {r.get('duration_ms', 0)} ms{RESET}")
        self.say(r["summary"])
        for rule in r.get("revoked", []):
            src = rule["source"].get("cidr_ipv4") or rule["source"].get("cidr_ipv6")
            ports = ("all traffic" if rule["ip_protocol"] == "-1" else f"{rule['ip_protocol']} {rule['from_port']}"
                     if rule["from_port"] == rule["to_port"] else f"{rule['ip_protocol']} {rule['from_port']}-{rule['to_port']}")
            self.say(f"   {RED}revoked{RESET}  {rule['group_id']} {rule['rule_id']}: {ports} from {src}")
        for line in r.get("exempted", []):
            self.say(f"   {YELLOW}exempt{RESET}   {line}")

    def gpu_node(self, vpc: str, subnet_cidr: str = "10.0.1.0/24", suffix: str = "") -> dict:
        """A GPU node as our users run them: in an Auto Scaling group behind a target group,
        registered in a second one, two network interfaces, an instance profile, an Elastic IP."""
        subnet = self.ec2.create_subnet(VpcId=vpc, CidrBlock=subnet_cidr)["Subnet"]["SubnetId"]
        app = self.group(vpc, "ollama-api" + suffix, "Ollama API from the load balancer")
        data = self.group(vpc, "ollama-data" + suffix, "Model store access")
        inst = self.ec2.run_instances(ImageId=AMI, InstanceType="g4dn.xlarge", MinCount=1, MaxCount=1,
                                      NetworkInterfaces=[{"DeviceIndex": 0, "SubnetId": subnet, "Groups": [app]}],
                                      TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Service", "Value": "Ollama"}]}])["Instances"][0]
        iid = inst["InstanceId"]
        eni0 = inst["NetworkInterfaces"][0]["NetworkInterfaceId"]
        eni1 = self.ec2.create_network_interface(SubnetId=subnet, Groups=[data])["NetworkInterface"]["NetworkInterfaceId"]
        self.ec2.attach_network_interface(NetworkInterfaceId=eni1, InstanceId=iid, DeviceIndex=1)
        tg = lambda name: self.elb.create_target_group(Name=name, Protocol="HTTP", Port=11434, VpcId=vpc,
                                                       TargetType="instance")["TargetGroups"][0]["TargetGroupArn"]
        fleet_tg, canary_tg = tg("ollama-fleet" + suffix), tg("ollama-canary" + suffix)
        self.ec2.create_launch_template(LaunchTemplateName="ollama-gpu" + suffix, LaunchTemplateData={"ImageId": AMI, "InstanceType": "g4dn.xlarge"})
        self.autoscaling.create_auto_scaling_group(AutoScalingGroupName="ollama-gpu-fleet" + suffix, MinSize=0, MaxSize=4, DesiredCapacity=0,
                                                   LaunchTemplate={"LaunchTemplateName": "ollama-gpu" + suffix}, VPCZoneIdentifier=subnet,
                                                   TargetGroupARNs=[fleet_tg])
        self.autoscaling.attach_instances(AutoScalingGroupName="ollama-gpu-fleet" + suffix, InstanceIds=[iid])
        self.elb.register_targets(TargetGroupArn=canary_tg, Targets=[{"Id": iid, "Port": 11434}])
        profile = self.iam.create_instance_profile(InstanceProfileName="ollama-gpu-node" + suffix)["InstanceProfile"]["Arn"]
        self.ec2.associate_iam_instance_profile(InstanceId=iid, IamInstanceProfile={"Arn": profile})
        alloc = self.ec2.allocate_address(Domain="vpc")["AllocationId"]
        self.ec2.associate_address(AllocationId=alloc, NetworkInterfaceId=eni0)
        return {"id": iid, "enis": {eni0: [app], eni1: [data]}, "fleet_tg": fleet_tg, "canary_tg": canary_tg, "profile": profile}

    def node_view(self, node: dict):
        for eni in node["enis"]:
            groups = [g["GroupId"] for g in self.ec2.describe_network_interfaces(NetworkInterfaceIds=[eni])["NetworkInterfaces"][0]["Groups"]]
            names = [g["GroupName"] for g in self.ec2.describe_security_groups(GroupIds=groups)["SecurityGroups"]]
            self.say(f"   {eni}: {', '.join(names)}")
        asg = self.autoscaling.describe_auto_scaling_instances(InstanceIds=[node["id"]])["AutoScalingInstances"]
        serving = [tg.split("/")[-2] for tg in (node["fleet_tg"], node["canary_tg"])
                   if any(d["Target"]["Id"] == node["id"] for d in self.elb.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"])]
        prof = self.ec2.describe_iam_instance_profile_associations(Filters=[{"Name": "instance-id", "Values": [node["id"]]}])["IamInstanceProfileAssociations"]
        self.say(f"   Auto Scaling: {asg[0]['LifecycleState'] if asg else 'detached'}; serving in: {', '.join(serving) or 'nothing'}; "
                 f"profile: {prof[0]['IamInstanceProfile']['Arn'].split('/')[-1] if prof else 'none'}")

    def interface_group_ids(self, eni: str) -> list[str]:
        return sorted(g["GroupId"] for g in self.ec2.describe_network_interfaces(NetworkInterfaceIds=[eni])["NetworkInterfaces"][0]["Groups"])

    def incident(self, r: dict):
        colour = {"isolated": GREEN, "released": GREEN, "pending_approval": YELLOW}.get(r["status"], YELLOW)
        ttc = f"  contained in {r['time_to_containment_ms']} ms" if r.get("time_to_containment_ms") is not None else ""
        self.say(f"{colour}{r['status']}{RESET}{' (duplicate delivery)' if r.get('duplicate') else ''}  "
                 f"{DIM}{r['incident_id']}  policy {r['response']} ({r['decided_by_rule']}){RESET}{ttc}")
        self.say(r["summary"])
        for st in sorted(r.get("steps", []), key=lambda x: x["finished_ms"]):
            mark = f"{GREEN}done{RESET}" if st["state"] == "done" else f"{RED}FAILED{RESET}"
            self.say(f"   {st['started_ms']:>4}-{st['finished_ms']:>4} ms  {mark}  {st['step']:<25} {DIM}{st['detail'] or st.get('error') or ''}{RESET}")

    def isolation_story(self, vpc: str):
        self.step("A compromised GPU node", "In the Auto Scaling group ollama-gpu-fleet, serving Ollama, two interfaces, a role, an Elastic IP.")
        node = self.gpu_node(vpc)
        self.say(f"{BOLD}{node['id']}{RESET}")
        self.node_view(node)

        self.step("GuardDuty: CryptoCurrency:EC2/BitcoinTool.B!DNS, severity 8",
                  "events/remediator/guardduty-cryptocurrency-bitcointool-dns-high.json: the policy says isolate now")
        ok, inc = self.invoke(self.sample_for("guardduty-cryptocurrency-bitcointool-dns-high.json", instance=node["id"]))
        self.expect(ok, f"the remediator answered: {inc if not ok else 'ok'}")
        self.incident(inc)
        self.expect(inc["status"] == "isolated", "the node is isolated")
        quarantine = self.ec2.describe_security_groups(Filters=[{"Name": "tag:warden:role", "Values": ["quarantine"]},
                                                               {"Name": "vpc-id", "Values": [vpc]}])["SecurityGroups"][0]["GroupId"]
        self.expect(all(self.interface_group_ids(e) == [quarantine] for e in node["enis"]), "both interfaces are in the quarantine group only")
        self.node_view(node)

        self.step("A CloudWatch alarm on the same node, a minute later", "Duplicate alarms and findings must not race or repeat.")
        ok, dup = self.invoke(self.sample_for("cloudwatch-alarm-gpu-utilization-instance.json", instance=node["id"]))
        self.incident(dup)
        self.expect(ok and dup["duplicate"] and dup["incident_id"] == inc["incident_id"], "recorded against the same incident, nothing changed")

        self.step("The incident record", f"warden incident {inc['incident_id']}")
        self.say(self.warden("incident", inc["incident_id"]))

        self.step("Release", f"warden release {inc['incident_id']}: the request goes to Warden's bus, signed by your role session; "
                  "an approver approves it from the email.")
        self.say(self.warden("release", inc["incident_id"]))
        subject, body = self.published()[-1]
        self.expect(subject.startswith("[Warden] APPROVAL NEEDED") and inc["incident_id"] in json.loads(body)["email"],
                    "the release request was emailed to the approvers")
        link = next(l.split(": ", 1)[1].strip() for l in json.loads(body)["email"].splitlines() if l.startswith("Approve: "))
        seen = self.sign_in_and_decide(link)
        self.say(f"alice@example.com signs in and approves ({seen['approve_status']}): {seen['outcome'][:160]}")
        self.expect(seen["approve_status"] == 200 and "approved and done" in seen["outcome"], "the approval released the node")
        self.node_view(node)
        self.expect(all(self.interface_group_ids(e) == sorted(g) for e, g in node["enis"].items()), "every interface has its own groups back")

    def approval_story(self, vpc: str):
        self.step("A medium-severity finding on another node",
                  "events/remediator/guardduty-trojan-dns-exfiltration-medium.json: protect the evidence now, ask before cutting it off")
        node = self.gpu_node(vpc, subnet_cidr="10.0.2.0/24", suffix="-b")
        ok, inc = self.invoke(self.sample_for("guardduty-trojan-dns-exfiltration-medium.json", instance=node["id"]))
        self.expect(ok, f"the remediator answered: {inc if not ok else 'ok'}")
        self.incident(inc)
        self.expect(inc["status"] == "pending_approval", "evidence protected, the rest waits for a human")
        self.expect(not self.quarantined(node, vpc), "the node still serves")

        self.step("The approval email", "One SNS message; the links open a page, and only the page's button acts.")
        subject, body = self.published()[-1]
        self.expect(subject.startswith("[Warden] APPROVAL NEEDED"), "the request was emailed")
        text = json.loads(body)["email"]
        self.say(f"{BOLD}Subject: {subject}{RESET}")
        self.say(text)
        link = next(l.split(": ", 1)[1].strip() for l in text.splitlines() if l.startswith("Approve: "))

        self.step("A link scanner fetches the link", "Outlook Safe Links and friends GET every link: nothing may happen.")
        for _ in range(3):
            status = urllib.request.urlopen(link).status
        self.expect(status == 200 and not self.quarantined(node, vpc), "three GETs, still nothing done")
        self.say("GET x3 -> 200, the node is untouched")

        self.step("Someone who holds the email posts the page's form",
                  "A forwarded email, or a topic subscriber: the link alone must not decide.")
        status, page = self.http("GET", link)
        form = dict(re.findall(r'name="(\w+)" value="([^"]*)"', page))
        for step in ("confirm", ""):
            status, answer = self.http("POST", link, {**form, "step": step})
            self.expect(status == 401 and "Sign in first" in answer, f"refused without signing in ({status})")
        self.say(f"POST of the link's own form -> {status}: sign in first; the node is untouched")
        self.expect(not self.quarantined(node, vpc), "nothing done")

        self.step("Alice opens the link, signs in, and approves",
                  f"Headless Chromium without JavaScript; the organisation's sign-in is an OpenID Connect provider at {OIDC_ISSUER}.")
        shot = STATE / "approval-page.png"
        seen = self.browser_approve(link, shot)
        self.say(f"page: {seen['heading']!r} with one button {seen['buttons']} (screenshot: {shot.relative_to(ROOT)})")
        self.say(f"the provider's page ({seen['provider']}): {seen['provider_heading']!r}")
        self.say(f"back at Warden: {seen['signed_in'][:160]} {seen['signed_in_buttons']}")
        self.say(f"after Approve ({seen['approve_status']}): {seen['outcome']}")
        self.say(f"the button on a copy opened earlier ({seen['second_status']}): {seen['second']}")
        self.expect(seen["buttons"] == ["Sign in to approve"], "the link's page offers its own decision only")
        self.expect("Signed in as alice@example.com" in seen["signed_in"] and seen["signed_in_buttons"] == ["Approve"],
                    "signed in as an approver")
        self.expect(seen["approve_status"] == 200 and "approved and done" in seen["outcome"], "the approval ran the recorded plan")
        self.expect(seen["second_status"] == 409 and "Already decided" in seen["second"], "a second click is refused")
        self.expect(self.quarantined(node, vpc), "the node is isolated now")

    def http(self, method: str, url: str, form: dict | None = None, cookie: str = "") -> tuple[int, str]:
        """One request to the approvals page, redirects not followed: status and body (or Location)."""
        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):
                return None
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        request = urllib.request.Request(url, data=data, method=method, headers={"Cookie": cookie} if cookie else {})
        try:
            response = urllib.request.build_opener(NoRedirect).open(request)
            return response.status, response.read().decode()
        except urllib.error.HTTPError as e:
            if e.code in (302, 303):
                cookies = [v.split(";")[0] for k, v in e.headers.items() if k.lower() == "set-cookie"]
                return e.code, json.dumps({"location": e.headers["Location"], "cookie": "; ".join(cookies)})
            return e.code, e.read().decode()

    def quarantined(self, node: dict, vpc: str) -> bool:
        groups = self.ec2.describe_security_groups(Filters=[{"Name": "tag:warden:role", "Values": ["quarantine"]},
                                                            {"Name": "vpc-id", "Values": [vpc]}])["SecurityGroups"]
        return bool(groups) and all(self.interface_group_ids(e) == [groups[0]["GroupId"]] for e in node["enis"])

    def browser_approve(self, link: str, shot: Path) -> dict:
        script = ROOT / "tests" / "browser" / "approve.mjs"
        have_browser = shutil.which("chromium") and (ROOT / "tests" / "browser" / "node_modules" / "playwright-core").exists()
        if have_browser:
            out = subprocess.run(["node", str(script), link, str(shot), "alice@example.com", "alice-password"],
                                 capture_output=True, text=True, timeout=120)
            if out.returncode != 0:
                raise SystemExit(f"the browser test failed: {out.stderr or out.stdout}")
            return json.loads(out.stdout.strip().splitlines()[-1])
        if self.check:
            raise SystemExit("the browser test needs Chromium and tests/browser/node_modules: run 'make browser-deps'")
        # Without a browser: the requests a browser would send (the provider's part by tests/oidc/sign_in.mjs).
        self.say(f"{DIM}(no Chromium here: the same requests a browser sends, without rendering){RESET}")
        seen = self.sign_in_and_decide(link)
        shot.write_text("(no browser here: the page was not rendered)")
        return {"heading": "Isolate", "buttons": ["Sign in to approve"], "provider": OIDC_ISSUER,
                "provider_heading": "Sign in to Example Org", "signed_in_buttons": ["Approve"], **seen}

    def sign_in_and_decide(self, link: str) -> dict:
        """Open an email's link, sign in as alice at the provider, press the page's one button, then
        press it again from a copy opened earlier: the requests a browser sends."""
        def text(html: str) -> str:
            main = re.search(r"<main>(.*)</main>", html, re.S)
            return " ".join(re.sub("<[^>]+>", " ", main.group(1) if main else html).split())
        fields = lambda html: dict(re.findall(r'name="(\w+)" value="([^"]*)"', html))
        _, page = self.http("GET", link)
        _, started = self.http("POST", link, fields(page))
        started = json.loads(started)
        back = subprocess.run(["node", str(ROOT / "tests" / "oidc" / "sign_in.mjs"), started["location"],
                               "alice@example.com", "alice-password"], capture_output=True, text=True, timeout=60)
        if back.returncode != 0:
            raise SystemExit(f"signing in failed: {back.stderr}")
        _, signed_in = self.http("GET", back.stdout.strip(), cookie=started["cookie"])
        approve_status, outcome = self.http("POST", link, fields(signed_in))
        second_status, second = self.http("POST", link, fields(page))
        return {"signed_in": text(signed_in), "approve_status": approve_status, "outcome": text(outcome),
                "second_status": second_status, "second": text(second)}

    def warden(self, *args: str, as_env: dict | None = None, fails: bool = False) -> str:
        """Run the CLI as the operator (their role session), or as `as_env` says; what it printed."""
        env = dict(os.environ, WARDEN_TABLE_NAME=TABLE, WARDEN_TOPIC_ARN=self.topic, WARDEN_REQUESTS_BUS=REQUESTS_BUS,
                   **(self.operator_env if as_env is None else as_env))
        out = subprocess.run([str(TARGET / "debug" / "warden"), *args], capture_output=True, text=True, env=env)
        if (out.returncode != 0) != fails:
            raise SystemExit(f"warden {' '.join(args)} {'succeeded, but should have failed' if fails else 'failed'}: "
                             f"{out.stderr}{out.stdout}")
        return (out.stderr + out.stdout).rstrip()

    def published(self) -> list[tuple[str, str]]:
        for _ in range(8):
            try:
                data = json.load(urllib.request.urlopen(f"{ENDPOINT}/moto-api/data.json"))
                break
            except Exception:  # moto's state dump can race with writes; try again
                time.sleep(0.2)
        else:
            raise SystemExit("could not read the local SNS state")
        return [(n[2], n[1]) for t in data["sns"]["Topic"] if t["arn"] == self.topic for n in t["sent_notifications"]]


    # ---------- the request validator ----------
    # What each sample must get, and why (the same table the integration tests assert).
    VALIDATOR_EXPECTED = {
        "chat-allowed.json": (200, None),
        "chat-streamed.json": (200, None),
        "generate-allowed-http-api.json": (200, None),
        "embed-allowed-http-api.json": (200, None),
        "openai-chat-completions.json": (200, None),
        "chat-prompt-injection.json": (400, "content_blocked"),
        "chat-jailbreak-obfuscated.json": (400, "content_blocked"),
        "chat-tag-smuggling.json": (400, "content_blocked"),
        "chat-pii-restricted-model.json": (400, "content_blocked"),
        "generate-raw-mode.json": (400, "field_refused"),
        "generate-runner-options.json": (400, "field_refused"),
        "pull-admin-endpoint.json": (403, "endpoint_not_allowed"),
        "blobs-upload.json": (403, "endpoint_not_allowed"),
        "chat-cloud-model.json": (403, "model_refused"),
        "chat-unregistered-model.json": (403, "model_not_registered"),
        "chat-no-identity.json": (401, "unauthenticated"),
    }

    def start_fake_ollama(self):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", FAKE_OLLAMA_PORT)) == 0:
                raise SystemExit(f"port {FAKE_OLLAMA_PORT} is in use: set WARDEN_FAKE_OLLAMA_PORT to a free port")
        self.ollama = subprocess.Popen([str(TARGET / "debug" / "fake-ollama"), str(FAKE_OLLAMA_PORT)],
                                       stdout=subprocess.DEVNULL, stderr=open(STATE / "fake-ollama.log", "w"))
        for _ in range(100):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", FAKE_OLLAMA_PORT)) == 0:
                    return
            time.sleep(0.05)
        raise SystemExit("the Ollama stand-in did not start; see .local/fake-ollama.log")

    def validator_story(self):
        self.step("The model registry", "The security team's model-registry.yaml, checked and imported: "
                  "warden registry import events/request-validator/model-registry.yaml")
        self.say(self.warden("registry", "import", str(VALIDATOR_EVENTS / "model-registry.yaml")))
        self.say(self.warden("registry", "list"))

        self.step("Inference requests through the request validator",
                  f"Every sample in events/request-validator/ through API Gateway's event shape to the validator, then to an "
                  f"Ollama stand-in on 127.0.0.1:{FAKE_OLLAMA_PORT} (log: .local/fake-ollama.log).")
        self.start_fake_ollama()
        seen = set()
        for path in sorted(VALIDATOR_EVENTS.glob("*.json")):
            name = path.name
            ok, out = self.invoke(path, "request-validator")
            if not ok:
                self.expect(False, f"{name}: the validator answered: {out}")
            status = out["statusCode"]
            body = out["body"]
            if status == 200:
                first = json.loads(body.splitlines()[0])
                model = first.get("model", "")
                kind = "streamed NDJSON" if out["headers"]["content-type"] == "application/x-ndjson" else "JSON"
                self.say(f"   {GREEN}{status} allowed{RESET}  {name:<34} {DIM}→ Ollama answered ({kind}{', ' + model if model else ''}){RESET}")
                code = None
            else:
                error = refusal_of(body)
                code = error["code"]
                findings = f" [{', '.join(error['findings'])}]" if error.get("findings") else ""
                self.say(f"   {RED}{status} {code}{RESET}  {name:<34} {DIM}{error['message'][:90]}{findings}{RESET}")
            expected = self.VALIDATOR_EXPECTED.get(name, "no expected outcome in demo.py")
            self.expect((status, code) == expected, f"{name}: expected {expected}, got {(status, code)}")
            seen.add(name)
        self.expect(seen == set(self.VALIDATOR_EXPECTED), "every expected sample exists")

        log = (STATE / "remediator.log").read_text().splitlines()
        warnings = [l for l in log if "SECURITY_WARNING request refused" in l]
        self.expect(len(warnings) >= 11, "one SECURITY_WARNING line per refused request")
        self.step("What operations see", "One SECURITY_WARNING log line per refusal (caller, reason, finding kinds; "
                  "never the prompt), and EMF metrics in Custom/LLM:")
        line = re.sub(r"\x1b\[[0-9;]*m", "", warnings[0])
        self.say("   " + line[line.index("SECURITY_WARNING"):].strip()[:200])
        emf = [json.loads(l) for l in log if l.startswith('{"') and '"Custom/LLM"' in l]
        self.expect(emf, "validator EMF lines were written")
        injections = sum(e["PromptInjectionAttempts"] for e in emf)
        auth = sum(e["AuthFailures"] for e in emf)
        self.say(f"   PromptInjectionAttempts={injections} AuthFailures={auth} BlockedRequests={sum(1 for e in emf if 'Reason' in e)} "
                 f"of {len(emf)} requests {DIM}(per caller, and fleet-wide){RESET}")
        self.expect(injections >= 3 and auth >= 1, "injection attempts and auth failures are counted")


    def validator_request(self, name: str, caller: str | None = None) -> tuple[int, dict | str]:
        """A validator sample, optionally re-attributed to another caller; (status, error or answer)."""
        event = json.loads((VALIDATOR_EVENTS / name).read_text())
        if caller:
            event["requestContext"]["authorizer"]["principalId"] = caller
        dest = STATE / "events" / f"{caller or 'as-is'}-{name}"
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(json.dumps(event))
        ok, out = self.invoke(dest, "request-validator")
        self.expect(ok, f"{name}: the validator answered")
        body = out["body"]
        return out["statusCode"], (refusal_of(body) if out["statusCode"] >= 400 else body)

    def suspension_story(self):
        self.step("Closing the loop: one caller keeps attacking",
                  "team-web sends prompt injections; each is refused and counted in PromptInjectionAttempts{Caller=team-web}.")
        for _ in range(3):
            status, error = self.validator_request("chat-prompt-injection.json")
            self.say(f"   {RED}{status} {error['code']}{RESET}  team-web  {DIM}[{', '.join(error.get('findings', []))}]{RESET}")
        status, _ = self.validator_request("chat-allowed.json", "team-web")
        self.expect(status == 200, "team-web's ordinary requests still pass")
        self.say(f"   {GREEN}200 allowed{RESET}  team-web  {DIM}an ordinary question still passes{RESET}")

        self.step("A forged alarm: the same metric and caller, from an alarm Warden did not create",
                  "Anyone allowed to create alarms can name one llm-…; only the ARNs in WARDEN_TRUSTED_ALARMS make Warden act.")
        forged = self.sample_for("cloudwatch-alarm-prompt-injection-caller.json",
                                 resources=["arn:aws:cloudwatch:us-east-1:123456789012:alarm:llm-prompt-injection-team-web-2"])
        ok, report = self.invoke(forged)
        self.expect(ok and report["status"] == "ignored" and "not one Warden trusts" in report["summary"],
                    "the forged alarm is ignored" if ok and report.get("status") == "ignored" else f"the forged alarm: {report}")
        self.say(f"   {YELLOW}ignored{RESET}  {DIM}{report['summary'][:150]}{RESET}")

        self.step("The alarm: PromptInjectionAttempts{Caller=team-web} > 5",
                  "events/remediator/cloudwatch-alarm-prompt-injection-caller.json to the remediator")
        ok, report = self.invoke(EVENTS / "cloudwatch-alarm-prompt-injection-caller.json")
        self.expect(ok and report["kind"] == "suspension" and not report["duplicate"], f"the remediator suspended team-web: {report}")
        self.say(f"   {BOLD}{report['summary']}{RESET}  {DIM}({report['suspension_id']}){RESET}")
        subject, body = self.published()[-1]
        self.say(f"   {BOLD}Subject: {subject}{RESET}")
        for line in json.loads(body)["email"].splitlines()[:9]:
            self.say(f"   {DIM}{line[:150]}{RESET}")
        ok, replay = self.invoke(EVENTS / "cloudwatch-alarm-prompt-injection-caller.json")
        self.expect(ok and replay["duplicate"], "the same alarm again changes nothing")

        self.step("The validator refuses team-web",
                  f"It reads suspensions at most every WARDEN_SUSPENSION_CACHE_SECONDS ({SUSPENSION_CACHE_SECONDS} s here, 5 s by default).")
        time.sleep(SUSPENSION_CACHE_SECONDS + 0.2)
        status, error = self.validator_request("chat-allowed.json", "team-web")
        self.expect(status == 403 and error["code"] == "caller_suspended", f"team-web is refused: {error}")
        self.say(f"   {RED}{status} caller_suspended{RESET}  team-web  {DIM}{error['message'][:110]}{RESET}")
        status, _ = self.validator_request("chat-allowed.json", "team-support")
        self.expect(status == 200, "other callers are unaffected")
        self.say(f"   {GREEN}200 allowed{RESET}  team-support  {DIM}other callers are unaffected{RESET}")

        self.step("A human lifts it", "warden suspension lift team-web --by you@example.com (or the email's \"Lift it now\" link)")
        self.say(self.warden("suspension", "list"))
        self.say(self.warden("suspension", "lift", "team-web", "--by", "you@example.com"))
        time.sleep(SUSPENSION_CACHE_SECONDS + 0.2)
        status, _ = self.validator_request("chat-allowed.json", "team-web")
        self.expect(status == 200, "team-web is allowed again")
        self.say(f"   {GREEN}200 allowed{RESET}  team-web  {DIM}allowed again{RESET}")


    # ---------- AWS Config rules and the compliance report ----------
    CONFIG_EXPECTED = {
        "change-sg-noncompliant.json": "non_compliant",
        "change-sg-deleted.json": "not_applicable",
        "change-sg-left-scope.json": "not_applicable",
        "change-instance-approved-model.json": "compliant",
        "oversized-instance.json": "not_applicable",
        "scheduled-cloudtrail.json": "non_compliant",
        "scheduled-imdsv2-only.json": None,
    }

    def compliance_story(self):
        self.step("AWS Config custom rules", "Every sample in events/config-rules/ to the config-rules function "
                  "(verdicts reported with PutEvaluations, TESTMODE here; every evaluation kept as evidence).")
        for path in sorted((ROOT / "events" / "config-rules").glob("*.json")):
            ok, r = self.invoke(path, "config-rules")
            self.expect(ok, f"{path.name}: evaluated ({r if not ok else 'ok'})")
            expected = self.CONFIG_EXPECTED.get(path.name, "no expected outcome in demo.py")
            if expected is not None:
                self.expect(r[expected] == 1, f"{path.name}: {expected}")
            else:
                self.expect(r["evaluations"] >= 1 and r["batches"] >= 1, f"{path.name}: every instance evaluated")
            verdict = f"{r['compliant']} compliant, {r['non_compliant']} non-compliant, {r['not_applicable']} n/a"
            why = f"  {DIM}{r['findings'][0][:110]}{RESET}" if r["findings"] else ""
            self.say(f"   {r['rule']:<27} {r['trigger']:<9} {verdict}{why}")
        self.step("The compliance report", "warden report --since 1d --out .local/report (Markdown and JSON)")
        self.say(self.warden("report", "--since", "1d", "--out", str(STATE / "report")))
        md = (STATE / "report" / "compliance-report.md").read_text()
        summary = md[md.index("## Summary"):md.index("\n## `")]
        for line in summary.strip().splitlines()[2:]:
            self.say("   " + line)
        self.expect("| Remediations" not in md and "## Remediations" in md, "the report lists the remediations")
        self.expect("cloudtrail-on" in md and "CIS 3.1" in md, "each rule with its control and CIS ids")

    # ---------- the story ----------
    def run(self):
        self.step("Local AWS", f"A moto server at {ENDPOINT} plays the AWS account; its state is wiped for a clean demo.")
        self.reset()
        self.topic = self.setup_warden_state()
        self.operator_env = self.operator_session(OPERATOR_ROLE, "you@example.com")
        self.say(f"DynamoDB table '{TABLE}' (audit, state, exemptions), SNS topic '{TOPIC}' with secops@example.com subscribed, "
                 f"EventBridge bus '{REQUESTS_BUS}' for operator requests.")
        self.say(f"You are an operator: `warden` runs with a session of {OPERATOR_ROLE} named you@example.com.")

        self.step("An account with a problem", "GPU nodes running Ollama; someone opened the API and SSH to the whole internet.")
        vpc = self.ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        ollama = self.group(vpc, "ollama-gpu-nodes", "Ollama inference fleet")
        batch = self.group(vpc, "gpu-batch", "Batch fine-tuning nodes")
        bastion = self.group(vpc, "bastion", "SSH bastion")
        bad = [
            self.allow(ollama, "tcp", (11434, 11434), "0.0.0.0/0", "quick test from home"),
            self.allow(ollama, "tcp", (22, 22), "::/0", "ssh for debugging"),
        ]
        good = [
            self.allow(ollama, "tcp", (443, 443), "0.0.0.0/0", "HTTPS via the load balancer"),
            self.allow(ollama, "tcp", (11434, 11434), "10.0.0.0/16", "Ollama from inside the VPC"),
            self.allow(ollama, "tcp", (22, 22), "2001:db8:1234::/48", "SSH from the office"),
        ]
        batch_bad = self.allow(batch, "tcp", (0, 65535), "0.0.0.0/0", "temporary: open everything")
        self.allow(bastion, "tcp", (22, 22), "0.0.0.0/0", "bastion SSH")
        self.say(self.warden("exempt", "add", "--group", bastion, "--ports", "22", "--by", "alice@example.com",
                             "--reason", "SEC-482 bastion, MFA-only SSH", "--for", "30d"))
        for g, n in ((ollama, "ollama-gpu-nodes"), (batch, "gpu-batch"), (bastion, "bastion")):
            self.show_rules(g, n)

        self.step("Start the functions", "`cargo lambda watch` runs the remediator and approvals Lambdas locally (log: .local/remediator.log).")
        self.start_remediator(self.topic)
        self.say(f"listening on 127.0.0.1:{INVOKE_PORT}; the first invoke starts the binary")

        self.step("CloudTrail: AuthorizeSecurityGroupIngress opened 11434 to 0.0.0.0/0",
                  "events/remediator/cloudtrail-authorize-sg-ingress-11434.json, delivered by EventBridge")
        ok, first = self.invoke(self.sample_for("cloudtrail-authorize-sg-ingress-11434.json", ollama))
        self.expect(ok, f"the remediator answered: {first if not ok else 'ok'}")
        self.report(first)
        self.expect(first["status"] == "completed", "remediation completed")
        self.expect(sorted(r["rule_id"] for r in first["revoked"]) == sorted(bad), "exactly the two world-open rules were revoked")
        self.expect(sorted(r["SecurityGroupRuleId"] for r in self.rules(ollama)) == sorted(good), "the legitimate rules are untouched")
        rem_id = first["remediation_id"]

        self.step("The same event again", "EventBridge delivers at least once; a replay must change nothing.")
        ok, replay = self.invoke(self.sample_for("cloudtrail-authorize-sg-ingress-11434.json", ollama))
        self.report(replay)
        self.expect(ok and replay["duplicate"] and not replay["revoked"], "the replay is a recorded duplicate")

        self.step("Scheduled sweep", "The backstop: CloudTrail delivery is best-effort, so every group is checked on a schedule.")
        ok, sweep = self.invoke(EVENTS / "scheduled-sweep.json")
        self.report(sweep)
        self.expect(ok and [r["rule_id"] for r in sweep["revoked"]] == [batch_bad], "the sweep revoked the gpu-batch rule")
        self.expect(any(bastion in line for line in sweep["exempted"]), "the exempt bastion rule stayed")

        self.step("The audit trail", f"warden show {rem_id}")
        self.say(self.warden("show", rem_id))

        self.step("What the security team received", "One SNS message per remediation: plain text for email, JSON facts for machines.")
        messages = self.published()
        self.expect(len(messages) == 2, "two notifications: the CloudTrail remediation and the sweep")
        subject, body = messages[0]
        self.say(f"{BOLD}Subject: {subject}{RESET}")
        self.say(json.loads(body)["default"])

        self.step("Metrics", "One CloudWatch Embedded Metric Format line per remediation, from the function's stdout:")
        emf = [l for l in (STATE / "remediator.log").read_text().splitlines() if l.startswith('{"') and '"_aws"' in l]
        self.expect(len(emf) >= 3, "EMF lines were written")
        line = json.loads(emf[0])
        self.say(f"RulesRevoked={line['RulesRevoked']} RemediationDuration={line['RemediationDuration']}ms Outcome={line['Outcome']} "
                 f"{DIM}(namespace {line['_aws']['CloudWatchMetrics'][0]['Namespace']}){RESET}")

        self.step("A developer asks for the undo", "Mallory's role may put events, but is not an operator: "
                  "the remediator asks STS who signed the request, and refuses.")
        mallory = self.operator_session("arn:aws:iam::123456789012:role/developer", "mallory@example.com")
        refused = self.warden("undo", rem_id, as_env=mallory, fails=True)
        self.say(refused)
        self.expect("assumed-role/developer/mallory@example.com is not an operator" in refused, "refused, and the refusal names who asked")
        self.expect(len(self.rules(ollama)) == 3, "nothing was restored")

        self.step("Undo", f"warden undo {rem_id}: signed by your session of {OPERATOR_ROLE.split('/')[-1]}, sent to "
                  f"Warden's bus ({REQUESTS_BUS}); exactly the revoked rules come back.")
        undone = self.warden("undo", rem_id)
        self.say(undone)
        self.expect("assumed-role/warden-operator/you@example.com" in undone, "the CLI says who AWS says you are")
        self.show_rules(ollama, "ollama-gpu-nodes")
        restored = {(r["FromPort"], r.get("CidrIpv4") or r.get("CidrIpv6"), r.get("Description")) for r in self.rules(ollama)}
        self.expect({(11434, "0.0.0.0/0", "quick test from home"), (22, "::/0", "ssh for debugging")} <= restored,
                    "the revoked rules are back with their descriptions")
        self.expect(len(self.rules(ollama)) == 5, "and nothing else was added")
        record = json.loads(self.warden("show", rem_id, "--json"))["record"]
        self.expect(record["undo_requested_by"] == "arn:aws:sts::123456789012:assumed-role/warden-operator/you@example.com",
                    "the audit record names the requester as AWS authenticated them")

        self.isolation_story(vpc)
        self.approval_story(vpc)
        self.validator_story()
        self.suspension_story()
        self.compliance_story()

        if self.check:
            self.check_samples_as_is()

        print(f"\n{BOLD}Done.{RESET} The undo re-opened the exposure on purpose: the next sweep would close it again "
              "unless someone grants an exemption (warden exempt add …). The released node kept its evidence: "
              "snapshots, termination protection, volumes kept on termination.")

    def check_samples_as_is(self):
        self.step("Every sample in events/remediator/, invoked as it is",
                  f"They name {SAMPLE_GROUP} and {SAMPLE_INSTANCE}, which this account does not have: recorded outcomes, not errors.")
        self.reset()
        self.setup_warden_state()
        self.say("(local AWS wiped again: a fresh account with only the default VPC)")
        for path in sorted(EVENTS.glob("*.json")):
            ok, out = self.invoke(path)
            name = path.name
            if name in ("warden-undo-request.json", "warden-release-request.json"):
                # cargo lambda wraps long error messages across lines (with a frame): read them as one line
                said = re.sub(r"[\s│]+", " ", out) if not ok else ""
                self.expect("signed at 2026-11-26" in said and "more than 5 minutes from now" in said,
                            f"{name}: a held request, refused (signed days ago): {said[-300:]}")
            elif name == "scheduled-sweep.json":
                self.expect(ok and out["status"] == "no_op", f"{name}: swept every group, nothing exposed")
            elif name == "cloudwatch-alarm-prompt-injection-caller.json":
                # A fresh account: the validator refused nothing of team-web, so the alarm alone
                # suspends no one (anyone able to create an alarm could have sent it).
                self.expect(ok and out["kind"] == "uncorroborated" and out["caller"] == "team-web"
                            and out["suspension_id"] is None,
                            f"{name}: not corroborated by the validator's offence counters, nobody suspended")
            elif name == "cloudwatch-alarm-auth-failures-fleet.json":
                self.expect(ok and out["kind"] == "fleet_alarm" and len(out["approval_requests"]) == 1,
                            f"{name}: asked a human to tighten every caller's quotas")
            elif name == "cloudwatch-alarm-asg-gpu-utilization.json":
                self.expect(ok and out["status"] == "not_actionable" and "whole Auto Scaling group" in out["summary"],
                            f"{name}: not_actionable, a whole group is never isolated")
            elif name.startswith(("cloudwatch-", "guardduty-")):
                self.expect(ok and out["status"] == "not_actionable" and "not found" in out["summary"],
                            f"{name}: not_actionable, {SAMPLE_INSTANCE} does not exist here")
            else:
                self.expect(ok and out["status"] == "no_op" and "not found" in out["summary"], f"{name}: {out['status'] if ok else out}")
        approvals = ROOT / "events" / "approvals"
        for path in sorted(approvals.glob("*.json")):
            ok, out = self.invoke(path, "approvals")
            name = f"approvals/{path.name}"
            if name.endswith("scheduled-expiry-sweep.json"):
                self.expect(ok and out["expired"] == [], f"{name}: nothing pending, nothing expired")
            else:
                # The sample's request is unknown here: a clear page, never an error.
                self.expect(ok and out["statusCode"] == 404 and "Unknown request" in out["body"], f"{name}: 404 page, nothing done")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="assert every step (end-to-end test)")
    args = ap.parse_args()
    demo = Demo(args.check)
    try:
        demo.run()
    finally:
        demo.stop_remediator()


if __name__ == "__main__":
    main()
