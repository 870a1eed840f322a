#!/usr/bin/env python3
"""Containment, Warden beside Cloud Custodian, measured from the outside.

Both tools run as the processes users run: Warden's built remediator (fed its event by a local
Lambda runtime API, as Lambda would) and `custodian run` (PyPI c7n, pinned in
requirements-bench.txt, pull mode). Both reach the same local AWS (moto) through the same proxy,
which adds the same latency to every AWS call (WARDEN_BENCH_LATENCY_MS, default 50) and logs
each call. From that log, per run:

  round trips   the longest chain of AWS calls, each starting after the one before it ended,
                that ends with the last containing call (a revoke, or the quarantine swap)
  containment   process start -> the last containing call answered
  process       process start -> the work reported (Warden) or the process exited (Custodian)

The exposure scenario, the same for both: two security groups, each with rules open to the whole
internet on a sensitive port (22, 11434), found by a sweep of the region. Runs are interleaved
(which tool goes first alternates), WARDEN_BENCH_RUNS of them (default 5); medians are printed
with their ratio. Warden's other paths (a CloudTrail call, a GuardDuty finding on a GPU node in a
VPC the sweep readied) are measured the same way.

Usage: scripts/bench_compare.py (make bench-compare starts the local AWS and builds what it needs)
"""

from __future__ import annotations

import http.client
import http.server
import json
import os
import queue
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import boto3

# The local AWS's credentials, as `make env` gives them, when run by hand.
for key, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                   ("AWS_EC2_METADATA_DISABLED", "true")):
    os.environ.setdefault(key, value)

ROOT = Path(__file__).resolve().parent.parent
ENDPOINT = os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:5000")
REGION = "us-east-1"
LATENCY = float(os.environ.get("WARDEN_BENCH_LATENCY_MS", "50")) / 1000
RUNS = int(os.environ.get("WARDEN_BENCH_RUNS", "5"))
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
REMEDIATOR = Path(os.environ.get("WARDEN_BENCH_REMEDIATOR", TARGET / "release" / "remediator"))
CUSTODIAN = Path(os.environ.get("WARDEN_BENCH_CUSTODIAN", ROOT / ".venv-bench" / "bin" / "custodian"))
TABLE, TOPIC = "warden-bench", "warden-bench"
SENSITIVE = (22, 11434)
APPROVAL_KEY = os.urandom(24).hex()
CONTAINING = {"RevokeSecurityGroupIngress", "ModifyNetworkInterfaceAttribute"}

POLICY = """\
policies:
  - name: world-open-sensitive-ports
    resource: aws.security-group
    filters:
      - or:
          - type: ingress
            Ports: [22, 11434]
            Cidr: {value: 0.0.0.0/0}
          - type: ingress
            Ports: [22, 11434]
            CidrV6: {value: "::/0"}
    actions:
      - type: remove-permissions
        ingress: matched
"""


# ---------------------------------------------------------------- the latency proxy
class CallLog:
    def __init__(self):
        self.lock = threading.Lock()
        self.calls: list[tuple[float, float, str]] = []

    def add(self, start: float, end: float, action: str):
        with self.lock:
            self.calls.append((start, end, action))

    def take(self) -> list[tuple[float, float, str]]:
        with self.lock:
            calls, self.calls = self.calls, []
        return calls


def action_of(headers, body: bytes) -> str:
    target = headers.get("X-Amz-Target")
    if target:
        return target.split(".")[-1]
    try:
        form = urllib.parse.parse_qs(body.decode(), keep_blank_values=True)
    except UnicodeDecodeError:
        form = {}
    return form.get("Action", ["?"])[0]


def start_proxy(log: CallLog) -> str:
    upstream = urllib.parse.urlsplit(ENDPOINT)

    class Proxy(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out as separate writes: without this, Nagle's algorithm holds the
        # body for the client's delayed ACK (about 40 ms) on some responses.
        disable_nagle_algorithm = True

        def log_message(self, *args):
            pass

        def relay(self):
            start = time.monotonic()
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            time.sleep(LATENCY)
            conn = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=60)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "keep-alive")}
            conn.request(self.command, self.path, body=body, headers=headers)
            reply = conn.getresponse()
            data = reply.read()
            self.send_response(reply.status)
            for k, v in reply.getheaders():
                if k.lower() not in ("connection", "transfer-encoding", "content-length", "keep-alive"):
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            conn.close()
            log.add(start, time.monotonic(), action_of(self.headers, body))

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = relay

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}"


# ---------------------------------------------------------------- a Lambda runtime API for one event
class Runtime:
    """The Lambda runtime API (next / response / error), handing out one event per process."""

    def __init__(self):
        self.events: queue.Queue = queue.Queue()
        self.done: queue.Queue = queue.Queue()
        runtime = self

        class Api(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out as separate writes: without this, Nagle's algorithm holds the
            # body for the client's delayed ACK (about 40 ms) on some responses.
            disable_nagle_algorithm = True

            def log_message(self, *args):
                pass

            def reply(self, status: int, body: bytes = b"", headers: dict | None = None):
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                if not self.path.endswith("/runtime/invocation/next"):
                    return self.reply(404)
                event = runtime.events.get()
                runtime.handed_at = time.monotonic()
                deadline = int((time.time() + 900) * 1000)
                self.reply(200, json.dumps(event).encode(), {
                    "Content-Type": "application/json",
                    "Lambda-Runtime-Aws-Request-Id": str(uuid.uuid4()),
                    "Lambda-Runtime-Deadline-Ms": str(deadline),
                    "Lambda-Runtime-Invoked-Function-Arn": f"arn:aws:lambda:{REGION}:123456789012:function:warden-remediator",
                    "Lambda-Runtime-Trace-Id": "Root=1-00000000-000000000000000000000000",
                })

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.reply(202)
                kind = "response" if self.path.endswith("/response") else "error"
                runtime.done.put((time.monotonic(), kind, body.decode(errors="replace")))

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Api)
        self.server.daemon_threads = True
        self.server.handle_error = lambda *_: None  # a killed process's dropped connection
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        self.handed_at = 0.0


# ---------------------------------------------------------------- analysis
def chain(calls: list[tuple[float, float, str]], last: tuple[float, float, str]) -> list[str]:
    """The longest chain of calls, each starting after the previous one ended, that ends with
    `last` (the containing call): the sequential round trips containment waited for."""
    calls = sorted((c for c in calls if c[1] <= last[0] + 1e-9), key=lambda c: c[0])
    best: list[list[str]] = []
    for i, (start, _, action) in enumerate(calls):
        prev = [best[j] for j in range(i) if calls[j][1] <= start]
        best.append(max(prev, key=len, default=[]) + [action])
    return max(best, key=len, default=[]) + [last[2]]


class Measured:
    def __init__(self, tool: str, path: str, started: float, finished: float,
                 calls: list[tuple[float, float, str]], event_at: float | None = None):
        self.tool, self.path = tool, path
        self.calls = calls
        last = max((c for c in calls if c[2] in CONTAINING), key=lambda c: c[1], default=None)
        contained = last[1] if last else None
        self.chain = chain(calls, last) if last else []
        self.trips = len(self.chain)
        self.containment_ms = (contained - started) * 1000 if contained else None
        self.from_event_ms = (contained - event_at) * 1000 if contained and event_at else None
        self.process_ms = (finished - started) * 1000


# ---------------------------------------------------------------- the local account
class Account:
    def __init__(self, proxy: str):
        kw = dict(region_name=REGION, endpoint_url=ENDPOINT)
        self.ec2 = boto3.client("ec2", **kw)
        self.ddb = boto3.client("dynamodb", **kw)
        self.sns = boto3.client("sns", **kw)
        self.vpc = self.ec2.create_vpc(CidrBlock="10.42.0.0/16")["Vpc"]["VpcId"]
        self.proxy = proxy
        if TABLE not in self.ddb.list_tables()["TableNames"]:
            self.ddb.create_table(
                TableName=TABLE,
                KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                      {"AttributeName": "sk", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST")
        self.topic = self.sns.create_topic(Name=TOPIC)["TopicArn"]

    def exposed_group(self, name: str) -> str:
        group = self.ec2.create_security_group(GroupName=f"{name}-{uuid.uuid4().hex[:8]}", Description="bench",
                                               VpcId=self.vpc)["GroupId"]
        self.ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 11434, "ToPort": 11434, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "Ipv6Ranges": [{"CidrIpv6": "::/0"}]},
            {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
        ])
        return group

    def still_open(self, groups: list[str]) -> list[str]:
        rules = self.ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": groups}])["SecurityGroupRules"]
        return [r["SecurityGroupRuleId"] for r in rules if not r["IsEgress"] and r.get("FromPort") in SENSITIVE
                and (r.get("CidrIpv4") == "0.0.0.0/0" or r.get("CidrIpv6") == "::/0")]

    def env(self) -> dict:
        return dict(os.environ, AWS_ENDPOINT_URL=self.proxy, AWS_REGION=REGION, AWS_DEFAULT_REGION=REGION,
                    AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_EC2_METADATA_DISABLED="true")


# ---------------------------------------------------------------- the two tools
def run_warden(account: Account, log: CallLog, event: dict, path: str) -> Measured:
    # A runtime API of its own per process: a killed process's pending `next` must not take the
    # next process's event.
    runtime = Runtime()
    env = account.env()
    env.update(AWS_LAMBDA_RUNTIME_API=runtime.address, AWS_LAMBDA_FUNCTION_NAME="warden-remediator",
               AWS_LAMBDA_FUNCTION_MEMORY_SIZE="512", AWS_LAMBDA_FUNCTION_VERSION="$LATEST",
               WARDEN_TABLE_NAME=TABLE, WARDEN_TOPIC_ARN=account.topic, WARDEN_LOG_FORMAT="json",
               WARDEN_APPROVALS_URL="https://approvals.example.com/", WARDEN_APPROVAL_KEY=APPROVAL_KEY,
               RUST_LOG="warn")
    log.take()
    runtime.events.put(event)
    started = time.monotonic()
    proc = subprocess.Popen([str(REMEDIATOR)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = started + 120
    while True:
        try:
            finished, kind, body = runtime.done.get(timeout=0.05)
            break
        except queue.Empty:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise SystemExit(f"the remediator stopped without answering the {path} event: "
                                 f"{proc.stderr.read()[-2000:]}")
    proc.kill()
    proc.wait()
    if kind != "response":
        raise SystemExit(f"the remediator failed on the {path} event: {body}")
    calls = log.take()
    m = Measured("Warden", path, started, finished, calls, runtime.handed_at)
    if TRACE:
        print(f"    Warden, {path}: the event handed over at {(runtime.handed_at - started) * 1000:.1f} ms")
        trace(m, started)
    return m


def run_custodian(account: Account, log: CallLog, workdir: Path) -> Measured:
    policy = workdir / "policy.yml"
    policy.write_text(POLICY)
    out = workdir / "out"
    shutil.rmtree(out, ignore_errors=True)
    log.take()
    started = time.monotonic()
    done = subprocess.run([str(CUSTODIAN), "run", "--cache-period", "0", "-s", str(out), "--region", REGION, str(policy)],
                          env=account.env(), capture_output=True, text=True)
    finished = time.monotonic()
    if done.returncode != 0:
        raise SystemExit(f"custodian run failed ({done.returncode}): {done.stderr[-2000:]}")
    calls = log.take()
    return Measured("Cloud Custodian", "sweep", started, finished, calls)


def sweep_event() -> dict:
    event = json.loads((ROOT / "events/remediator/scheduled-sweep.json").read_text())
    event["id"] = str(uuid.uuid4())
    event["time"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return event


def cloudtrail_event(group: str) -> dict:
    event = json.loads((ROOT / "events/remediator/cloudtrail-authorize-sg-ingress-11434.json").read_text())
    event["id"] = str(uuid.uuid4())
    event["detail"]["requestParameters"]["groupId"] = group
    for item in event["detail"]["responseElements"]["securityGroupRuleSet"]["items"]:
        item["groupId"] = group
    return event


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else float("nan")


TRACE = os.environ.get("WARDEN_BENCH_TRACE") == "1"


def trace(m: Measured, started_at: float):
    for start, end, action in sorted(m.calls):
        print(f"      {(start - started_at) * 1000:7.1f} .. {(end - started_at) * 1000:7.1f} ms  {action}")


def describe(m: Measured) -> str:
    c = f"{m.containment_ms:6.0f} ms" if m.containment_ms is not None else "   none  "
    return (f"{m.trips} round trips, containment {c}, process {m.process_ms:6.0f} ms, {len(m.calls):2d} AWS calls"
            f"   [{' -> '.join(m.chain)}]")


def main():
    for what, path, how in ((f"Warden's remediator", REMEDIATOR, "cargo build --release --bin remediator"),
                            ("Cloud Custodian", CUSTODIAN, "make bench-compare (installs requirements-bench.txt into .venv-bench)")):
        if not path.exists():
            raise SystemExit(f"{what} is not at {path}: {how}")
    log = CallLog()
    proxy = start_proxy(log)
    account = Account(proxy)
    version = subprocess.run([str(CUSTODIAN), "version"], capture_output=True, text=True).stdout.strip()
    print(f"Containment through the same local AWS, {LATENCY * 1000:.0f} ms added to every AWS call, "
          f"{RUNS} interleaved runs (Cloud Custodian {version}, pull mode; Warden's release remediator):")
    results: dict[str, list[Measured]] = {"warden": [], "custodian": []}
    with tempfile.TemporaryDirectory() as tmp:
        # One warm-up of each (page cache, Python bytecode), not counted.
        account.exposed_group("warmup")
        run_custodian(account, log, Path(tmp))
        run_warden(account, log, sweep_event(), "sweep")
        for run in range(RUNS):
            order = ("custodian", "warden") if run % 2 == 0 else ("warden", "custodian")
            for tool in order:
                groups = [account.exposed_group(f"bench-{tool}") for _ in range(2)]
                if tool == "custodian":
                    m = run_custodian(account, log, Path(tmp))
                else:
                    m = run_warden(account, log, sweep_event(), "sweep")
                left = account.still_open(groups)
                if left:
                    raise SystemExit(f"{m.tool} left world-open rules {left} in {groups}")
                results[tool].append(m)
                print(f"  run {run + 1} {m.tool:<16} {describe(m)}")

    w, c = results["warden"], results["custodian"]
    wt, ct = median(m.containment_ms for m in w), median(m.containment_ms for m in c)
    wp, cp = median(m.process_ms for m in w), median(m.process_ms for m in c)
    wr, cr = median(m.trips for m in w), median(m.trips for m in c)
    print()
    print("  median over the runs            round trips   containment   whole process")
    print(f"  Cloud Custodian                 {cr:>11.0f}   {ct:>8.0f} ms   {cp:>10.0f} ms")
    print(f"  Warden                          {wr:>11.0f}   {wt:>8.0f} ms   {wp:>10.0f} ms")
    print(f"  Warden is {ct / wt:.1f}x faster to containment and {cp / wp:.1f}x faster in whole-process time "
          f"({cr:.0f} vs {wr:.0f} round trips)")

    print()
    print("Warden's other paths, the same way (median of the runs; what the critical path is):")
    paths: dict[str, list[Measured]] = {"CloudTrail AuthorizeSecurityGroupIngress": [],
                                        "GuardDuty high finding, first incident in a readied VPC": []}
    for _ in range(RUNS):
        group = account.exposed_group("bench-cloudtrail")
        m = run_warden(account, log, cloudtrail_event(group), "cloudtrail")
        if account.still_open([group]):
            raise SystemExit(f"the CloudTrail path left {group} open")
        paths["CloudTrail AuthorizeSecurityGroupIngress"].append(m)
    isolation = isolation_runs(account, log)
    paths["GuardDuty high finding, first incident in a readied VPC"] = isolation
    for name, ms in paths.items():
        ms.sort(key=lambda m: m.containment_ms or 0)
        mid = ms[len(ms) // 2]
        print(f"  {name}: {describe(mid)}")
        print(f"      from the event's arrival: {mid.from_event_ms:.0f} ms")


def isolation_runs(account: Account, log: CallLog) -> list[Measured]:
    """Per run: a new VPC with one GPU node, readied by a sweep, then its first incident."""
    out = []
    ec2 = account.ec2
    sample = json.loads((ROOT / "events/remediator/guardduty-cryptocurrency-bitcointool-dns-high.json").read_text())
    for run in range(RUNS):
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
        group = ec2.create_security_group(GroupName=f"ollama-{uuid.uuid4().hex[:8]}", Description="nodes", VpcId=vpc)["GroupId"]
        ami = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
        instance = ec2.run_instances(ImageId=ami, InstanceType="g5.2xlarge", MinCount=1, MaxCount=1,
                                     NetworkInterfaces=[{"DeviceIndex": 0, "SubnetId": subnet, "Groups": [group]}],
                                     TagSpecifications=[{"ResourceType": "instance",
                                                         "Tags": [{"Key": "Service", "Value": "Ollama"}]}])["Instances"][0]
        run_warden(account, log, sweep_event(), "sweep (readies the VPC)")
        event = json.loads(json.dumps(sample))
        event["id"] = str(uuid.uuid4())
        details = event["detail"]["resource"]["instanceDetails"]
        details["instanceId"] = instance["InstanceId"]
        eni = instance["NetworkInterfaces"][0]
        details["networkInterfaces"][0].update(networkInterfaceId=eni["NetworkInterfaceId"], vpcId=vpc, subnetId=subnet)
        m = run_warden(account, log, event, "guardduty")
        if m.containment_ms is None:
            raise SystemExit(f"the GuardDuty path did not contain {instance['InstanceId']}")
        out.append(m)
    return out


if __name__ == "__main__":
    sys.exit(main())
