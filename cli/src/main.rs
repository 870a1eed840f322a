//! `warden`: the operator's command line. It talks to the same table and runs the same executor
//! as the functions, so an undo from here is exactly an undo from an event.

use std::process::ExitCode;

use chrono::{Duration, SecondsFormat, Utc};

use warden::aws::wiring::{isolation_executor, remediation_executor, suspension_service};
use warden::aws::{load_sdk_config, DynamoStore};
use warden::compliance::ports::EvidenceStore;
use warden::config::RemediatorConfig;
use warden::exposure::executor::Report;
use warden::exposure::is_security_group_id;
use warden::exposure::plan::{Action, Exemption, ExemptionTarget};
use warden::exposure::ports::AuditStore;
use warden::isolation::executor::IncidentReport;
use warden::isolation::ports::IncidentStore;
use warden::registry::ports::ModelRegistryStore;
use warden::registry::{parse_registry_yaml, ModelEntry, ModelRef, Registry};
use warden::suspension::ports::SuspensionStore;

const USAGE: &str = "\
warden — operate Warden's remediations

USAGE:
  warden show <remediation-id> [--json]
      The audit record: trigger, plan, every step, undo steps.
  warden undo <remediation-id> --by <who> [--json]
      Restore exactly the rules that remediation revoked.
  warden exempt add --group <sg-id> [--rule <sgr-id>] --by <who> --reason <why> --for <30m|12h|7d>
      Let a world-open rule (or a whole group) stay, until the exemption expires.
  warden exempt list
  warden exempt remove --group <sg-id> [--rule <sgr-id>]
  warden incident <incident-id> [--json]
      An isolation incident: trigger, policy decision, recorded state, every step with its timing.
  warden release <incident-id> --by <who> [--json]
      Give an isolated instance back its groups, profile, addresses and service, as recorded.
  warden registry validate <model-registry.yaml>
      Check a model registry file (digests, dates, names, unknown fields) and say which line is wrong.
  warden registry import <model-registry.yaml>
      Check it, then make it the registry the request validator and Config rules read (replaces it whole).
  warden registry list [--json]
  warden registry show <model> [--json]
  warden report [--since 7d] [--out <dir>]
      The compliance report: each Config rule with its control (CIS ids), current status per
      resource, non-compliance history, remediations and their time to remediate. Writes
      compliance-report.md and compliance-report.json (default: the current directory).
  warden suspension list
      Callers suspended from the LLM API now, until when and why; fleet-wide quota tightening.
  warden suspension lift <caller> --by <who>
  warden suspension extend <caller> --hours <n> --by <who>

ENVIRONMENT:
  WARDEN_TABLE_NAME, WARDEN_TOPIC_ARN (as for the remediator; `registry` needs only the table), the usual AWS_* variables
  (AWS_REGION, AWS_PROFILE, AWS_ENDPOINT_URL for a local AWS).";

struct Args(Vec<String>);

impl Args {
    fn flag(&self, name: &str) -> bool {
        self.0.iter().any(|a| a == name)
    }
    fn value(&self, name: &str) -> Result<Option<String>, String> {
        match self.0.iter().position(|a| a == name) {
            None => Ok(None),
            Some(i) => self
                .0
                .get(i + 1)
                .filter(|v| !v.starts_with("--"))
                .cloned()
                .map(Some)
                .ok_or(format!("{name} needs a value")),
        }
    }
    fn required(&self, name: &str) -> Result<String, String> {
        self.value(name)?.filter(|v| !v.trim().is_empty()).ok_or(format!("{name} is required"))
    }
    fn positional(&self, i: usize) -> Option<&str> {
        self.0.get(i).map(String::as_str).filter(|a| !a.starts_with("--"))
    }
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let (num, unit) = s.split_at(s.len().saturating_sub(1));
    let n: i64 = num.parse().map_err(|_| format!("--for {s:?}: use a number and a unit, e.g. 30m, 12h, 7d"))?;
    let d = match unit {
        "m" => Duration::minutes(n),
        "h" => Duration::hours(n),
        "d" => Duration::days(n),
        _ => return Err(format!("--for {s:?}: the unit must be m, h or d")),
    };
    if n <= 0 || d > Duration::days(365) {
        return Err(format!("--for {s:?}: must be positive and at most 365d"));
    }
    Ok(d)
}

fn print_report(report: &Report, json: bool) {
    if json {
        println!("{}", serde_json::to_string_pretty(report).expect("report serializes"));
        return;
    }
    println!("{}", report.summary);
    for r in &report.restored {
        println!(
            "  restored  {} {} from {} (was {}, now {})",
            r.rule.group_id,
            r.rule.ports_label(),
            r.rule.source,
            r.rule.rule_id,
            r.new_rule_id
        );
    }
    for f in &report.failed {
        println!("  FAILED    {} {}: {}", f.group_id, f.rule_id, f.error);
    }
}

fn print_incident(report: &IncidentReport, json: bool) {
    if json {
        println!("{}", serde_json::to_string_pretty(report).expect("report serializes"));
        return;
    }
    println!("{}", report.summary);
    for s in &report.steps {
        let what = s.error.as_deref().map(|e| format!("FAILED: {e}")).unwrap_or_else(|| s.detail.clone());
        println!("  {:>5} ms  {:<26} {what}", s.finished_ms, s.step);
    }
}

async fn run(args: Args) -> Result<(), String> {
    let command = args.positional(0).ok_or_else(|| USAGE.to_string())?;
    if command == "help" || args.flag("--help") || args.flag("-h") {
        println!("{USAGE}");
        return Ok(());
    }
    if command == "registry" {
        return registry(&args).await;
    }
    if command == "report" {
        return report(&args).await;
    }
    let config = RemediatorConfig::from_env()
        .map_err(|e| format!("{e}\n(set it as for the remediator; see README.md, Configuration)"))?;
    let sdk = load_sdk_config().await;
    let executor = remediation_executor(&config, &sdk);
    let now = Utc::now();
    match command {
        "undo" => {
            let id = args.positional(1).ok_or("usage: warden undo <remediation-id> --by <who>")?;
            let by = args.required("--by")?;
            let report = executor.undo(id, &by, now).await.map_err(|e| e.to_string())?;
            print_report(&report, args.flag("--json"));
            if !report.failed.is_empty() {
                return Err("some rules were not restored; run the same command again to retry them".into());
            }
        }
        "show" => {
            let id = args.positional(1).ok_or("usage: warden show <remediation-id>")?;
            let record = executor
                .store
                .remediation(id)
                .await
                .map_err(|e| e.to_string())?
                .ok_or(format!("no remediation {id} is on record"))?;
            let steps = executor.store.steps(id, false).await.map_err(|e| e.to_string())?;
            let undo = executor.store.steps(id, true).await.map_err(|e| e.to_string())?;
            if args.flag("--json") {
                let v = serde_json::json!({"record": record, "steps": steps, "undo_steps": undo});
                println!("{}", serde_json::to_string_pretty(&v).expect("serializes"));
                return Ok(());
            }
            println!("{}  {}", record.id, record.status.as_str());
            println!("  trigger   {}", record.plan.trigger.describe());
            println!(
                "  event     {} at {}",
                record.plan.trigger.event_id,
                record.plan.trigger.event_time.to_rfc3339_opts(SecondsFormat::Secs, true)
            );
            println!(
                "  recorded  {} (updated {})",
                record.created_at.to_rfc3339_opts(SecondsFormat::Secs, true),
                record.updated_at.to_rfc3339_opts(SecondsFormat::Secs, true)
            );
            println!(
                "  checked   {} rule(s) in {} group(s); notified: {}",
                record.plan.rules_checked, record.plan.groups_checked, record.notified
            );
            for s in &steps {
                let Action::RevokeIngressRule { rule, reason } = &s.action;
                println!("  step {:>3}  {:?}  {} on {}: {reason}", s.index, s.status, rule.rule_id, rule.group_id);
            }
            for s in &undo {
                let Action::RevokeIngressRule { rule, .. } = &s.action;
                println!(
                    "  undo {:>3}  {:?}  {} -> {}",
                    s.index,
                    s.status,
                    rule.rule_id,
                    s.restored_rule_id.as_deref().unwrap_or("-")
                );
            }
            for e in &record.plan.exempted {
                println!(
                    "  exempt    {} until {} ({})",
                    e.rule,
                    e.exemption.expires_at.to_rfc3339_opts(SecondsFormat::Secs, true),
                    e.exemption.reason
                );
            }
        }
        "exempt" => match args.positional(1) {
            Some("add") => {
                let group_id = args.required("--group")?;
                if !is_security_group_id(&group_id) {
                    return Err(format!("--group {group_id:?} is not a security group id"));
                }
                let target = args.value("--rule")?.map(ExemptionTarget::Rule).unwrap_or(ExemptionTarget::Group);
                let exemption = Exemption {
                    group_id,
                    target,
                    granted_by: args.required("--by")?,
                    reason: args.required("--reason")?,
                    created_at: now,
                    expires_at: now + parse_duration(&args.required("--for")?)?,
                };
                executor.store.put_exemption(&exemption).await.map_err(|e| e.to_string())?;
                println!(
                    "exempted {} until {}",
                    exemption.target_label(),
                    exemption.expires_at.to_rfc3339_opts(SecondsFormat::Secs, true)
                );
            }
            Some("list") => {
                let list = executor.store.exemptions().await.map_err(|e| e.to_string())?;
                if list.is_empty() {
                    println!("no exemptions on record");
                }
                for e in list {
                    let state = if e.is_live(now) { "live   " } else { "EXPIRED" };
                    println!(
                        "{state} {} until {} — {} (by {})",
                        e.target_label(),
                        e.expires_at.to_rfc3339_opts(SecondsFormat::Secs, true),
                        e.reason,
                        e.granted_by
                    );
                }
            }
            Some("remove") => {
                let group_id = args.required("--group")?;
                let target = args.value("--rule")?.map(ExemptionTarget::Rule).unwrap_or(ExemptionTarget::Group);
                let list = executor.store.exemptions().await.map_err(|e| e.to_string())?;
                let found = list
                    .into_iter()
                    .find(|e| e.group_id == group_id && e.target == target)
                    .ok_or("no such exemption")?;
                executor.store.delete_exemption(&found).await.map_err(|e| e.to_string())?;
                println!("removed exemption {}", found.target_label());
            }
            _ => return Err("usage: warden exempt add|list|remove …".into()),
        },
        "release" => {
            let id = args.positional(1).ok_or("usage: warden release <incident-id> --by <who>")?;
            let by = args.required("--by")?;
            let isolation = isolation_executor(&config, &sdk);
            let report = isolation.release(id, &by, std::time::Instant::now(), now).await.map_err(|e| e.to_string())?;
            print_incident(&report, args.flag("--json"));
            if report.failed_steps() > 0 {
                return Err("some steps failed; run the same command again to retry them".into());
            }
        }
        "incident" => {
            let id = args.positional(1).ok_or("usage: warden incident <incident-id>")?;
            let isolation = isolation_executor(&config, &sdk);
            let record = isolation
                .store
                .incident(id)
                .await
                .map_err(|e| e.to_string())?
                .ok_or(format!("no incident {id} is on record"))?;
            let mut steps = isolation.store.incident_steps(id).await.map_err(|e| e.to_string())?;
            steps.sort_by_key(|s| (s.phase != "isolate", s.finished_ms));
            if args.flag("--json") {
                let v = serde_json::json!({"record": record, "steps": steps});
                println!("{}", serde_json::to_string_pretty(&v).expect("serializes"));
                return Ok(());
            }
            println!("{}  {}", record.id, record.status.as_str());
            println!("  instance  {}", record.instance_id.as_deref().unwrap_or("-"));
            println!("  trigger   {} (event {})", record.trigger.describe(), record.trigger.event_id);
            println!("  policy    {} (rule {})", record.response.as_str(), record.decided_by_rule);
            if let Some(ms) = record.time_to_containment_ms {
                println!("  contained {ms} ms after the event arrived");
            }
            if let Some(state) = &record.state {
                for i in &state.interfaces {
                    println!(
                        "  recorded  {} (device {}) groups {}",
                        i.interface_id,
                        i.device_index,
                        i.groups.join(",")
                    );
                }
                if let Some(p) = &state.profile {
                    println!("  recorded  profile {}", p.profile_arn);
                }
                if let Some(a) = &state.asg {
                    println!("  recorded  Auto Scaling group {} ({})", a.name, a.lifecycle_state);
                }
                for t in &state.target_groups {
                    println!(
                        "  recorded  target group {} port {}",
                        t.target_group_arn,
                        t.port.map_or("-".into(), |p| p.to_string())
                    );
                }
            }
            for s in &steps {
                let what = s.error.as_deref().map(|e| format!("FAILED: {e}")).unwrap_or_else(|| s.detail.clone());
                println!("  {:<7} {:>5} ms  {:<26} {what}", s.phase, s.finished_ms, s.step);
            }
            println!("  {}", record.summary);
        }
        "suspension" => {
            let service = suspension_service(&config, &sdk);
            let usage =
                "usage: warden suspension list | lift <caller> --by <who> | extend <caller> --hours <n> --by <who>";
            match args.positional(1).ok_or(usage)? {
                "list" => {
                    let r = service.store.restrictions().await.map_err(|e| e.to_string())?;
                    let active: Vec<_> = r.suspended.iter().filter(|s| s.until > now).collect();
                    if active.is_empty() {
                        println!("no caller is suspended");
                    }
                    for s in active {
                        println!(
                            "{:<32} until {}  {}  ({})",
                            s.caller,
                            warden::notify::human_time(s.until),
                            s.reason,
                            s.suspension_id
                        );
                    }
                    if let Some(f) = r.fleet.filter(|f| f.until > now) {
                        println!(
                            "every caller's quotas are at {:.0}% until {}",
                            f.factor * 100.0,
                            warden::notify::human_time(f.until)
                        );
                    }
                }
                "lift" => {
                    let caller = args.positional(2).ok_or(usage)?;
                    let by = args.required("--by")?;
                    println!("{}", service.lift(caller, &by, now).await.map_err(|e| e.to_string())?);
                }
                "extend" => {
                    let caller = args.positional(2).ok_or(usage)?;
                    let by = args.required("--by")?;
                    let hours: i64 = args
                        .required("--hours")?
                        .parse()
                        .ok()
                        .filter(|h| (1..=720).contains(h))
                        .ok_or("--hours must be a whole number from 1 to 720")?;
                    let current = service.store.restrictions().await.map_err(|e| e.to_string())?;
                    let id = current
                        .suspension_of(caller, now)
                        .map(|s| s.suspension_id.clone())
                        .ok_or(format!("{caller} is not suspended; an alarm suspends, `extend` only lengthens"))?;
                    println!("{}", service.extend(caller, &id, hours, &by, now).await.map_err(|e| e.to_string())?);
                }
                other => return Err(format!("unknown suspension command {other:?}; {usage}")),
            }
        }
        other => return Err(format!("unknown command {other:?}\n\n{USAGE}")),
    }
    Ok(())
}

fn read_registry_file(path: &str) -> Result<Vec<ModelEntry>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    parse_registry_yaml(&text).map_err(|e| match e.line {
        Some(line) => format!("{path}:{line}: {}", e.message),
        None => format!("{path}: {}", e.message),
    })
}

fn print_models(models: &[ModelEntry]) {
    println!(
        "{:<28} {:<34} {:<22} {:>4} {:>4} {:>4}  LAST SCAN",
        "MODEL", "APPROVED FOR", "RESTRICTIONS", "CRIT", "HIGH", "MED"
    );
    for m in models {
        let v = m.validation_results.vulnerabilities;
        let restrictions: Vec<String> = m
            .restrictions
            .iter()
            .map(|r| serde_json::to_value(r).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default())
            .collect();
        let state = if m.vulnerable() { "  BLOCKED: critical vulnerabilities" } else { "" };
        println!(
            "{:<28} {:<34} {:<22} {:>4} {:>4} {:>4}  {}{state}",
            m.name.0,
            m.approved_for.join(","),
            if restrictions.is_empty() { "-".to_string() } else { restrictions.join(",") },
            v.critical,
            v.high,
            v.medium,
            m.validation_results.last_scan.0.to_rfc3339_opts(SecondsFormat::Secs, true)
        );
    }
}

fn table_from_env() -> Result<String, String> {
    std::env::var("WARDEN_TABLE_NAME").ok().filter(|t| !t.trim().is_empty()).ok_or(
        "WARDEN_TABLE_NAME is not set: the DynamoDB table Warden records to (see README.md, Configuration)".into(),
    )
}

async fn report(args: &Args) -> Result<(), String> {
    let since = parse_duration(&args.value("--since")?.unwrap_or_else(|| "7d".into()))
        .map_err(|e| e.replace("--for", "--since"))?;
    let out = std::path::PathBuf::from(args.value("--out")?.unwrap_or_else(|| ".".into()));
    let table = table_from_env()?;
    let sdk = load_sdk_config().await;
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), &table);
    let now = Utc::now();
    let evidence = store.evidence_since(now - since).await.map_err(|e| e.to_string())?;
    let remediations = store.remediations_since(now - since).await.map_err(|e| e.to_string())?;
    let report = warden::compliance::report::ComplianceReport::build(&evidence, &remediations, now - since, now);
    std::fs::create_dir_all(&out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let md = out.join("compliance-report.md");
    let json = out.join("compliance-report.json");
    std::fs::write(&md, report.to_markdown()).map_err(|e| format!("cannot write {}: {e}", md.display()))?;
    std::fs::write(&json, serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?)
        .map_err(|e| format!("cannot write {}: {e}", json.display()))?;
    println!(
        "wrote {} and {} ({} evaluations, {} remediations since {})",
        md.display(),
        json.display(),
        evidence.len(),
        report.remediations.len(),
        (now - since).to_rfc3339_opts(SecondsFormat::Secs, true)
    );
    Ok(())
}

async fn registry(args: &Args) -> Result<(), String> {
    let usage = "usage: warden registry validate|import <file> | list | show <model>";
    let sub = args.positional(1).ok_or(usage)?;
    if sub == "validate" {
        let path = args.positional(2).ok_or(usage)?;
        let models = read_registry_file(path)?;
        println!("{path}: {} models, valid", models.len());
        print_models(&models);
        return Ok(());
    }
    let table = table_from_env()?;
    let sdk = load_sdk_config().await;
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), &table);
    match sub {
        "import" => {
            let path = args.positional(2).ok_or(usage)?;
            let models = read_registry_file(path)?;
            let report = store.replace_models(&models, Utc::now()).await.map_err(|e| e.to_string())?;
            println!("imported {} models from {path} into {table}", report.written.len());
            for name in &report.written {
                println!("  + {name}");
            }
            for name in &report.removed {
                println!("  - {name} (no longer in the file: removed)");
            }
        }
        "list" => {
            let models = store.models().await.map_err(|e| e.to_string())?;
            if args.flag("--json") {
                println!("{}", serde_json::to_string_pretty(&models).map_err(|e| e.to_string())?);
            } else if models.is_empty() {
                println!("the registry in {table} is empty: every inference request is refused until one is imported");
            } else {
                print_models(&models);
            }
        }
        "show" => {
            let name = args.positional(2).ok_or(usage)?;
            let wanted = ModelRef::parse(name).map_err(|e| e.to_string())?;
            let models = store.models().await.map_err(|e| e.to_string())?;
            let registry = Registry { models };
            let entry = registry.find(&wanted).ok_or(format!("{} is not in the registry", wanted.ollama_name()))?;
            if args.flag("--json") {
                println!("{}", serde_json::to_string_pretty(entry).map_err(|e| e.to_string())?);
            } else {
                let v = entry.validation_results.vulnerabilities;
                println!("{}", entry.name.0);
                println!("  source        {}", entry.source);
                println!("  license       {}", entry.license);
                println!("  sha256        {}", entry.sha256.0);
                println!("  approved for  {}", entry.approved_for.join(", "));
                println!("  restrictions  {:?}", entry.restrictions);
                println!(
                    "  container     {}:{} @sha256:{}",
                    entry.container.repository, entry.container.tag, entry.container.sha256.0
                );
                println!(
                    "  last scan     {} — critical {}, high {}, medium {}, low {}{}",
                    entry.validation_results.last_scan.0.to_rfc3339_opts(SecondsFormat::Secs, true),
                    v.critical,
                    v.high,
                    v.medium,
                    v.low,
                    if entry.vulnerable() { " (BLOCKED: critical vulnerabilities)" } else { "" }
                );
            }
        }
        other => return Err(format!("unknown registry command {other:?}; {usage}")),
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Args(std::env::args().skip(1).collect())).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("warden: {e}");
            ExitCode::FAILURE
        }
    }
}
