//! `warden`: the operator's command line. It talks to the same table and runs the same executor
//! as the functions, so an undo from here is exactly an undo from an event.

use std::process::ExitCode;

use chrono::{Duration, SecondsFormat, Utc};
use clap::{Parser, Subcommand};
use std::path::PathBuf;

use serde::Deserialize;
use warden::approval::sign_in::random_token;
use warden::aws::wiring::{isolation_executor, remediation_executor, suspension_service};
use warden::aws::{load_sdk_config, sign_caller_proof, DynamoStore, StsCallers};
use warden::compliance::ports::EvidenceStore;
use warden::config::RemediatorConfig;
use warden::edge::events::{RELEASE_DETAIL_TYPE, UNDO_DETAIL_TYPE, WARDEN_SOURCE};
use warden::exposure::executor::{FailedStep, RestoredRule};
use warden::exposure::is_security_group_id;
use warden::exposure::plan::{Action, Exemption, ExemptionTarget, RuleSpec};
use warden::exposure::ports::AuditStore;
use warden::exposure::ports::SecurityGroups;
use warden::isolation::ports::IncidentStore;
use warden::operator::{CallerVerifier, OperatorRequest, RequestOutcome, RequestOutcomes, DEFAULT_REQUESTS_BUS};
use warden::registry::ports::ModelRegistryStore;
use warden::registry::{parse_registry_yaml, ModelEntry, ModelRef, Registry};
use warden::suspension::ports::SuspensionStore;

/// Operate Warden: undo remediations, manage exemptions, release isolated instances, keep the
/// model registry, lift suspensions and write the compliance report.
///
/// Environment: WARDEN_TABLE_NAME and WARDEN_TOPIC_ARN (as for the remediator; `registry` and
/// `report` need only the table), WARDEN_REQUESTS_BUS (`undo` and `release`; default
/// warden-requests), and the usual AWS_* variables (AWS_REGION, AWS_PROFILE, AWS_ENDPOINT_URL
/// for a local AWS).
#[derive(Debug, Parser)]
#[command(name = "warden", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The audit record of a remediation: trigger, plan, every step, undo steps.
    Show {
        remediation_id: String,
        #[arg(long)]
        json: bool,
    },
    /// Ask Warden to restore exactly the rules a remediation revoked. The request goes to
    /// Warden's bus, signed by your AWS credentials: the audit trail records who you are to AWS.
    Undo {
        remediation_id: String,
        /// How long to wait for the remediator's answer.
        #[arg(long, default_value = "60", value_parser = clap::value_parser!(u64).range(1..=900))]
        wait: u64,
        #[arg(long)]
        json: bool,
    },
    /// Let a world-open rule (or a whole group) stay until the exemption expires.
    #[command(subcommand)]
    Exempt(ExemptCommand),
    /// An isolation incident: trigger, policy decision, recorded state, every step with its timing.
    Incident {
        incident_id: String,
        #[arg(long)]
        json: bool,
    },
    /// Ask Warden to give an isolated instance back its groups, profile, addresses and service,
    /// as recorded. An approver then approves it from the email (signed in), like an isolation.
    Release {
        incident_id: String,
        /// How long to wait for the remediator's answer.
        #[arg(long, default_value = "60", value_parser = clap::value_parser!(u64).range(1..=900))]
        wait: u64,
        #[arg(long)]
        json: bool,
    },
    /// The model registry the request validator and the Config rules read.
    #[command(subcommand)]
    Registry(RegistryCommand),
    /// The compliance report: each Config rule with its control (CIS ids), status per resource,
    /// non-compliance history, remediations and their time to remediate. Writes
    /// compliance-report.md and compliance-report.json.
    Report {
        /// How far back: a number and a unit (m, h, d).
        #[arg(long, default_value = "7d", value_parser = duration_arg)]
        since: Duration,
        /// Where to write the two files.
        #[arg(long, default_value = ".")]
        out: PathBuf,
    },
    /// Callers suspended from the LLM API.
    #[command(subcommand)]
    Suspension(SuspensionCommand),
}

#[derive(Debug, Subcommand)]
enum ExemptCommand {
    /// Grant an exemption for a group, or one rule of it.
    Add {
        #[arg(long, value_parser = group_id_arg)]
        group: String,
        /// One security-group rule (sgr-…), exempt as it is now: changed later, it is no
        /// longer exempt.
        #[arg(long, conflicts_with = "ports", required_unless_present = "ports")]
        rule: Option<String>,
        /// A group exemption names the sensitive ports it covers (e.g. `22`); never all traffic.
        #[arg(long, value_delimiter = ',', required_unless_present = "rule")]
        ports: Vec<u16>,
        /// Who grants it.
        #[arg(long)]
        by: String,
        /// Why it must stay open.
        #[arg(long)]
        reason: String,
        /// How long: a number and a unit (m, h, d), at most 365d.
        #[arg(long = "for", value_parser = duration_arg)]
        duration: Duration,
    },
    /// Every exemption on record, live or expired.
    List,
    /// Remove an exemption.
    Remove {
        #[arg(long, value_parser = group_id_arg)]
        group: String,
        #[arg(long)]
        rule: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum RegistryCommand {
    /// Check a model registry file (digests, dates, names, unknown fields) and say which line is wrong.
    Validate { file: String },
    /// Check it, then make it the registry (replaces it whole).
    Import { file: String },
    /// The models in the registry.
    List {
        #[arg(long)]
        json: bool,
    },
    /// One model's entry.
    Show {
        model: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum SuspensionCommand {
    /// Callers suspended now, until when and why; fleet-wide quota tightening.
    List,
    /// Lift a caller's suspension now.
    Lift {
        caller: String,
        #[arg(long)]
        by: String,
    },
    /// Keep a suspended caller suspended for longer.
    Extend {
        caller: String,
        #[arg(long, value_parser = clap::value_parser!(i64).range(1..=720))]
        hours: i64,
        #[arg(long)]
        by: String,
    },
}

fn group_id_arg(s: &str) -> Result<String, String> {
    if is_security_group_id(s) {
        Ok(s.to_string())
    } else {
        Err(format!("{s:?} is not a security group id (sg- and 8 or 17 hex digits)"))
    }
}

fn duration_arg(s: &str) -> Result<Duration, String> {
    parse_duration(s)
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let (num, unit) = s.split_at(s.len().saturating_sub(1));
    let n: i64 = num.parse().map_err(|_| format!("{s:?}: use a number and a unit, e.g. 30m, 12h, 7d"))?;
    let d = match unit {
        "m" => Duration::minutes(n),
        "h" => Duration::hours(n),
        "d" => Duration::days(n),
        _ => return Err(format!("{s:?}: the unit must be m, h or d")),
    };
    if n <= 0 || d > Duration::days(365) {
        return Err(format!("{s:?}: must be positive and at most 365d"));
    }
    Ok(d)
}

/// What `warden undo` shows of the remediator's undo report.
#[derive(Deserialize)]
struct UndoAnswer {
    summary: String,
    restored: Vec<RestoredRule>,
    failed: Vec<FailedStep>,
}

fn print_undo(undo: &UndoAnswer) {
    println!("{}", undo.summary);
    for r in &undo.restored {
        println!(
            "  restored  {} {} from {} (was {}, now {})",
            r.rule.group_id,
            r.rule.ports_label(),
            r.rule.source,
            r.rule.rule_id,
            r.new_rule_id
        );
    }
    for f in &undo.failed {
        println!("  FAILED    {} {}: {}", f.group_id, f.rule_id, f.error);
    }
}

async fn run(command: Command) -> Result<(), String> {
    let command = match command {
        Command::Registry(sub) => return registry(sub).await,
        Command::Report { since, out } => return report(since, &out).await,
        other => other,
    };
    let config = RemediatorConfig::from_env()
        .map_err(|e| format!("{e}\n(set it as for the remediator; see README.md, Configuration)"))?;
    let sdk = load_sdk_config().await;
    let executor = remediation_executor(&config, &sdk);
    let now = Utc::now();
    match command {
        Command::Undo { remediation_id, wait, json } => {
            let outcome = ask_warden(&sdk, &executor.store, UNDO_DETAIL_TYPE, &remediation_id, wait).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&outcome).expect("outcome serializes"));
                return Ok(());
            }
            let report: UndoAnswer = serde_json::from_value(outcome.report)
                .map_err(|e| format!("the remediator's answer is not an undo report: {e}"))?;
            print_undo(&report);
            if !report.failed.is_empty() {
                return Err("some rules were not restored; run the same command again to retry them".into());
            }
        }
        Command::Show { remediation_id, json } => {
            let id = remediation_id.as_str();
            let record = executor
                .store
                .remediation(id)
                .await
                .map_err(|e| e.to_string())?
                .ok_or(format!("no remediation {id} is on record"))?;
            let steps = executor.store.steps(id, false).await.map_err(|e| e.to_string())?;
            let undo = executor.store.steps(id, true).await.map_err(|e| e.to_string())?;
            if json {
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
        Command::Exempt(sub) => match sub {
            ExemptCommand::Add { group, rule, ports, by, reason, duration } => {
                // A rule exemption is bound to the rule as it is now.
                let granted_for = match &rule {
                    None => None,
                    Some(id) => {
                        let rules = executor
                            .groups
                            .ingress_rules(Some(std::slice::from_ref(&group)))
                            .await
                            .map_err(|e| e.to_string())?;
                        let found = rules.iter().find(|r| &r.rule_id == id).ok_or_else(|| {
                            format!(
                                "{group} has no ingress rule {id}: `aws ec2 describe-security-group-rules` lists them"
                            )
                        })?;
                        Some(RuleSpec::of(found))
                    }
                };
                let exemption = Exemption {
                    group_id: group,
                    target: rule.map(ExemptionTarget::Rule).unwrap_or(ExemptionTarget::Group),
                    granted_for,
                    ports,
                    granted_by: required("--by", &by)?,
                    reason: required("--reason", &reason)?,
                    created_at: now,
                    expires_at: now + duration,
                };
                executor.store.put_exemption(&exemption).await.map_err(|e| e.to_string())?;
                println!(
                    "exempted {} until {}",
                    exemption.target_label(),
                    exemption.expires_at.to_rfc3339_opts(SecondsFormat::Secs, true)
                );
            }
            ExemptCommand::List => {
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
            ExemptCommand::Remove { group, rule } => {
                let target = rule.map(ExemptionTarget::Rule).unwrap_or(ExemptionTarget::Group);
                let list = executor.store.exemptions().await.map_err(|e| e.to_string())?;
                let found =
                    list.into_iter().find(|e| e.group_id == group && e.target == target).ok_or("no such exemption")?;
                executor.store.delete_exemption(&found).await.map_err(|e| e.to_string())?;
                println!("removed exemption {}", found.target_label());
            }
        },
        Command::Release { incident_id, wait, json } => {
            let outcome = ask_warden(&sdk, &executor.store, RELEASE_DETAIL_TYPE, &incident_id, wait).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&outcome).expect("outcome serializes"));
                return Ok(());
            }
            println!("{}", outcome.summary);
            if let (Some(id), Some(expires)) =
                (outcome.report["approval_request"].as_str(), outcome.report["expires_at"].as_str())
            {
                println!("  approval request {id}, open until {expires}");
            }
        }
        Command::Incident { incident_id, json } => {
            let id = incident_id.as_str();
            let isolation = isolation_executor(&config, &sdk);
            let record = isolation
                .store
                .incident(id)
                .await
                .map_err(|e| e.to_string())?
                .ok_or(format!("no incident {id} is on record"))?;
            let mut steps = isolation.store.incident_steps(id).await.map_err(|e| e.to_string())?;
            steps.sort_by_key(|s| (s.phase != "isolate", s.finished_ms));
            if json {
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
        Command::Suspension(sub) => {
            let service = suspension_service(&config, &sdk);
            match sub {
                SuspensionCommand::List => {
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
                SuspensionCommand::Lift { caller, by } => {
                    let by = required("--by", &by)?;
                    println!("{}", service.lift(&caller, &by, now).await.map_err(|e| e.to_string())?);
                }
                SuspensionCommand::Extend { caller, hours, by } => {
                    let caller = caller.as_str();
                    let by = required("--by", &by)?;
                    let current = service.store.restrictions().await.map_err(|e| e.to_string())?;
                    let id = current
                        .suspension_of(caller, now)
                        .map(|s| s.suspension_id.clone())
                        .ok_or(format!("{caller} is not suspended; an alarm suspends, `extend` only lengthens"))?;
                    println!("{}", service.extend(caller, &id, hours, &by, now).await.map_err(|e| e.to_string())?);
                }
            }
        }
        Command::Registry(_) | Command::Report { .. } => unreachable!("handled before the configuration is read"),
    }
    Ok(())
}

/// Send one operator request to Warden's bus, signed by this process's AWS credentials, and
/// wait for the remediator's answer.
async fn ask_warden(
    sdk: &aws_config::SdkConfig,
    store: &DynamoStore,
    detail_type: &str,
    target: &str,
    wait: u64,
) -> Result<RequestOutcome, String> {
    let request_id = random_token()?;
    let request = OperatorRequest { detail_type, target, request_id: &request_id };
    let proof = sign_caller_proof(sdk, &request.binding()).await?;
    // Ask STS now who that is: bad credentials fail here, and the operator sees what Warden will record.
    let me = StsCallers::new(sdk)?
        .caller(&proof, &request.binding())
        .await
        .map_err(|e| format!("{e} (check your AWS credentials: `aws sts get-caller-identity`)"))?;
    let target_field = if detail_type == UNDO_DETAIL_TYPE { "remediation_id" } else { "incident_id" };
    let detail = serde_json::json!({ target_field: target, "request_id": request_id, "proof": proof });
    let bus = std::env::var("WARDEN_REQUESTS_BUS").ok().filter(|b| !b.is_empty());
    let bus = bus.as_deref().unwrap_or(DEFAULT_REQUESTS_BUS);
    let entry = aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
        .event_bus_name(bus)
        .source(WARDEN_SOURCE)
        .detail_type(detail_type)
        .detail(detail.to_string())
        .build();
    let put = aws_sdk_eventbridge::Client::new(sdk).put_events().entries(entry).send().await.map_err(|e| {
        format!("could not put the request on the bus {bus}: {}", aws_sdk_eventbridge::error::DisplayErrorContext(e))
    })?;
    if let Some(failed) = put.entries().iter().find(|e| e.error_code().is_some()) {
        return Err(format!(
            "the bus {bus} refused the request: {} {} (is your role one of warden:operatorRoleArns?)",
            failed.error_code().unwrap_or(""),
            failed.error_message().unwrap_or("")
        ));
    }
    eprintln!("asked Warden ({bus}) as {}: {detail_type} for {target}", me.arn);
    let started = std::time::Instant::now();
    let mut said = 0;
    loop {
        if let Some(outcome) = store.outcome(&request_id).await.map_err(|e| e.to_string())? {
            if !outcome.accepted {
                return Err(format!("Warden refused: {}", outcome.summary));
            }
            return Ok(outcome);
        }
        let waited = started.elapsed().as_secs();
        if waited >= wait {
            return Err(format!(
                "no answer from the remediator within {wait} s (request {request_id}). It may still act: \
                 see its logs, or `warden show`/`warden incident` for the record"
            ));
        }
        if waited / 5 > said {
            said = waited / 5;
            eprintln!("  waiting for the remediator ({waited} s)…");
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
}

/// A value people must give: an empty or blank one is refused like a missing one.
fn required(flag: &str, value: &str) -> Result<String, String> {
    if value.trim().is_empty() {
        Err(format!("{flag} must not be empty"))
    } else {
        Ok(value.to_string())
    }
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
    warden::config::table_name_from_env().map_err(|e| format!("{e} (see README.md, Configuration)"))
}

async fn report(since: Duration, out: &std::path::Path) -> Result<(), String> {
    let table = table_from_env()?;
    let sdk = load_sdk_config().await;
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), &table);
    let now = Utc::now();
    let evidence = store.evidence_since(now - since).await.map_err(|e| e.to_string())?;
    let remediations = store.remediations_since(now - since).await.map_err(|e| e.to_string())?;
    let report = warden::compliance::report::ComplianceReport::build(&evidence, &remediations, now - since, now);
    std::fs::create_dir_all(out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
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

async fn registry(sub: RegistryCommand) -> Result<(), String> {
    if let RegistryCommand::Validate { file } = &sub {
        let models = read_registry_file(file)?;
        println!("{file}: {} models, valid", models.len());
        print_models(&models);
        return Ok(());
    }
    let table = table_from_env()?;
    let sdk = load_sdk_config().await;
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), &table);
    match sub {
        RegistryCommand::Import { file } => {
            let path = file.as_str();
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
        RegistryCommand::List { json } => {
            let models = store.models().await.map_err(|e| e.to_string())?;
            if json {
                println!("{}", serde_json::to_string_pretty(&models).map_err(|e| e.to_string())?);
            } else if models.is_empty() {
                println!("the registry in {table} is empty: every inference request is refused until one is imported");
            } else {
                print_models(&models);
            }
        }
        RegistryCommand::Show { model, json } => {
            let wanted = ModelRef::parse(&model).map_err(|e| e.to_string())?;
            let models = store.models().await.map_err(|e| e.to_string())?;
            let registry = Registry { models };
            let entry = registry.find(&wanted).ok_or(format!("{} is not in the registry", wanted.ollama_name()))?;
            if json {
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
        RegistryCommand::Validate { .. } => unreachable!("validated above, without the table"),
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    // Unknown flags, missing values and bad ids are refused here, before anything is read or changed.
    let cli = Cli::parse();
    match run(cli.command).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("warden: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("warden").chain(args.iter().copied()))
    }

    #[test]
    fn the_command_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn a_mistyped_flag_is_refused_not_ignored() {
        // `--rul` once exempted the whole group: the flag was ignored and `--rule` was absent.
        let err = parse(&[
            "exempt",
            "add",
            "--group",
            "sg-0123abcd",
            "--rul",
            "sgr-1",
            "--by",
            "a",
            "--reason",
            "b",
            "--for",
            "1d",
        ])
        .unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::UnknownArgument);
        assert!(err.to_string().contains("--rul"), "{err}");
        for args in [
            &["undo", "rem-1", "--jsn"][..],
            &["undo", "rem-1", "--by", "me"],
            &["show", "rem-1", "--force"],
            &["suspension", "lift", "team-a", "--by", "me", "--all"],
            &["registry", "list", "--table", "x"],
            &["report", "--sinse", "1d"],
        ] {
            assert_eq!(parse(args).unwrap_err().kind(), clap::error::ErrorKind::UnknownArgument, "{args:?}");
        }
    }

    #[test]
    fn values_are_checked_before_anything_runs() {
        let err = parse(&["exempt", "add", "--group", "sg-'; drop", "--by", "a", "--reason", "b", "--for", "1d"])
            .unwrap_err();
        assert!(err.to_string().contains("not a security group id"), "{err}");
        let err = parse(&["exempt", "add", "--group", "sg-0123abcd", "--by", "a", "--reason", "b", "--for", "400d"])
            .unwrap_err();
        assert!(err.to_string().contains("at most 365d"), "{err}");
        assert!(parse(&["suspension", "extend", "team-a", "--hours", "0", "--by", "me"]).is_err());
        assert!(parse(&["undo", "rem-1", "--wait", "0"]).is_err(), "a wait of at least a second");
        assert!(parse(&["release", "inc-1", "--wait", "901"]).is_err(), "a wait of at most 15 minutes");
        assert!(
            parse(&["exempt", "add", "--group", "sg-0123abcd", "--by", "a", "--reason", "b"]).is_err(),
            "--for is required"
        );
    }

    #[test]
    fn a_rule_exemption_names_the_rule_and_a_group_exemption_does_not() {
        let Cli { command: Command::Exempt(ExemptCommand::Add { group, rule, duration, .. }) } = parse(&[
            "exempt",
            "add",
            "--group",
            "sg-0123abcd",
            "--rule",
            "sgr-1",
            "--by",
            "a",
            "--reason",
            "b",
            "--for",
            "12h",
        ])
        .unwrap() else {
            panic!("not exempt add")
        };
        assert_eq!((group.as_str(), rule.as_deref(), duration), ("sg-0123abcd", Some("sgr-1"), Duration::hours(12)));
        // A group exemption names its ports; never both a rule and ports, never neither.
        let base = ["exempt", "add", "--group", "sg-0123abcd", "--by", "a", "--reason", "b", "--for", "1d"];
        let err = parse(&base).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::MissingRequiredArgument, "{err}");
        let with = |extra: &[&'static str]| parse(&[&base[..], extra].concat());
        let Cli { command: Command::Exempt(ExemptCommand::Add { ports, rule, .. }) } =
            with(&["--ports", "22,8080"]).unwrap()
        else {
            panic!("not exempt add")
        };
        assert_eq!((ports, rule), (vec![22, 8080], None));
        assert!(with(&["--ports", "22", "--rule", "sgr-1"]).is_err(), "a rule or ports, not both");
        let Cli { command: Command::Report { since, out } } = parse(&["report"]).unwrap() else { panic!() };
        assert_eq!((since, out), (Duration::days(7), PathBuf::from(".")));
    }

    #[test]
    fn help_is_everywhere() {
        for args in
            [&["--help"][..], &["exempt", "--help"], &["exempt", "add", "--help"], &["registry", "show", "--help"]]
        {
            assert_eq!(parse(args).unwrap_err().kind(), clap::error::ErrorKind::DisplayHelp, "{args:?}");
        }
    }
}
